"""Feedback without leaks: scores, visible checks and error messages, never hidden tests or rubrics,
and HTML that runs nothing.

Two tutorial1_decoding submissions are autograded and their feedback generated through nbgrader
with the project's configuration; the assertions read the HTML. One student leaves an answer
blank and gets one wrong in a way only the hidden tests catch; the other is hostile (its network
raises the running test cell's source, ``_ih[-1]``, and it displays script-carrying HTML). The
sanitiser is also checked on every assignment's source notebook, and each defence on notebooks
built here, rendered with nbgrader's feedback template: every hostile payload is active (or the
secret readable) without the defence, and gone with it.
"""

from __future__ import annotations

import copy
import html
import os
import re
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from grading_harness import grading_environment, load_mutants, source_and_release, write_class
from hostile_leaks import every_leak
from notebook_markers import has_markers, hidden_tests, public_lines

from nmautils.course import build, classgrade, feedback, notebooks, redact

ASSIGNMENT = "tutorial1_decoding"
LEAKER = "leaker"


def _text(path: Path) -> str:
    """The visible text of an HTML file (tags removed, entities decoded)."""
    raw = path.read_text()
    raw = re.sub(r"<style.*?</style>|<script.*?</script>", "", raw, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def _hidden_texts(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if notebooks.BEGIN_HIDDEN in cell.source:
            region = hidden_tests(cell.source)
            out += [line.strip() for line in region.splitlines() if len(line.strip()) > 12]
            out += re.findall(r'assert .*?, "([^"]+)"', region)
        if notebooks.cell_kind(cell) == "written":
            out += [line.strip() for line in notebooks.solution_region(cell.source).splitlines()
                    if len(line.strip()) > 12]
    public = public_lines(nb)  # e.g. `loss.backward()` also stands in a solution
    return [t for t in out if t not in public]


def _leak_code() -> str:
    """The answer cell of the hostile student: every case of ``hostile_leaks`` at once (the test
    cell's source printed, shown as HTML and raised from the network; HTML, Markdown and SVG
    with script)."""
    return every_leak(LEAKER)


@pytest.fixture(scope="module")
def graded_class():
    """``(feedback folder, class result, source, release)`` of the two-student class run."""
    with tempfile.TemporaryDirectory(prefix="feedback-") as tmp, grading_environment():
        tmp = Path(tmp)
        source, release = source_and_release(ASSIGNMENT)
        # the student leaves the written answers empty: the model answers must not reach them
        written = tuple(c.grade_id for c in notebooks.graded_cells(source) if c.kind == "written")
        nb = notebooks.fill_submission(release, source, blank=("ex_deepnet_relu", *written),
                                       replace={"ex_mse": load_mutants(ASSIGNMENT)["ex_mse"]})
        answers = tuple(c.grade_id for c in notebooks.graded_cells(source)
                        if c.kind in ("answer", "written") and c.grade_id != "ex_deepnet_relu")
        leaker = notebooks.fill_submission(release, source, blank=answers,
                                           replace={"ex_deepnet_relu": _leak_code()})
        write_class(tmp, ASSIGNMENT, {"student": nb, LEAKER: leaker})
        result = classgrade.grade_class(ASSIGNMENT, tmp / "submitted", tmp / "out", workers=1,
                                        feedback=True)
        yield tmp / "out" / "feedback", result, source, release


def _feedback_path(folder: Path, student: str) -> Path:
    return folder / student / ASSIGNMENT / f"{ASSIGNMENT}.html"


@pytest.fixture(scope="module")
def feedback_html(graded_class):
    folder, result, source, _ = graded_class
    path = _feedback_path(folder, "student")
    assert path.is_file(), classgrade.report(result)
    grade = next(g for g in result.grades if g.student == "student")
    return _text(path), grade, source


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
    assert "HiddenTestFailed" in text and "hidden test failed" in text  # wrong MSE, hidden only


@pytest.mark.parametrize("assignment", build.assignments())
def test_sanitizer_strips_every_assignments_hidden_tests(assignment):
    source = notebooks.read(build.source_path(assignment))
    clean = feedback.sanitize(notebooks.read(build.source_path(assignment)))
    text = "\n".join(c.source for c in clean.cells)
    assert not has_markers(clean)
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


# -- hostile submissions ------------------------------------------------------------------------------
class _ActiveContent(HTMLParser):
    """Everything in an HTML page that could run a hostile payload (marked ``PWN``)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        self._script = tag == "script"
        if tag in ("iframe", "object", "embed", "frame"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value}>")
            elif value and re.search(r"javascript:|vbscript:|data:text/html", value, re.I):
                self.found.append(f"<{tag} {name}={value[:40]}>")

    def handle_data(self, data):
        if self._script and "PWN" in data:
            self.found.append(f"<script>{data.strip()[:40]}")

    def handle_endtag(self, tag):
        self._script = False


def _active(page: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(page)
    return parser.found


def _render(nb, template: str = "feedback", **config) -> str:
    """``nb`` as nbgrader's feedback template (or nbconvert's ``classic``) renders it."""
    import nbgrader
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    c = Config()
    for key, value in config.items():
        setattr(c.HTMLExporter, key, value)
    formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    css = os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")
    exporter = HTMLExporter(config=c, template_name=template, extra_template_paths=[css],
                            extra_template_basedirs=[os.path.join(formgrader, "templates")])
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "score": 0, "max_score": 1,
                              "late_penalty": 0}}
    return exporter.from_notebook_node(nb, resources=resources)[0]


def _display(data: dict, metadata: dict | None = None):
    return notebooks.nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def _written(text: str):
    cell = notebooks.nbformat.v4.new_markdown_cell(text)
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False,
                                 "grade_id": "written_x", "points": 1, "score": 0,
                                 "schema_version": 3}
    return cell


_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"


def _shows(data: dict, metadata: dict | None = None):
    """A payload that adds a display output carrying ``data`` to the notebook's first cell."""
    return lambda nb: nb.cells[0].outputs.append(_display(data, metadata))


def _adds_cell(make_cell, text: str):
    """A payload that appends a fresh ``make_cell(text)`` to the notebook."""
    return lambda nb: nb.cells.append(make_cell(text))


_markdown = notebooks.nbformat.v4.new_markdown_cell
#: One hostile payload each: where a submission can put HTML that the templates insert raw.
PAYLOADS = {
    "html_script": _shows({"text/html": "<script>alert('PWN')</script>"}),
    "html_onerror": _shows({"text/html": "<img src=x onerror=\"alert('PWN')\">"}),
    "html_javascript_url": _shows({"text/html": "<a href=\"javascript:alert('PWN')\">click</a>"}),
    "html_iframe": _shows(
        {"text/html": "<iframe src=\"data:text/html,<script>alert('PWN')</script>\">"}),
    "html_style_url": _shows(
        {"text/html": "<div style=\"background:url(javascript:alert('PWN'))\">x</div>"}),
    "markdown_output_script": _shows({"text/markdown": "# Result <script>alert('PWN')</script>"}),
    "markdown_output_link": _shows({"text/markdown": "[click](javascript:alert('PWN'))"}),
    "javascript_output": _shows({"application/javascript": "alert('PWN')", "text/plain": "<JS>"}),
    "image_size_attribute": _shows({"image/png": _PNG},
                                   {"image/png": {"width": "1 onerror=alert('PWN')"}}),
    "widget_state": lambda nb: nb.metadata.update(widgets={
        "application/vnd.jupyter.widget-state+json": {"state": {"m": {"state": {
            "value": "<img src=x onerror=alert('PWN')>"}}}}}),
    "markdown_cell_script": _adds_cell(_markdown, "Notes\n\n<script>alert('PWN')</script>"),
    "markdown_cell_svg_onload": _adds_cell(
        _markdown, "<svg onload=\"alert('PWN')\"><circle r=2></svg>"),
    "markdown_cell_link": _adds_cell(_markdown, "See [this](jav&#x61;script:alert('PWN'))."),
    "written_answer_onerror": _adds_cell(_written, "My answer <img src=x onerror=\"alert('PWN')\">"),
}


def _hostile(payload: str):
    nb = notebooks.nbformat.v4.new_notebook(
        cells=[notebooks.nbformat.v4.new_code_cell("show()")])
    PAYLOADS[payload](nb)
    return nb


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if p != "widget_state"])
def test_feedback_html_runs_no_payload(payload):
    """(nbgrader's feedback template writes no widget state; formgrader's does.)"""
    assert _active(_render(_hostile(payload))), "the payload is active without the cleaner"
    assert not _active(_render(feedback.sanitize(_hostile(payload))))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formgrader_exporter_runs_no_payload(payload):
    """formgrader's exporter is configured from nbgrader_config.py: the same cleaning there."""
    nb = _hostile(payload)
    assert _active(_render(nb, "classic")), "the payload is active without the cleaner"
    page = _render(nb, "classic", preprocessors=feedback.formgrader_preprocessors())
    assert not _active(page)


