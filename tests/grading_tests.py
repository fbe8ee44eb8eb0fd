"""Test functions shared by every ``test_grading_<assignment>.py`` (imported there by name)."""

from __future__ import annotations

import pytest
from grading_harness import describe, load_mutants, run_grading


def make_tests(assignment: str) -> dict:
    """Build the grading tests of one assignment; the caller puts them in its module globals."""

    @pytest.fixture(scope="module")
    def grading():
        return run_grading(assignment)

    def test_solution_scores_full_marks(grading):
        assert grading.actual_scores("full") == grading.expected_scores("full"), describe(grading, "full")
        assert grading.results["full"].auto_score == grading.results["full"].auto_max > 0

    def test_blank_release_scores_zero_without_crashing(grading):
        result = grading.results["blank"]
        assert set(grading.test_points) <= set(result.cells), "the grader did not record every test cell"
        assert result.auto_score == 0, describe(grading, "blank")

    @pytest.mark.parametrize("answer", sorted(load_mutants(assignment)))
    def test_wrong_answer_loses_exactly_its_points(grading, answer):
        sub = grading.submission_with_mutant(answer)
        actual = grading.actual_scores(sub)
        assert all(actual[t] == 0 for t in grading.answer_tests[answer]), describe(grading, sub)
        assert actual == grading.expected_scores(sub), describe(grading, sub)

    @pytest.mark.parametrize("half", ["blank_even", "blank_odd"])
    def test_unfinished_answers_cost_only_their_own_points(grading, half):
        assert grading.actual_scores(half) == grading.expected_scores(half), describe(grading, half)

    def test_every_answer_has_a_mutant_and_a_test(grading):
        assert set(load_mutants(assignment)) == set(grading.answer_tests)
        untested = [a for a, tests in grading.answer_tests.items() if not tests]
        assert not untested, f"answer cells without test cells: {untested}"

    return {name: obj for name, obj in locals().items() if name.startswith(("test_", "grading"))}
