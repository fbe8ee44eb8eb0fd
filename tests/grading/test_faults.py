"""Fault catalogue: each fault costs only its own exercise.

The faults of tests/harness/faults.py are injected into submissions made from the solution of
the assignments in :data:`ASSIGNMENTS` and graded by the class grader
(tests/harness/faults_harness.py); the tests check that the run finishes, the instructor gets a
message, and the student loses only the points of the exercise at fault.

Tutorial 1 carries the catalogue: the crashes, hangs and tampering are the grader's to survive,
whatever the lesson, and tutorial 1 is the shortest notebook. That every assignment's exercises
lose only their own points is checked for all of them by the grading round trip
(tests/grading/test_grading.py: wrong and unfinished answers beside correct ones); assignment
3's competition and written answers by tests/grading/test_competition.py and the class-grading
tests. Running the catalogue on more assignments multiplied this file's share of CI.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import faults
import pytest
from faults_harness import DEFAULT_TIMEOUT, run_faults

from nmautils.course.build import assignments

#: The assignments whose submissions carry the fault catalogue (see the module docstring).
ASSIGNMENTS = ("tutorial1_decoding",)


def test_the_catalogues_assignments_exist():
    assert set(ASSIGNMENTS) <= set(assignments())


def _per_assignment(values):
    """One param per assignment (tests/harness/xdist_groups.py puts its tests on one worker)."""
    return [pytest.param(a, id=a) for a in values]


@pytest.fixture(scope="session")
def fault_runs(tmp_path_factory):
    """Fault runs by assignment, each made once per worker that needs it."""
    return {"_tmp": tmp_path_factory}


def _run(runs: dict, assignment: str):
    if assignment not in runs:
        folder = Path(tempfile.mkdtemp(prefix=f"faults-{assignment}-",
                                       dir=runs["_tmp"].getbasetemp()))
        runs[assignment] = run_faults(assignment, folder, DEFAULT_TIMEOUT)
    return runs[assignment]


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_catalogue_covers_at_least_15_kinds(fault_runs, assignment):
    fault_run = _run(fault_runs, assignment)
    used = {f for sub in fault_run.plan.values() for fs in sub.values() for f in fs}
    used |= {f for fs in fault_run.notebook_faults.values() for f in fs}
    assert used == set(faults.CATALOGUE), sorted(set(faults.CATALOGUE) - used)
    assert len(used) >= 15


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_every_submission_is_graded_or_flagged(fault_runs, assignment):
    fault_run = _run(fault_runs, assignment)
    assert set(fault_run.grades) == set(fault_run.plan)
    for student, grade in fault_run.grades.items():
        assert set(fault_run.test_points) <= set(grade.cells), fault_run.describe(student)
    assert fault_run.grades["missing"].status == "missing"
    assert fault_run.grades["corrupt"].status == "flagged"
    for student in fault_run.plan:
        if student not in ("missing", "corrupt"):
            assert fault_run.grades[student].status == "graded", fault_run.describe(student)


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_each_fault_costs_only_its_own_exercise(fault_runs, assignment):
    fault_run = _run(fault_runs, assignment)
    bad = []
    for student, grade in fault_run.grades.items():
        for test, points in fault_run.test_points.items():
            want, got = fault_run.expectation(student, test), grade.cells[test].score
            ok = {"zero": got == 0, "keep": got == points,
                  "own": got is not None and 0 <= got <= points}[want]
            if not ok:
                bad.append(fault_run.describe(student))
                break
    assert not bad, "\n\n".join(bad)


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_instructor_gets_a_message_per_lost_exercise(fault_runs, assignment):
    fault_run = _run(fault_runs, assignment)
    for student, grade in fault_run.grades.items():
        text = "\n".join(grade.messages)
        for test in fault_run.test_points:
            if grade.cells[test].score is not None and grade.cells[test].score < fault_run.test_points[test] \
                    and grade.status == "graded":
                assert test in text, fault_run.describe(student)
        for fault in fault_run.notebook_faults.get(student, []):
            needle = {"misnamed_notebook": "graded 'Copy of", "missing_notebook": "missing",
                      "corrupted_json": "cannot be read", "deleted_test_cell": "deleted",
                      "edited_test_cell": "edited this test cell",
                      "edited_readonly_cell": "edited this read-only cell"}[fault]
            assert needle in text, fault_run.describe(student)
    kernel = [s for s in fault_run.plan if s.startswith("kernel")]
    for student in kernel:
        assert "[grader]" in "\n".join(fault_run.grades[student].messages), fault_run.describe(student)


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_megabytes_of_output_are_truncated(fault_runs, assignment):
    fault_run = _run(fault_runs, assignment)
    student = next(s for s, sub in fault_run.plan.items()
                   if any("prints_megabytes" in fs for fs in sub.values()))
    path = fault_run.out / "autograded" / student / assignment / f"{assignment}.ipynb"
    assert path.stat().st_size < 1_500_000, f"{path} is {path.stat().st_size} bytes"
