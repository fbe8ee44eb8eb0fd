"""Pure transformations of course notebooks (no execution, no nbgrader database).

The source notebook of an assignment carries nbgrader metadata and markers:

- answer cells: code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
- test cells: visible checks, then hidden tests between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS``;
- written answers: markdown cells whose model answer sits between the solution markers.

Grade ids follow a naming rule the tests rely on: answer cells are ``ex_<name>``, the cells
that test them are ``test_<name>`` or ``test_<name>__<suffix>``, written answers ``written_<name>``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

SOLUTION_BANNER = (
    "> **Solution notebook** - generated from `source/{assignment}/` by `make build`; "
    "do not edit it by hand. Students work on the release version."
)


@dataclass(frozen=True)
class GradedCell:
    """One nbgrader cell of a notebook, as the grading tests see it."""

    grade_id: str
    kind: str  # "answer", "test", "written", "task", "readonly"
    points: float
    cell_type: str

    @property
    def exercise(self) -> str | None:
        """The exercise name shared by ``ex_<name>`` and ``test_<name>[__suffix]`` cells."""
        for prefix in ("ex_", "test_"):
            if self.grade_id.startswith(prefix):
                return self.grade_id[len(prefix) :].split("__")[0]
        return None


def read(path: str | Path) -> NotebookNode:
    """Read a notebook (nbformat 4)."""
    return nbformat.read(str(path), as_version=4)


def write(nb: NotebookNode, path: str | Path) -> None:
    """Write a notebook with a trailing newline, creating the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def nbgrader_meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def cell_kind(cell: NotebookNode) -> str | None:
    """Classify a cell by its nbgrader role (None for an ordinary cell)."""
    meta = nbgrader_meta(cell)
    if not meta:
        return None
    if meta.get("solution") and meta.get("grade"):
        return "written"
    if meta.get("solution"):
        return "answer"
    if meta.get("grade"):
        return "test"
    if meta.get("task"):
        return "task"
    if meta.get("locked"):
        return "readonly"
    return None


def graded_cells(nb: NotebookNode) -> list[GradedCell]:
    """Every nbgrader cell of ``nb`` in notebook order (readonly cells included)."""
    cells = []
    for cell in nb.cells:
        kind = cell_kind(cell)
        if kind is None:
            continue
        meta = nbgrader_meta(cell)
        cells.append(
            GradedCell(meta["grade_id"], kind, float(meta.get("points", 0) or 0), cell.cell_type)
        )
    return cells


def answer_tests(nb: NotebookNode) -> dict[str, list[str]]:
    """Map each answer cell ``ex_<name>`` to the grade ids of the test cells that test it."""
    cells = graded_cells(nb)
    answers = {c.grade_id: [] for c in cells if c.kind == "answer"}
    for cell in cells:
        if cell.kind == "test":
            answer = f"ex_{cell.exercise}"
            if answer not in answers:
                raise ValueError(f"test cell {cell.grade_id!r} has no answer cell {answer!r}")
            answers[answer].append(cell.grade_id)
    return answers


def _drop_region(text: str, begin: str, end: str) -> str:
    """Remove every region from a line containing ``begin`` to a line containing ``end``."""
    out, skipping = [], False
    for line in text.splitlines():
        if begin in line:
            skipping = True
            continue
        if end in line:
            skipping = False
            continue
        if not skipping:
            out.append(line)
    if skipping:
        raise ValueError(f"unterminated {begin!r} region")
    return "\n".join(out)


def hidden_tests(cell_source: str) -> str:
    """The text between the hidden-test markers of a cell ("" when it has none)."""
    if BEGIN_HIDDEN not in cell_source:
        return ""
    return cell_source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0]


def public_lines(nb: NotebookNode) -> set[str]:
    """Stripped lines students can see anyway: every cell but written answers, hidden tests removed.

    A hidden-test line that also stands here (a shared fixture line, ``with torch.no_grad():``)
    is no secret; leak checks skip it.
    """
    return {
        line.strip()
        for cell in nb.cells
        if cell_kind(cell) != "written"
        for line in _drop_region(cell.source, BEGIN_HIDDEN, END_HIDDEN).splitlines()
    }


def _drop_marker_lines(text: str, markers: tuple[str, ...]) -> str:
    kept = [line for line in text.splitlines() if not any(m in line for m in markers)]
    return "\n".join(kept)


def _dedent_solution(text: str) -> str:
    """Remove marker lines but keep the solution code at its indentation."""
    return _drop_marker_lines(text, (BEGIN_SOLUTION, END_SOLUTION))


def solution_notebook(source: NotebookNode, assignment: str) -> NotebookNode:
    """The solution notebook: solutions kept, markers, hidden tests and nbgrader metadata removed.

    Parameters
    ----------
    source : NotebookNode
        The source notebook (with nbgrader metadata and markers).
    assignment : str
        Name of the assignment, shown in the banner cell.

    Returns
    -------
    NotebookNode
        A new notebook with no outputs, ready to execute.
    """
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        text = _drop_region(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        cell.source = _dedent_solution(text).rstrip("\n")
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    banner = nbformat.v4.new_markdown_cell(SOLUTION_BANNER.format(assignment=assignment))
    banner["id"] = "solution-banner"
    nb.cells.insert(0, banner)
    return nb


def solution_region(cell_source: str) -> str:
    """The code between the solution markers of an answer cell (the whole cell if unmarked)."""
    lines = cell_source.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if BEGIN_SOLUTION in line)
        stop = next(i for i, line in enumerate(lines) if END_SOLUTION in line)
    except StopIteration:
        return cell_source
    return "\n".join(lines[start + 1 : stop])


def fill_submission(
    release: NotebookNode,
    source: NotebookNode,
    replace: Mapping[str, str] | None = None,
    blank: tuple[str, ...] = (),
) -> NotebookNode:
    """A submission made from the release: every answer and written cell filled with the solution.

    Parameters
    ----------
    release : NotebookNode
        The student version (answer cells hold stubs).
    source : NotebookNode
        The source notebook the release was generated from.
    replace : mapping of grade id to cell source, optional
        Answer cells to fill with this text instead of the solution (a wrong answer).
    blank : tuple of grade ids
        Answer cells to leave as they are in the release (unfinished).

    Returns
    -------
    NotebookNode
        The filled notebook, as a student would submit it.
    """
    replace = dict(replace or {})
    solutions = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in source.cells
        if cell_kind(c) in ("answer", "written")
    }
    unknown = (set(replace) | set(blank)) - set(solutions)
    if unknown:
        raise KeyError(f"no answer cells named {sorted(unknown)}")
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid not in solutions or gid in blank:
            continue
        text = replace.get(gid, solutions[gid])
        cell.source = _drop_marker_lines(text, (BEGIN_SOLUTION, END_SOLUTION))
    return nb


_MARKERS = re.compile(r"BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)|END (SOLUTION|HIDDEN TESTS|MARK SCHEME)")


def has_markers(nb: NotebookNode) -> bool:
    """True when any cell still carries an nbgrader marker."""
    return any(_MARKERS.search(cell.source) for cell in nb.cells)


def strip_outputs(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` without outputs and execution counts (for comparisons)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb
