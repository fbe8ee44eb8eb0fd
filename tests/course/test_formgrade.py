"""Formgrader shows each written answer's model answer and rubric; feedback never does
(nmautils.course.formgrade, wired in through ``formgrader_preprocessors``)."""

from __future__ import annotations

import pytest
from nbconvert import HTMLExporter
from traitlets.config import Config

from nmautils.course import competition, formgrade, notebooks
from nmautils.course.build import source_path
from nmautils.course.feedback import formgrader_preprocessors
from nmautils.course.grading import REPO_ROOT, generated_release

ASSIGNMENT = "assignment3_interpret"


@pytest.fixture(scope="module")
def release():
    return generated_release(ASSIGNMENT)


def _rubric_lines() -> list[str]:
    source = notebooks.read(source_path(ASSIGNMENT))
    lines = []
    for cell in source.cells:
        if notebooks.cell_kind(cell) == "written":
            body = notebooks.solution_region(cell.source)
            lines += [line.strip() for line in body.splitlines() if "Rubric" in line]
    assert lines, "assignment 3 has rubrics"
    return lines


def _render(nb, resources):
    config = Config({"HTMLExporter": {"preprocessors": formgrader_preprocessors()},
                     "CourseDirectory": {"root": str(REPO_ROOT)}})
    html, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    return html


def test_formgrader_shows_every_written_answers_model_answer_and_rubric(release):
    html = _render(release, {"submission_id": "x", "assignment_id": ASSIGNMENT,
                             "notebook_id": ASSIGNMENT})
    written = [c for c in release.cells if notebooks.cell_kind(c) == "written"]
    assert html.count("For the grader - model answer and rubric") == len(written) > 0
    for line in _rubric_lines():
        assert line.replace("*", "") in html.replace("<em>", "").replace("</em>", ""), line


def test_feedback_and_autograding_never_get_the_box(release):
    for resources in ({"nbgrader": {"assignment": ASSIGNMENT, "notebook": ASSIGNMENT}},
                      {"submission_id": "x", "assignment_id": ASSIGNMENT,
                       "notebook_id": ASSIGNMENT, "nbgrader": {}}, {}):
        html = _render(release, resources)
        assert "For the grader" not in html
        assert not any(line.replace("*", "") in html for line in _rubric_lines())


def test_the_box_sits_right_below_its_answer(release):
    out = release.copy()  # shallow: the cell list is replaced, the release kept
    assert formgrade.add_model_answers(out, notebooks.read(source_path(ASSIGNMENT))) > 0
    for index, cell in enumerate(out.cells):
        if formgrade.BOX_KEY in cell.metadata:
            above = out.cells[index - 1]
            assert notebooks.nbgrader_meta(above)["grade_id"] == cell.metadata[formgrade.BOX_KEY]


def test_the_competition_box_gives_the_result_and_explains_the_extra_credit(release):
    scored = release.copy()
    scored.metadata = {**release.metadata,
                       competition.METADATA_KEY: {"mse": 81.25, "status": "scored"}}
    html = _render(scored, {"submission_id": "x", "assignment_id": ASSIGNMENT,
                            "notebook_id": ASSIGNMENT})
    assert html.count("Competition:") == 1
    start = html.index("Competition:")
    note = html[start:html.index("</p>", start)]
    bonus = competition.COMPETITIONS[ASSIGNMENT].bonus
    assert "held-out MSE 81.25 (scored)" in note, note
    assert f"exceeds the maximum by {bonus:g}" in note, note
    unscored = _render(release, {"submission_id": "x", "assignment_id": ASSIGNMENT,
                                 "notebook_id": ASSIGNMENT})
    assert "no held-out result" in unscored
