"""The instructor's workflow on the graded assignment, end to end through nbgrader's API.

generate the release -> a student submits a partly wrong notebook (one answer blank, one wrong,
written answers in their own words) -> autograde -> the instructor grades the written answers and
awards extra credit -> feedback. The feedback shows the student's full score but no hidden test
and no rubric.
"""

from __future__ import annotations

import html
import re

import pytest
from grading_harness import grading_environment, load_mutants
from notebook_markers import hidden_tests, public_lines

from nmautils.course import build, feedback, notebooks
from nmautils.course.grading import temporary_grading_folder

ASSIGNMENT = "assignment3_interpret"
STUDENT = "sample_student"
OWN_WORDS = "In my own words: the population responds most strongly to vertical gratings."


def _visible_text(raw: str) -> str:
    raw = re.sub(r"<style.*?</style>|<script.*?</script>", "", raw, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


@pytest.fixture(scope="module")
def workflow():
    source = notebooks.read(build.source_path(ASSIGNMENT))
    cells = notebooks.graded_cells(source)
    answers = [c.grade_id for c in cells if c.kind == "answer"]
    written = [c.grade_id for c in cells if c.kind == "written"]
    manual = {c.grade_id: c.points for c in cells if c.kind in ("written", "task")}
    wrong = answers[0]
    blank = answers[-1]
    name = f"{ASSIGNMENT}.ipynb"
    with grading_environment(), temporary_grading_folder() as course:
        course.add_source(ASSIGNMENT)
        release = notebooks.read(course.generate(ASSIGNMENT) / name)
        nb = notebooks.fill_submission(
            release, source, replace={wrong: load_mutants(ASSIGNMENT)[wrong]}, blank=(blank, *written)
        )
        for cell in nb.cells:  # the student writes their own answers, not the model answers
            if notebooks.cell_kind(cell) == "written" and cell.cell_type == "markdown":
                cell.source = OWN_WORDS
        course.submit(ASSIGNMENT, STUDENT, {name: nb})
        auto = course.autograde(ASSIGNMENT, STUDENT)

        from nbgrader.api import Gradebook

        awarded = {gid: pts / 2 for gid, pts in manual.items()}  # half marks on every written part
        with Gradebook(course.api.coursedir.db_url) as gb:
            for gid, score in awarded.items():
                grade = gb.find_grade(gid, ASSIGNMENT, ASSIGNMENT, STUDENT)
                grade.manual_score = score
            bonus = next(g for g in written if "extracredit" in g)
            gb.find_grade(bonus, ASSIGNMENT, ASSIGNMENT, STUDENT).extra_credit = 2
            gb.db.commit()
            total = gb.find_submission(ASSIGNMENT, STUDENT).score
        pages = feedback.generate(course, ASSIGNMENT, STUDENT)
        text = _visible_text(pages[0].read_text())
    return dict(source=source, auto=auto, awarded=awarded, total=total, text=text,
                wrong=wrong, blank=blank)


def test_partly_wrong_submission_scores_what_it_earned(workflow):
    auto = workflow["auto"]
    tests_of = notebooks.answer_tests(workflow["source"])
    lost = set(tests_of[workflow["wrong"]]) | set(tests_of[workflow["blank"]])
    for gid, cell in auto.cells.items():
        if cell.kind == "autograded" and gid.startswith("test_"):
            assert cell.score == (0 if gid in lost else cell.max_score), (gid, cell)


def test_total_adds_autograded_manual_and_extra_credit(workflow):
    expected = workflow["auto"].score + sum(workflow["awarded"].values()) + 2
    assert workflow["total"] == pytest.approx(expected)


def test_feedback_shows_the_score_but_no_hidden_test_or_rubric(workflow):
    text, source = workflow["text"], workflow["source"]
    assert f"{workflow['total']:g}" in text
    assert OWN_WORDS in text
    secrets = []
    for cell in source.cells:
        kind = notebooks.cell_kind(cell)
        if kind == "written":
            secrets += notebooks.solution_region(cell.source).splitlines()
        if kind == "test":
            secrets += hidden_tests(cell.source).splitlines()
    public = public_lines(source)
    secrets = [s.strip() for s in secrets if len(s.strip()) > 20 and s.strip() not in public]
    assert secrets, "the assignment should have hidden tests and rubrics to protect"
    leaks = [s for s in secrets if s in text]
    assert not leaks, f"feedback leaks: {leaks[:3]}"
    assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert feedback.HIDDEN_MESSAGE in text or "NotImplementedError" in text