def test_formgrader_cleaning_keeps_hidden_tests_for_the_instructor():
    source = notebooks.read(build.source_path(ASSIGNMENT))
    page = _render(copy.deepcopy(source), "classic",
                   preprocessors=feedback.formgrader_preprocessors())
    assert notebooks.BEGIN_HIDDEN in html.unescape(page)


def test_svg_is_reduced_to_drawing():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           'onload="alert(1)"><script>alert(2)</script><a xlink:href="javascript:alert(3)">'
           '<circle r="5" fill="url(#g)"/></a><foreignObject><img onerror="alert(4)"/>'
           '</foreignObject><set attributeName="href" to="javascript:alert(5)"/></svg>')
    clean = feedback.sanitize_svg(svg)
    assert "<circle" in clean and 'fill="url(#g)"' in clean
    assert not re.search(r"alert|script|onload|foreignObject|<set", clean)
    assert feedback.sanitize_svg("<svg onload=alert(1)>not xml") is None
    nb = _hostile("html_script")
    nb.cells[0].outputs = [_display({"image/svg+xml": svg})]
    page = _render(feedback.sanitize(nb), skip_svg_encoding=True)  # SVG inlined into the page
    assert not _active(page) and "alert(" not in page


def test_markdown_without_html_is_left_alone():
    text = "Results: $a<b$ and **bold**\n\n```python\nif a < b:\n    pass\n```"
    assert feedback.sanitize_markdown(text) == text


