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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
BEGIN_MARK_SCHEME = "### BEGIN MARK SCHEME"
END_MARK_SCHEME = "### END MARK SCHEME"

#: nbgrader's region markers, by kind: (begin, end). A marker counts anywhere in a line.
MARKERS = {
    "solution": (BEGIN_SOLUTION, END_SOLUTION),
    "hidden tests": (BEGIN_HIDDEN, END_HIDDEN),
    "mark scheme": (BEGIN_MARK_SCHEME, END_MARK_SCHEME),
}

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


class MarkerError(ValueError):
    """nbgrader markers that do not pair up: nested, unterminated, or an end without a begin."""


@dataclass(frozen=True)
class Region:
    """One marked region of a cell: line ``begin`` holds its BEGIN marker, ``end`` its END marker
    (0-based line numbers of ``source.splitlines()``)."""

    kind: str  # a key of MARKERS
    begin: int
    end: int

    @property
    def lines(self) -> range:
        """Every line of the region, markers included."""
        return range(self.begin, self.end + 1)

    def body(self, source: str) -> str:
        """The text between the markers."""
        return "\n".join(source.splitlines()[self.begin + 1 : self.end])


def marker_at(line: str) -> tuple[str, str] | None:
    """``(kind, "begin" | "end")`` of the nbgrader marker in ``line``, or None."""
    for kind, (begin, end) in MARKERS.items():
        if begin in line:
            return kind, "begin"
        if end in line:
            return kind, "end"
    return None


def regions(source: str) -> list[Region]:
    """Every marked region of a cell source, in order - the one parser of nbgrader markers.

    Raises
    ------
    MarkerError
        When a region opens inside another, is never closed, or closes without being opened.
    """
    found: list[Region] = []
    open_kind, open_line = None, -1
    for number, line in enumerate(source.splitlines()):
        marker = marker_at(line)
        if marker is None:
            continue
        kind, side = marker
        if side == "begin":
            if open_kind is not None:
                raise MarkerError(f"line {number + 1}: {MARKERS[kind][0]!r} inside an open "
                                  f"{open_kind!r} region (from line {open_line + 1})")
            open_kind, open_line = kind, number
        else:
            if open_kind != kind:
                raise MarkerError(f"line {number + 1}: {MARKERS[kind][1]!r} without a matching "
                                  f"{MARKERS[kind][0]!r}")
            found.append(Region(kind, open_line, number))
            open_kind = None
    if open_kind is not None:
        raise MarkerError(f"line {open_line + 1}: {MARKERS[open_kind][0]!r} is never closed")
    return found


def drop_regions(source: str, kinds: tuple[str, ...], keep_body: bool = False) -> str:
    """``source`` without its regions of ``kinds`` (markers and body; with ``keep_body`` only the
    marker lines go). Raises :class:`MarkerError` for malformed markers."""
    dropped: set[int] = set()
    for region in regions(source):
        if region.kind in kinds:
            dropped |= {region.begin, region.end} if keep_body else set(region.lines)
    return "\n".join(line for n, line in enumerate(source.splitlines()) if n not in dropped)


def region_text(source: str, kind: str) -> str:
    """The body of the first region of ``kind`` ("" when there is none)."""
    for region in regions(source):
        if region.kind == kind:
            return region.body(source)
    return ""

def strip_solution_markers(text: str) -> str:
    """Remove the solution marker lines but keep the solution code at its indentation."""
    return drop_regions(text, ("solution",), keep_body=True)


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
        text = drop_regions(cell.source, ("hidden tests",))
        cell.source = strip_solution_markers(text).rstrip("\n")
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
    for region in regions(cell_source):
        if region.kind == "solution":
            return region.body(cell_source)
    return cell_source


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
        cell.source = strip_solution_markers(text)
    return nb


def strip_outputs(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` without outputs and execution counts (for comparisons)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb
