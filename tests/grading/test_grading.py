"""Autograding round trip of every assignment (see tests/harness/grading_harness.py).

For each assignment in source/: the solution scores full marks, the untouched release scores 0
without crashing the grader, and in three submissions that mix wrong answers
(tests/grading/mutants/<assignment>.py), unfinished ones and correct ones, each broken answer loses
exactly the points of its own test cells. Adding a lesson
means adding its notebook and its mutants; nothing here changes.
"""

from __future__ import annotations

import pytest
from grading_harness import MIXED, describe, load_mutants, run_grading

from nmautils.course.build import assignments

ASSIGNMENTS = assignments()


def _per_assignment(values):
    """One param per assignment (its id names the assignment: tests/harness/xdist_groups.py puts
    an assignment's tests on one worker)."""
    return [pytest.param(a, id=a) for a in values]


def _mutant_cases():
    return [pytest.param(a, m, id=f"{a}-{m}") for a in ASSIGNMENTS for m in sorted(load_mutants(a))]


@pytest.fixture(scope="session")
def runs():
    """Grading runs by assignment, each made once per worker process that needs it."""
    return {}


def _run(runs: dict, assignment: str):
    if assignment not in runs:
        runs[assignment] = run_grading(assignment)
    return runs[assignment]


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_solution_scores_full_marks(runs, assignment):
    grading = _run(runs, assignment)
    assert grading.actual_scores("full") == grading.expected_scores("full"), describe(grading, "full")
    assert grading.results["full"].score == grading.results["full"].max_score > 0


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_blank_release_scores_zero_without_crashing(runs, assignment):
    grading = _run(runs, assignment)
    result = grading.results["blank"]
    assert set(grading.test_points) <= set(result.cells), "the grader did not record every test cell"
    assert result.score == 0, describe(grading, "blank")


@pytest.mark.parametrize("assignment, answer", _mutant_cases())
def test_wrong_answer_loses_exactly_its_points(runs, assignment, answer):
    grading = _run(runs, assignment)
    sub = grading.submission_with_mutant(answer)
    actual = grading.actual_scores(sub)
    assert all(actual[t] == 0 for t in grading.answer_tests[answer]), describe(grading, sub)
    assert actual == grading.expected_scores(sub), describe(grading, sub)


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
@pytest.mark.parametrize("mixed", MIXED)
def test_broken_answers_cost_only_their_own_points(runs, assignment, mixed):
    grading = _run(runs, assignment)
    assert grading.actual_scores(mixed) == grading.expected_scores(mixed), describe(grading, mixed)


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_every_answer_is_once_wrong_once_unfinished_and_once_correct(runs, assignment):
    grading = _run(runs, assignment)
    for answer in grading.answer_tests:
        assert [answer in grading.broken[m] for m in MIXED].count(False) == 1, answer
        assert grading.submission_with_mutant(answer) != grading.submission_with_blank(answer)


@pytest.mark.parametrize("assignment", _per_assignment(ASSIGNMENTS))
def test_every_answer_has_a_mutant_and_a_test(runs, assignment):
    grading = _run(runs, assignment)
    assert set(load_mutants(assignment)) == set(grading.answer_tests)
    untested = [a for a, tests in grading.answer_tests.items() if not tests]
    assert not untested, f"answer cells without test cells: {untested}"
