"""nbgrader's ``OverwriteCells`` without false tampering warnings (nbgrader#1961).

``nbgrader generate_assignment`` stores each locked cell's checksum *before* it removes the
hidden tests and mark schemes, so on autograde every untouched test cell of a release looks
edited: "Attribute 'checksum' for cell test_... has changed!", for every honest student.
:class:`ReleaseAwareOverwriteCells` first recognises a locked cell whose text is exactly the
release's (the stored source with those regions removed) and gives it back its stored source,
as nbgrader does anyway; a cell the student really edited is still reported and restored.
"""

from __future__ import annotations

import copy

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, OverwriteCells


def release_text(source: str, cell_type: str = "code") -> str:
    """The text nbgrader's release shows for a locked cell whose stored source is ``source``:
    without its hidden-test and mark-scheme regions."""
    cell = NotebookNode(cell_type=cell_type, source=source, metadata={})
    ClearHiddenTests()._remove_hidden_test_region(cell)
    ClearMarkScheme()._remove_mark_scheme_region(cell)
    return cell.source


class ReleaseAwareOverwriteCells(OverwriteCells):
    """``OverwriteCells`` that takes an untouched release cell for what it is."""

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and utils.is_locked(cell):
            try:
                stored = self.gradebook.find_source_cell(grade_id, self.notebook_id,
                                                         self.assignment_id)
            except MissingEntry:
                stored = None
            if stored is not None and stored.locked and stored.source != cell.source and \
                    cell.source == release_text(stored.source, stored.cell_type):
                cell = copy.deepcopy(cell)
                cell.source = stored.source
        return super().preprocess_cell(cell, resources, cell_index)


def sanitize_preprocessors() -> list:
    """nbgrader's default autograde sanitising steps with ``OverwriteCells`` replaced by
    :class:`ReleaseAwareOverwriteCells`."""
    from nbgrader.converters.autograde import Autograde

    default = Autograde.class_traits()["sanitize_preprocessors"].default()
    return [ReleaseAwareOverwriteCells if p is OverwriteCells else p for p in default]
