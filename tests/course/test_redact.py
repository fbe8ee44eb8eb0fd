"""Redaction by content (:mod:`nmautils.course.redact`) with tutorial 1's real secret lines.

The source notebook and its release (generated in-process by nbgrader) give the secret lines;
the running test cell's source, hidden tests included (what ``_ih[-1]`` hands a submission),
is then copied in every form an output or a report takes, and no secret line may survive.
"""

from __future__ import annotations

import html
import json
import re
import sys

import pytest
from grading_harness import source_and_release
from notebook_markers import hidden_tests

from nmautils.course import notebooks, redact

ASSIGNMENT = "tutorial1_decoding"
TEST_CELL = "test_deepnet_relu"
ANSWER_CELL = "ex_deepnet_relu"


@pytest.fixture(scope="module")
def course():
    source, release = source_and_release(ASSIGNMENT)
    return source, release, redact.secrets_from_notebooks(source, release)


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == grade_id)


def _public(release) -> set[str]:
    return {line.strip() for c in release.cells for line in c.source.splitlines()}


def _region_secrets(text: str, kind: str, release) -> list[str]:
    """The lines of ``kind`` regions of a cell that are long enough and absent from the release."""
    public = _public(release)
    return [line.strip() for r in notebooks.regions(text) if r.kind == kind
            for line in r.body(text).splitlines()
            if redact.meaningful(line) and line.strip() not in public]


def _readable(text: str) -> str:
    """What a reader sees of ``text``, without whitespace: colours, tags, entities and escapes
    undone (written independently of the module under test)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r"<[^>]*>", "", html.unescape(html.unescape(text)))
    text = re.sub(r"\\+[ntr]", " ", text).replace("\\", "")
    return "".join(text.split())


def _leaked(text: str, lines) -> list[str]:
    readable = _readable(text)
    return [line for line in lines if "".join(line.split()) in readable]


def test_secret_lines_are_what_students_cannot_read(course):
    source, release, secrets = course
    assert secrets, "tutorial 1 has solutions and hidden tests"
    assert not secrets.lines & _public(release)
    test_source = _cell(source, TEST_CELL).source
    hidden = _region_secrets(test_source, "hidden tests", release)
    solution = _region_secrets(_cell(source, ANSWER_CELL).source, "solution", release)
    written = [line for c in source.cells if notebooks.cell_kind(c) == "written"
               for line in _region_secrets(c.source, "solution", release)]
    assert hidden and solution and written
    assert set(hidden + solution + written) <= secrets.lines
    # a hidden-test line that the release shows too is no secret (e.g. a repeated fixture line)
    shown = [line.strip() for line in hidden_tests(test_source).splitlines()
             if line.strip() in _public(release) and redact.meaningful(line)]
    assert not set(shown) & secrets.lines


def test_release_derived_from_source_gives_the_same_secrets(course):
    source, _, secrets = course
    assert redact.secrets_from_notebooks(source) == secrets


def test_secrets_for_assignment_reads_the_course_folder(course, tmp_path):
    source, release, secrets = course
    with pytest.raises(FileNotFoundError):
        redact.secrets_for_assignment(tmp_path, ASSIGNMENT)
    notebooks.write(source, tmp_path / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert redact.secrets_for_assignment(tmp_path, ASSIGNMENT) == secrets  # release derived
    notebooks.write(release, tmp_path / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert redact.secrets_for_assignment(tmp_path, ASSIGNMENT) == secrets


def test_short_and_keyword_lines_are_no_secrets():
    assert not redact.meaningful("return None")
    assert not redact.meaningful("y = f(x)")
    assert not redact.meaningful("# ------------------")
    assert not redact.meaningful(notebooks.BEGIN_HIDDEN)
    assert redact.meaningful("h = torch.relu(self.in_layer(r))")


def _traceback(text: str) -> str:
    """IPython's coloured traceback of ``RuntimeError(text)``, as a kernel sends it."""
    from IPython.core.ultratb import AutoFormattedTB

    try:
        raise RuntimeError(text)
    except RuntimeError:
        return "\n".join(AutoFormattedTB(mode="Context").structured_traceback(*sys.exc_info()))