def _leak_outputs(cell_source: str) -> list:
    """What a submission that reads the running cell's source (``_ih[-1]``) leaves in it."""
    from IPython.core.ultratb import AutoFormattedTB

    try:
        raise RuntimeError(cell_source)
    except RuntimeError:
        traceback = AutoFormattedTB(mode="Context").structured_traceback(*sys.exc_info())
    nbf = notebooks.nbformat.v4
    return [nbf.new_output("stream", name="stdout", text=repr(["", cell_source]) + "\n"),
            _display({"text/html": "<pre>" + html.escape(cell_source) + "</pre>",
                      "text/plain": repr(cell_source)}),
            nbf.new_output("error", ename="RuntimeError", evalue=cell_source,
                           traceback=traceback)]


@pytest.fixture(scope="module")
def secrets():
    source, release = source_and_release(ASSIGNMENT)
    return source, redact.secrets_from_notebooks(source, release)


def _secret_text(text: str, secrets: redact.Secrets) -> list[str]:
    """Secret lines readable in ``text`` (whitespace ignored; markers are allowed)."""
    flat = "".join(text.split())
    return [s for s in secrets.lines
            if not notebooks.marker_at(s) and "".join(s.split()) in flat]


def test_copied_hidden_tests_are_redacted_in_the_feedback(secrets):
    source, secret_lines = secrets
    nb = copy.deepcopy(source)  # an autograded notebook holds the source's test cells
    test_cell = next(c for c in nb.cells
                     if notebooks.nbgrader_meta(c).get("grade_id") == "test_deepnet_relu")
    test_cell.outputs = _leak_outputs(test_cell.source)
    model = next(s for s in secret_lines.lines if "Decodability" in s or "Model answer" in s)
    nb.cells.append(_written(f"I think:\n{model}"))
    for cell in nb.cells:  # the student's answers are the release's stubs
        if notebooks.cell_kind(cell) == "answer":
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
        if "nbgrader" in cell.metadata:  # nbgrader's GetGrades adds the scores
            cell.metadata.nbgrader.setdefault("score", 0)
            cell.metadata.nbgrader.setdefault("points", 0)
    old = copy.deepcopy(nb)
    for cell in old.cells:  # what feedback did before: hidden regions and rubrics removed only
        feedback.sanitize_cell(cell)
    assert _secret_text(html.unescape(_render(old)), secret_lines), "the copy leaks without redaction"
    page = _render(feedback.sanitize(nb, secret_lines))
    assert not _secret_text(_text_of(page), secret_lines)
    assert not _secret_text(html.unescape(page), secret_lines)
    assert redact.PLACEHOLDER in page


