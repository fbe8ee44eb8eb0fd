"""Feedback without leaks: scores, visible checks and error messages, never hidden tests or rubrics.

One tutorial1_decoding submission (one answer blank, one wrong in a way only the hidden tests
catch) is autograded and its feedback generated through nbgrader with the project's
configuration; the assertions read the HTML. The sanitiser itself is also checked on every
assignment's source notebook (no execution).
"""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

import pytest
from grading_harness import grading_environment, load_mutants, source_and_release, write_class

from nmautils.course import build, classgrade, feedback, notebooks

ASSIGNMENT = "tutorial1_decoding"


def _text(path: Path) -> str:
    """The visible text of an HTML file (tags removed, entities decoded)."""
    raw = path.read_text()
    raw = re.sub(r"<style.*?</style>|<script.*?</script>", "", raw, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def _hidden_texts(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if notebooks.BEGIN_HIDDEN in cell.source:
            region = notebooks.hidden_tests(cell.source)
            out += [line.strip() for line in region.splitlines() if len(line.strip()) > 12]
            out += re.findall(r'assert .*?, "([^"]+)"', region)
        if notebooks.cell_kind(cell) == "written":
            out += [line.strip() for line in notebooks.solution_region(cell.source).splitlines()
                    if len(line.strip()) > 12]
    public = notebooks.public_lines(nb)  # e.g. `loss.backward()` also stands in a solution
    return [t for t in out if t not in public]


@pytest.fixture(scope="module")
def feedback_html():
    with tempfile.TemporaryDirectory(prefix="feedback-") as tmp, grading_environment():
        tmp = Path(tmp)
        source, release = source_and_release(ASSIGNMENT)
        # the student leaves the written answers empty: the model answers must not reach them
        written = tuple(c.grade_id for c in notebooks.graded_cells(source) if c.kind == "written")
        nb = notebooks.fill_submission(release, source, blank=("ex_deepnet_relu", *written),
                                       replace={"ex_mse": load_mutants(ASSIGNMENT)["ex_mse"]})
        write_class(tmp, ASSIGNMENT, {"student": nb})
        result = classgrade.grade_class(ASSIGNMENT, tmp / "submitted", tmp / "out", workers=1,
                                        feedback=True)
        path = tmp / "out" / "feedback" / "student" / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert path.is_file(), classgrade.report(result)
        yield _text(path), result.grades[0], source


def test_feedback_shows_no_hidden_test_and_no_rubric(feedback_html):
    text, _, source = feedback_html
    leaks = [t for t in _hidden_texts(source) if t in text]
    assert not leaks, f"hidden test text in the feedback: {leaks[:5]}"
    for marker in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN SOLUTION", "MARK SCHEME"):
        assert marker not in text


def test_feedback_shows_scores_visible_checks_and_errors(feedback_html):
    text, grade, source = feedback_html
    assert grade.status == "graded" and grade.score == 3, grade  # ex_train only
    assert f"{grade.score:g} / {grade.max_score:g}" in text or f"{grade.score} / {grade.max_score}" in text
    visible = source.cells[[notebooks.nbgrader_meta(c).get("grade_id") for c in source.cells]
                           .index("test_deepnet_relu")].source.split(notebooks.BEGIN_HIDDEN)[0]
    assert "check_shape(_out, (4, 1)" in visible and "check_shape(_out, (4, 1)" in text
    assert "NotImplementedError" in text  # the blank answer's error, from the student's own code
    assert "HiddenTestFailed" in text and feedback.HIDDEN_MESSAGE in text  # wrong MSE, hidden only


@pytest.mark.parametrize("assignment", build.assignments())
def test_sanitizer_strips_every_assignments_hidden_tests(assignment):
    source = notebooks.read(build.source_path(assignment))
    clean = feedback.sanitize(notebooks.read(build.source_path(assignment)))
    text = "\n".join(c.source for c in clean.cells)
    assert not notebooks.has_markers(clean)
    leaks = [t for t in _hidden_texts(source) if t in text]
    assert not leaks, leaks[:5]


def test_error_raised_in_hidden_region_is_scrubbed():
    cell = notebooks.nbformat.v4.new_code_cell(
        "x = 1\n### BEGIN HIDDEN TESTS\nassert x == 2, 'secret reference value 2'\n### END HIDDEN TESTS")
    cell.outputs = [notebooks.nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="secret reference value 2",
        traceback=["Cell In[3], line 3", "----> 3 assert x == 2, 'secret reference value 2'"])]
    visible = notebooks.nbformat.v4.new_code_cell("check(x)\n### BEGIN HIDDEN TESTS\npass\n### END HIDDEN TESTS")
    visible.outputs = [notebooks.nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="x should be positive",
        traceback=["Cell In[4], line 1", "----> 1 check(x)"])]
    feedback.sanitize_cell(cell)
    feedback.sanitize_cell(visible)
    assert "secret" not in str(cell) and cell.outputs[0].ename == "HiddenTestFailed"
    assert visible.outputs[0].evalue == "x should be positive"