def _highlighted(text: str, formatter: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter, TerminalFormatter
    from pygments.lexers import PythonLexer

    return highlight(text, PythonLexer(), {"html": HtmlFormatter, "ansi": TerminalFormatter}[formatter]())


#: How a copied cell reaches a reader: printed, repr()'d (one line, newlines as \n), JSON,
#: HTML-escaped, collapsed into a report line, coloured, highlighted, cut into pieces.
FORMS = {
    "printed": lambda s: s,
    "repr": repr,
    "repr_of_repr": lambda s: repr(repr(s)),
    "history_list": lambda s: repr(["", "import torch", s]),
    "json": json.dumps,
    "html_escaped": lambda s: "<pre>" + html.escape(s) + "</pre>",
    "html_escaped_repr": lambda s: html.escape(repr(s)),
    "report_line": lambda s: "RuntimeError: " + " ".join(s.split()),
    "ipython_traceback": _traceback,
    "pygments_html": lambda s: _highlighted(s, "html"),
    "pygments_ansi": lambda s: _highlighted(s, "ansi"),
    "halves_on_lines": lambda s: "\n".join(f"{line[:len(line) // 2]}\n{line[len(line) // 2:]}"
                                           for line in s.splitlines()),
}


@pytest.mark.parametrize("form", FORMS)
def test_copied_test_cell_is_redacted(course, form):
    source, release, secrets = course
    cell = _cell(source, TEST_CELL).source
    hidden = _region_secrets(cell, "hidden tests", release)
    text = FORMS[form](cell)
    assert _leaked(text, hidden), "the copy shows the hidden tests before redaction"
    out = redact.redact_text(text, secrets)
    assert not _leaked(out, hidden)
    assert redact.PLACEHOLDER in out
    if form != "halves_on_lines":  # the visible checks stay readable where they can be located
        assert "check_shape(_out,(4,1)" in _readable(out)


def test_text_without_secrets_is_unchanged(course):
    source, release, secrets = course
    for cell in release.cells:
        assert redact.redact_text(cell.source, secrets) == cell.source
    log = "epoch 1: loss 0.52\nepoch 2: loss 0.31\n<b>done</b> &lt;ok&gt;"
    assert redact.redact_text(log, secrets) == log


def test_lines_the_student_wrote_are_not_redacted_for_them(course):
    source, release, secrets = course
    mine = _region_secrets(_cell(source, ANSWER_CELL).source, "solution", release)[0]
    frame = f"----> 3 {mine}\nTypeError: bad operand"
    assert mine not in redact.redact_text(frame, secrets)
    assert redact.redact_text(frame, secrets.without([mine])) == frame


def test_redact_notebook_cleans_outputs_and_markdown_not_code(course):
    source, release, secrets = course
    cell = _cell(source, TEST_CELL).source
    hidden = _region_secrets(cell, "hidden tests", release)
    model = next(line for c in source.cells if notebooks.cell_kind(c) == "written"
                 for line in _region_secrets(c.source, "solution", release))
    nbf = notebooks.nbformat.v4
    code = nbf.new_code_cell("print(_ih[-1])")
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    code.outputs = [
        nbf.new_output("stream", name="stdout", text=repr(["", cell])),
        nbf.new_output("error", ename="RuntimeError", evalue=cell,
                       traceback=_traceback(cell).splitlines()),
        nbf.new_output("display_data", data={"text/html": FORMS["html_escaped"](cell),
                                             "text/plain": cell, "image/png": png,
                                             "application/json": {"src": [cell]}}),
    ]
    markdown = nbf.new_markdown_cell(f"My answer.\n{model}")
    nb = nbf.new_notebook(cells=[code, markdown])
    assert redact.redact_notebook(nb, secrets) == 4  # three outputs, one markdown cell
    text = json.dumps(nb)
    assert not _leaked(text, [*hidden, model])
    assert code.source == "print(_ih[-1])" and code.outputs[2].data["image/png"] == png
    assert markdown.source.startswith("My answer.\n")
