"""The per-submission time budget and the output limits of GuardedExecute, each with and without
itself (so that the test fails when the limit is switched off)."""

from __future__ import annotations

import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nmautils.course import guard


def _run(nb, **settings):
    executor = guard.GuardedExecute(sandbox=False, skip_demo_cells=False, timeout=30, **settings)
    start = time.monotonic()
    executor.preprocess(nb, {"metadata": {"path": "."}})
    return time.monotonic() - start


def _sleepy_notebook(cells=6, seconds=1.5):
    return new_notebook(cells=[new_code_cell(f"import time; time.sleep({seconds})")
                               for _ in range(cells)])


@pytest.mark.parametrize("budget", [4, 0])
def test_cells_left_when_the_time_budget_runs_out_are_not_run(budget):
    nb = _sleepy_notebook()
    seconds = _run(nb, submission_timeout=budget)
    skipped = [c for c in nb.cells if not c.get("execution_count")]
    if budget:  # (a loaded machine may take longer, but not run the skipped cells)
        assert len(skipped) >= 2, [c.execution_count for c in nb.cells]
    else:  # no budget: every cell runs, the whole 9 s
        assert seconds >= 9 and not skipped


def test_a_test_cell_past_the_budget_scores_zero_with_a_message():
    nb = _sleepy_notebook(cells=2, seconds=2.5)
    test = new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "test_x"}})
    nb.cells.append(test)
    # reference_mode: no source notebook to compute reference values from is needed here
    guard.GuardedExecute(sandbox=False, skip_demo_cells=False, submission_timeout=3,
                         reference_mode=True).preprocess(
        nb, {"metadata": {"path": "."}, "nbgrader": {"assignment": "a", "notebook": "a"}})
    errors = [o for o in nb.cells[-1].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "SubmissionTimeout" and "time budget" in errors[0].evalue


@pytest.mark.parametrize("cap_mb", [1.0, 64.0])
def test_output_is_capped_per_cell(cap_mb):
    nb = new_notebook(cells=[new_code_cell(
        "from IPython.display import display\n"
        "for _ in range(6):\n"
        "    display({'text/plain': 'x' * (1 << 20)}, raw=True)")])
    _run(nb, cell_output_mb=cap_mb)
    size = len(nbformat.writes(nb))
    if cap_mb < 6:
        assert size < 2 * 2**20, size
        assert "was dropped" in nbformat.writes(nb)
    else:  # limit off: all 6 MiB stay
        assert size > 6 * 2**20


def test_output_is_capped_per_notebook():
    nb = new_notebook(cells=[new_code_cell("print('y' * (1 << 20))") for _ in range(5)])
    _run(nb, cell_output_mb=2.0, notebook_output_mb=3.0)
    assert len(nbformat.writes(nb)) < 4 * 2**20
    assert "was dropped" in nbformat.writes(nb)


def test_the_model_answers_run_keeps_its_own_timeouts_under_a_students_config(tmp_path):
    """The course's short student timeouts (config) must not reach the reference run: nbclient
    re-applies the config when it executes, which once undid the reference run's settings."""
    from nbformat import write

    test = new_code_cell(
        "import time\ntime.sleep(2.5)\n### BEGIN HIDDEN TESTS\n"
        "from nmautils.course.hidden import expect\nexpect('x', 1.0)\n### END HIDDEN TESTS",
        metadata={"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1,
                               "grade_id": "test_x"}})
    path = tmp_path / "a" / "a.ipynb"
    path.parent.mkdir()
    write(new_notebook(cells=[test]), path)
    config = {"Execute": {"timeout": 1}, "GuardedExecute": {"submission_timeout": 1}}
    references = guard.compute_references(path, seed=5, config=config, sandbox=False)
    assert set(references) == {"test_x"} and set(references["test_x"]) == {"x"}
