"""What nbgrader's markers hide in a source notebook, for the tests' leak checks.

Each test that proves a release, a feedback page or a published file keeps the instructor's
secrets asks these three questions of the source notebook (:mod:`nmautils.course.notebooks`
parses the markers).
"""

from __future__ import annotations

from nbformat import NotebookNode

from nmautils.course.notebooks import cell_kind, drop_regions, marker_at, region_text


def hidden_tests(cell_source: str) -> str:
    """The text between the hidden-test markers of a cell ("" when it has none)."""
    return region_text(cell_source, "hidden tests")


def public_lines(nb: NotebookNode) -> set[str]:
    """Stripped lines students can see anyway: every cell but written answers, hidden tests removed.

    A hidden-test line that also stands here (a shared fixture line, ``with torch.no_grad():``)
    is no secret; leak checks skip it.
    """
    return {
        line.strip()
        for cell in nb.cells
        if cell_kind(cell) != "written"
        for line in drop_regions(cell.source, ("hidden tests",)).splitlines()
    }


def has_markers(nb: NotebookNode) -> bool:
    """True when any cell still carries an nbgrader marker (paired or not)."""
    return any(marker_at(line) for cell in nb.cells for line in cell.source.splitlines())
