"""nmautils.course.grading.thread_budget: kernels side by side share the cores."""

from __future__ import annotations

import pytest

from nmautils.course import grading


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(grading, "available_cores", lambda: 4)
    for key in grading.THREAD_VARIABLES:
        monkeypatch.delenv(key, raising=False)


@pytest.mark.parametrize("parallel, threads", [(1, "4"), (2, "2"), (3, "1"), (4, "1"), (9, "1")])
def test_each_kernel_gets_its_share(four_cores, parallel, threads):
    budget = grading.thread_budget(parallel)
    assert budget == {key: threads for key in grading.THREAD_VARIABLES}


def test_a_value_the_user_set_wins(four_cores, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert grading.thread_budget(2)["OMP_NUM_THREADS"] == "3"
    assert grading.thread_budget(2)["MKL_NUM_THREADS"] == "2"


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                        (True, TypeError), ("2", TypeError)])
def test_bad_parallel_is_refused(bad, error):
    with pytest.raises(error, match="parallel should be"):
        grading.thread_budget(bad)


def test_available_cores_is_positive():
    assert grading.available_cores() >= 1
