"""Student feedback without leaks: scores, visible checks and error messages, no hidden tests.

nbgrader's ``generate_feedback`` renders the *autograded* notebook, in which ``autograde`` has
restored the hidden tests: out of the box students would read every hidden test, and the
traceback of a failed hidden assertion quotes the reference solution. :class:`SanitizeFeedback`
runs first in ``GenerateFeedback.preprocessors`` (``nbgrader_config.py``) and, for every cell:

- removes the ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region of test cells;
- replaces an error raised *inside* the hidden region by ``HiddenTestFailed`` with a neutral
  message (the student's own exception type and message are kept when their code raised it,
  without the traceback that quotes the hidden line);
- removes any ``### BEGIN SOLUTION`` / ``### BEGIN MARK SCHEME`` region (model answers, rubrics).

Errors in visible checks and in the student's own cells are kept as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool

from . import notebooks

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^\s*-+>\s*(\d+)", re.M)
HIDDEN_MESSAGE = "a hidden test failed (hidden tests check your answer on other inputs)"


def _hidden_lines(source: str) -> set[int]:
    """1-based line numbers of the hidden regions (markers included) of a cell source.

    Malformed markers (:class:`~nmautils.course.notebooks.MarkerError`) count every line from
    the first marker on as hidden: leaking nothing comes first.
    """
    try:
        return {n + 1 for r in notebooks.regions(source) if r.kind == "hidden tests"
                for n in r.lines}
    except notebooks.MarkerError:
        lines = source.splitlines()
        first = next((i for i, line in enumerate(lines) if notebooks.marker_at(line)), len(lines))
        return set(range(first + 1, len(lines) + 1))


def _raised_in_hidden(output: NotebookNode, source: str, hidden: set[int]) -> bool:
    text = _ANSI.sub("", "\n".join(output.get("traceback", [])))
    match = _ARROW.search(text)  # the first frame is the cell itself
    if match:
        return int(match.group(1)) in hidden
    lines = source.splitlines()
    hidden_text = [lines[n - 1].strip() for n in hidden if 0 < n <= len(lines)]
    return any(t and len(t) > 8 and t in text for t in hidden_text)


def sanitize_cell(cell: NotebookNode) -> NotebookNode:
    """Remove hidden tests, their failure details and solution/rubric regions from one cell."""
    source = cell.get("source", "")
    hidden = _hidden_lines(source)
    if cell.cell_type == "code" and hidden:
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and _raised_in_hidden(out, source, hidden):
                if out.get("ename") == "AssertionError":
                    ename, evalue = "HiddenTestFailed", HIDDEN_MESSAGE
                else:
                    ename, evalue = out.get("ename"), f"{out.get('evalue', '')} ({HIDDEN_MESSAGE})"
                out = NotebookNode(output_type="error", ename=ename, evalue=evalue,
                                   traceback=[f"{ename}: {evalue}"])
            outputs.append(out)
        cell.outputs = outputs
    try:
        source = notebooks.drop_regions(source, tuple(notebooks.MARKERS))
    except notebooks.MarkerError:  # malformed markers: drop everything from the first one on
        lines = source.splitlines()
        first = next((i for i, line in enumerate(lines) if notebooks.marker_at(line)), len(lines))
        source = "\n".join(lines[:first])
    cell.source = source
    return cell


def sanitize(nb: NotebookNode) -> NotebookNode:
    """Sanitise every cell of a notebook in place (see :func:`sanitize_cell`)."""
    for cell in nb.cells:
        sanitize_cell(cell)
    return nb


class SanitizeFeedback(Preprocessor):
    """nbconvert preprocessor form of :func:`sanitize` (for ``GenerateFeedback.preprocessors``)."""

    enabled = Bool(True).tag(config=True)  # nbconvert skips disabled preprocessors

    def preprocess(self, nb, resources):
        return sanitize(nb), resources


def feedback_preprocessors() -> list:
    """nbgrader's default feedback preprocessors with :class:`SanitizeFeedback` first."""
    from nbgrader.converters.generate_feedback import GenerateFeedback

    default = GenerateFeedback.class_traits()["preprocessors"].default()
    return [SanitizeFeedback, *[p for p in default if p is not SanitizeFeedback]]


def generate(course, assignment: str, student: str) -> list[Path]:
    """Write the sanitised HTML feedback of one autograded student; return the HTML files.

    ``course`` is a :class:`nmautils.course.grading.Course` in which ``student`` was autograded.
    """
    result = course.api.generate_feedback(assignment, student, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_feedback failed for {student}:\n{result.get('log', '')}")
    folder = course.root / "feedback" / student / assignment
    return sorted(folder.glob("*.html"))
