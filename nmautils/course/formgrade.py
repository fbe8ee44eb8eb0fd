"""Formgrader shows the grader each written answer's model answer and rubric.

Formgrader renders a student's autograded notebook with an ``HTMLExporter`` configured in
``nbgrader_config.py`` (:func:`nmautils.course.feedback.formgrader_preprocessors`). There,
:class:`ShowModelAnswers` puts a box below every manually graded cell with the model answer and
rubric of the course's source notebook (the cell's solution region), so that whoever grades
200 written answers needs no second window. ``nbgrader generate_feedback`` runs the same
exporter's preprocessors: the box is added only when formgrader renders a submission, never for
feedback (and feedback's redaction would remove its lines anyway).
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from traitlets import Bool

from . import competition, notebooks

#: Metadata flag of the inserted boxes (tests and templates can tell them from student cells).
BOX_KEY = "nmautils_model_answer"


def rendering_for_formgrader(resources: dict | None) -> bool:
    """Whether an exporter renders a submission for formgrader: formgrader passes a submission
    id and no ``nbgrader`` entry, which feedback and autograding always have."""
    resources = resources or {}
    return resources.get("submission_id") is not None and "nbgrader" not in resources


def model_answer_box(source_cell: NotebookNode) -> NotebookNode:
    """A markdown cell for the grader with the source cell's model answer and rubric."""
    body = notebooks.solution_region(source_cell.source).strip()
    gid = notebooks.nbgrader_meta(source_cell).get("grade_id", "")
    text = (f"> **For the grader - model answer and rubric of `{gid}`** (from `source/`; "
            "students never see this)\n>\n" + "\n".join(f"> {line}" for line in body.splitlines()))
    return new_markdown_cell(text, metadata={BOX_KEY: gid})


def competition_note(nb: NotebookNode, spec: competition.Competition) -> str:
    """Markdown for the grader below a competition cell: this submission's held-out result (as
    the grader recorded it in the notebook's metadata) and how its extra credit shows."""
    record = nb.metadata.get(competition.METADATA_KEY) or {}
    if record.get("mse") is not None:
        result = f"held-out MSE {record['mse']:.4g} ({record.get('status') or 'scored'})"
    else:
        result = f"no held-out result ({record.get('status') or 'not scored by the grader'})"
    total = sum(c.points for c in notebooks.graded_cells(nb))
    return (f"> **Competition:** {result}. The class grader gives +{spec.bonus:g} extra credit to "
            "the lowest MSE of the class, on this cell. Formgrader and `nbgrader export` count "
            f"extra credit in the score, so a winner's score exceeds the maximum by {spec.bonus:g} "
            f"(with every point: {total + spec.bonus:g} / {total:g}).")


def add_model_answers(nb: NotebookNode, source: NotebookNode, assignment: str = "") -> int:
    """Insert :func:`model_answer_box` after every manually graded cell of ``nb`` that
    ``source`` has, with :func:`competition_note` in the box of ``assignment``'s competition
    cell; return how many boxes were added."""
    written = {notebooks.nbgrader_meta(c)["grade_id"]: c for c in source.cells
               if notebooks.cell_kind(c) == "written"}
    spec = competition.COMPETITIONS.get(assignment)
    cells, added = [], 0
    for cell in nb.cells:
        cells.append(cell)
        gid = notebooks.nbgrader_meta(cell).get("grade_id")
        if notebooks.cell_kind(cell) == "written" and gid in written:
            box = model_answer_box(written[gid])
            if spec is not None and gid == spec.cell:
                box.source += "\n>\n" + competition_note(nb, spec)
            cells.append(box)
            added += 1
    nb.cells = cells
    return added


class ShowModelAnswers(Preprocessor):
    """Formgrader's exporter: the model answer and rubric below each written answer."""

    enabled = Bool(True).tag(config=True)  # nbconvert skips disabled preprocessors

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        if not rendering_for_formgrader(resources):
            return nb, resources
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.source_directory, ".",
                                          resources["assignment_id"])) / f"{resources['notebook_id']}.ipynb"
        if path.is_file():
            add_model_answers(nb, notebooks.read(path), resources["assignment_id"])
        else:
            self.log.warning("No source notebook %s: formgrader shows no model answers", path)
        return nb, resources
