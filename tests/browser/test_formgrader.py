"""The instructor's manual grading, in formgrader in headless Chromium (Playwright).

A class of two submissions of assignment 3 (the model answer and the blank release) is graded
with ``python -m nmautils.course grade``; formgrader then runs in the output folder. On the
blank student's submission the grader sees each written answer's model answer and rubric,
enters a score for the first written answer, and ``nbgrader export`` in the same folder has it.
Screenshots: ``build/browser/formgrader-*.png``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_harness import chromium_page, jupyter_server, require_browser, screenshot
from grading_harness import GRADING_ENV, grading_environment, source_and_release, write_class

from nmautils.course import notebooks
from nmautils.course.grading import REPO_ROOT

ASSIGNMENT = "assignment3_interpret"
STUDENT = "blank_student"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The output folder of ``grade`` for the class of two, and the first written answer's id."""
    api = require_browser()
    folder = tmp_path_factory.mktemp("formgrader")
    with grading_environment():
        source, release = source_and_release(ASSIGNMENT)
    write_class(folder, ASSIGNMENT, {"full_student": notebooks.fill_submission(release, source),
                                     STUDENT: release})
    env = {**os.environ, **GRADING_ENV,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "nmautils.course", "grade", ASSIGNMENT,
                           str(folder / "submitted"), "--workers", "2", "--out",
                           str(folder / "graded"), "--root", str(REPO_ROOT)],
                          env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "nbgrader course folder" in proc.stdout
    written = next(notebooks.nbgrader_meta(c)["grade_id"] for c in source.cells
                   if notebooks.cell_kind(c) == "written" and notebooks.nbgrader_meta(c)["points"])
    return api, folder / "graded", written


def _submission_id(out: Path) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        return gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).id


def _manual_score(out: Path, cell: str) -> float | None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        return gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, STUDENT).manual_score


def test_a_manual_score_entered_beside_the_rubric_reaches_the_export(graded):
    api, out, written = graded
    with jupyter_server(out, "lab") as url, chromium_page(api) as page:
        page.goto(f"{url}/formgrader/submissions/{_submission_id(out)}/")
        box = page.get_by_text("For the grader - model answer and rubric").first
        box.wait_for(timeout=60_000)
        assert page.get_by_text("Rubric").count() >= 1
        score = page.locator(f"input.score#{written}")
        score.scroll_into_view_if_needed()
        screenshot(page, "formgrader-model-answer")
        score.fill("1.5")
        score.press("Tab")
        deadline = time.monotonic() + 30
        while _manual_score(out, written) != 1.5 and time.monotonic() < deadline:
            time.sleep(0.5)
        screenshot(page, "formgrader-scored")
    assert _manual_score(out, written) == 1.5
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "final.csv"],
                          cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader(open(out / "final.csv"))}
    assert float(rows[STUDENT]["raw_score"]) == pytest.approx(1.5)