def test_formgrader_cleaning_before_the_feedback_sanitiser_keeps_regions_removable(secrets, tmp_path):
    """With ``HTMLExporter.preprocessors`` set for formgrader, GenerateFeedback's exporter cleans
    markdown *before* :class:`SanitizeFeedback` drops the marked regions: they must survive."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    source = copy.deepcopy(secrets[0])
    rubric = 'Full marks for "the sum over stimuli" & a sign check, half for either.'
    task = notebooks.nbformat.v4.new_markdown_cell(
        f"Explain the loss.\n{notebooks.BEGIN_MARK_SCHEME}\n{rubric}\n{notebooks.END_MARK_SCHEME}")
    task.metadata["nbgrader"] = {"task": True, "grade": False, "solution": False, "locked": True,
                                 "grade_id": "task_loss", "points": 1, "schema_version": 3}
    source.cells.append(task)
    notebooks.write(source, tmp_path / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    secret_lines = redact.secrets_for_assignment(tmp_path, ASSIGNMENT)
    assert rubric in secret_lines.lines
    c = Config()
    c.HTMLExporter.preprocessors = feedback.formgrader_preprocessors()
    exporter = HTMLExporter(config=c)
    exporter.register_preprocessor(feedback.SanitizeFeedback(course_root=str(tmp_path)))
    page, _ = exporter.from_notebook_node(copy.deepcopy(source),
                                          resources={"nbgrader": {"assignment": ASSIGNMENT}})
    assert "sign check" not in _text_of(page)
    assert redact.PLACEHOLDER not in _text_of(page)  # dropped as a region, not just redacted


def _text_of(page: str) -> str:
    raw = re.sub(r"<style.*?</style>|<script.*?</script>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_feedback_is_refused_without_the_source(secrets, tmp_path):
    from nbconvert import HTMLExporter

    source, _ = secrets
    nb = copy.deepcopy(source)
    resources = {"nbgrader": {"assignment": ASSIGNMENT}}
    for root, res in ((tmp_path, resources), (tmp_path, {})):
        exporter = HTMLExporter()
        exporter.register_preprocessor(feedback.SanitizeFeedback(course_root=str(root)))
        with pytest.raises(feedback.SecretsUnavailable):
            exporter.from_notebook_node(copy.deepcopy(nb), resources=res)
    notebooks.write(source, tmp_path / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    exporter = HTMLExporter()
    exporter.register_preprocessor(feedback.SanitizeFeedback(course_root=str(tmp_path)))
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    assert notebooks.BEGIN_HIDDEN not in page


def test_hostile_submission_feedback_leaks_nothing_and_runs_nothing(graded_class, secrets):
    folder, result, _, _ = graded_class
    _, secret_lines = secrets
    path = _feedback_path(folder, LEAKER)
    assert path.is_file(), classgrade.report(result)
    page = path.read_text()
    assert not _active(page)
    assert not _secret_text(_text_of(page), secret_lines)


def _graded_with_later_outputs():
    from nbformat import NotebookNode
    from nbformat.v4 import new_code_cell, new_notebook

    from nmautils.course.guard import grader_note

    def cell(gid, source, outputs, **meta):
        c = new_code_cell(source, metadata={"nbgrader": {"grade_id": gid, **meta}})
        c.outputs = outputs
        return c

    stream = {"output_type": "stream", "name": "stdout"}
    answer = {"solution": True, "grade": False, "locked": False}
    test = {"solution": False, "grade": True, "locked": True, "points": 1}
    nb = new_notebook(cells=[
        cell("ex_a", "x = 1", [NotebookNode(**stream, text="before any hidden test\n")], **answer),
        cell("test_a", "check(x)", [NotebookNode(**stream, text="visible check passed\n")], **test),
        cell("ex_b", "print(leak)", [NotebookNode(**stream, text="ENCODED-HIDDEN-TEST\n")], **answer),
        cell("test_b", "check(y)", [NotebookNode(**stream, text="ZW5jb2RlZA==\n")], **test),
    ])
    grader_note(nb.cells[3], "HiddenTestFailed", "hidden test failed: the output differs")
    return nb


@pytest.mark.parametrize("defence", [True, False])
def test_outputs_after_the_first_hidden_test_are_withheld(defence, monkeypatch):
    """A kernel that ran hidden code can print it encoded in any later cell: from the first test
    cell on, the feedback shows only the grader's own messages."""
    if not defence:
        monkeypatch.setattr(feedback, "keep_grader_outputs", lambda nb: 0)
    nb = feedback.sanitize(_graded_with_later_outputs())
    text = "\n".join(str(o) for c in nb.cells for o in c.get("outputs", []))
    assert "before any hidden test" in text and "visible check passed" in text
    leaked = "ENCODED-HIDDEN-TEST" in text or "ZW5jb2RlZA==" in text
    assert leaked is not defence
    if defence:
        assert "the output differs" in text and "not shown in feedback" in text
