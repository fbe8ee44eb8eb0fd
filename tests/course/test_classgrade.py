"""Class-size grading (nmautils.course.classgrade): gradebook, CSV and report, and an output folder
that is a course folder.

Two tutorial1_decoding submissions (full marks, one wrong answer) are graded once through the
command line (``python -m nmautils.course grade``, in this process); the gradebook and CSV must
hold their grades, and manual grades entered afterwards must reach ``nbgrader export``. That two
runs give the same grades is checked on a real cluster by ``test_classgrade_dask.py`` (the
resumed embedded run against the cluster's).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest
from grading_harness import grading_environment, load_mutants, source_and_release, write_class

from nmautils.course import notebooks
from nmautils.course.__main__ import main as course_main

ASSIGNMENT = "tutorial1_decoding"


@pytest.fixture(scope="module")
def runs():
    with tempfile.TemporaryDirectory(prefix="classgrade-") as tmp, grading_environment():
        tmp = Path(tmp)
        source, release = source_and_release(ASSIGNMENT)
        subs = {
            "ada": notebooks.fill_submission(release, source),
            "cyd": notebooks.fill_submission(release, source,
                                             replace={"ex_train": load_mutants(ASSIGNMENT)["ex_train"]}),
        }
        write_class(tmp, ASSIGNMENT, subs)
        assert course_main(["grade", ASSIGNMENT, str(tmp / "submitted"), "--workers", "1",
                            "--out", str(tmp / "cli")]) == 0
        first_csv = list(csv.DictReader(open(tmp / "cli" / "grades.csv")))
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{tmp / 'cli' / 'gradebook.db'}") as gb:
            db_scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in subs}
        yield first_csv, db_scores, (tmp / "cli" / "report.txt").read_text(), tmp


def test_gradebook_and_csv_hold_the_grades(runs):
    first_csv, db_scores, report, _ = runs
    totals = {row["student"]: float(row["score"]) for row in first_csv}
    assert totals["ada"] == float(first_csv[0]["max_score"]) > 0
    assert 0 < totals["cyd"] < totals["ada"]
    assert db_scores == totals
    assert "submissions/minute" in report
    assert {row["status"] for row in first_csv} == {"graded"}


def test_the_output_is_a_course_folder_where_manual_grades_reach_the_export(runs):
    """What a grader enters in formgrader (here written to the gradebook the way formgrader
    does) survives the next ``grade`` run and reaches ``nbgrader export`` run in the folder."""
    import os
    import subprocess
    import sys

    from nbgrader.api import Gradebook

    tmp = runs[3]
    out, submitted = tmp / "cli", tmp / "submitted"
    assert (out / "nbgrader_config.py").is_file()
    assert (out / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    written = next(notebooks.nbgrader_meta(c)["grade_id"] for c in
                   notebooks.read(out / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").cells
                   if notebooks.cell_kind(c) == "written")
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        before = gb.find_submission(ASSIGNMENT, "cyd").score
        grade = gb.find_grade(written, ASSIGNMENT, ASSIGNMENT, "cyd")
        grade.manual_score, grade.extra_credit = 0.0, 1.5
        gb.find_comment(written, ASSIGNMENT, ASSIGNMENT, "cyd").manual_comment = "clear and right"
        gb.db.commit()
    # nothing to grade again: the run rebuilds the gradebook from the records
    with grading_environment():
        assert course_main(["grade", ASSIGNMENT, str(submitted), "--workers", "1",
                            "--out", str(out)]) == 0
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_grade(written, ASSIGNMENT, ASSIGNMENT, "cyd").extra_credit == 1.5
        assert gb.find_comment(written, ASSIGNMENT, ASSIGNMENT, "cyd").manual_comment == \
            "clear and right"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "final.csv"],
                          cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader(open(out / "final.csv"))}
    assert float(rows["cyd"]["raw_score"]) == pytest.approx(before + 1.5)
    # the feedback made there after manual grading has the grader's comment, and no model answer
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT,
                           "--student", "cyd", "--force"],
                          cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (out / "feedback" / "cyd" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "clear and right" in html
    source = notebooks.read(out / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    model = next(c for c in source.cells if notebooks.nbgrader_meta(c).get("grade_id") == written)
    answer = [line.strip() for line in notebooks.solution_region(model.source).splitlines()
              if len(line.strip()) > 30]
    assert answer and not any(line in html for line in answer)


def test_warm_caches_makes_the_literal_data_calls_of_a_notebook_once(monkeypatch):
    """Before grading, the grader makes the place-cell walks a notebook asks for with literal
    arguments (sandboxed kernels then restore them from the read-only cache)."""
    from nbformat.v4 import new_code_cell, new_notebook

    from nmautils import placecells
    from nmautils.course import grading

    calls = []
    monkeypatch.setattr(placecells, "simulate_place_cells", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(grading, "_WARM", set())
    nb = new_notebook(cells=[
        new_code_cell("data = simulate_place_cells(duration=60.0, n_cells=5, seed=0)"),
        new_code_cell("more = nmautils.placecells.simulate_place_cells(30.0, cell_type='grid')"),
        new_code_cell("depends = simulate_place_cells(duration=d)"),  # not literal: left alone
        new_code_cell("%matplotlib inline"),  # IPython syntax: skipped, no error
        new_code_cell("again = simulate_place_cells(duration=60.0, n_cells=5, seed=0)"),
    ])
    assert grading.warm_caches(nb) == 2
    assert calls == [((), {"duration": 60.0, "n_cells": 5, "seed": 0}),
                     ((30.0,), {"cell_type": "grid"})]
    assert grading.warm_caches(nb) == 0  # made once per process
