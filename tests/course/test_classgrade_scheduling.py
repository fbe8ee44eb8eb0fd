"""The class grader's Dask dispatch (nmautils.course.classgrade.scheduling) when workers are lost.

Dask runs the task of a lost worker again on another worker, even one busy with another task, and
counts that worker's next death against both. The grader must not let a submission that kills its
workers take an innocent student's task down with it: here one student's first worker is lost
(0.2 s into the task) while the poison submission (it ends its worker 0.6 s after it starts) runs
on the other one. Dask alone would queue that student's task behind the poison and, when one
death is allowed, fail it with the poison's next death.
"""

from __future__ import annotations

import importlib
import os

import dask
import distributed  # noqa: F401 - its defaults join Dask's config before the tests change it
from lost_workers import lose_workers

from nmautils.course.classgrade import scheduling
from nmautils.course.classgrade.worker import ClassContext, SubmissionTask

STUDENTS = ["poison", "lost", "a", "b", "c"]


def _grade(tmp_path, monkeypatch, allowed_failures: int) -> dict:
    """``{student: outcome}`` of grading :data:`STUDENTS` with ``lose_workers`` on an embedded
    cluster of two workers."""
    monkeypatch.setenv("NMAUTILS_LOST_MARKERS", str(tmp_path))  # the workers inherit it
    tasks = [SubmissionTask(student) for student in STUDENTS]
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}), \
            scheduling.dask_client(2) as client:
        client.run(importlib.import_module, "lost_workers")  # both tasks then start at once
        outcomes = list(scheduling.run_on_dask(client, ClassContext("none", b"", ""), tasks,
                                               "lost", grade=lose_workers))
    assert sorted(o.student for o in outcomes) == sorted(STUDENTS)  # each once
    assert (tmp_path / "lost").exists()  # its first worker was lost
    for outcome in outcomes:
        assert outcome.error == "", outcome
        if outcome.result.status == "graded":
            assert outcome.result.worker != str(os.getpid())
    return {o.student: o for o in outcomes}


def _deaths(outcome) -> str:
    return " ".join(outcome.result.messages)


def test_an_innocent_task_never_dies_beside_the_poison(tmp_path, monkeypatch):
    """A second death fails a task: the poison's two, not a queued innocent's."""
    outcomes = _grade(tmp_path, monkeypatch, allowed_failures=1)
    poison = outcomes.pop("poison")
    assert poison.result.status == "failed" and "died 2 times" in _deaths(poison), poison
    assert {o.result.status for o in outcomes.values()} == {"graded"}, outcomes


def test_with_no_failure_allowed_each_death_fails_its_own_task_only(tmp_path, monkeypatch):
    """Dask fails a task at the first death of its worker (``KilledWorker``): the poison's and
    the lost student's, each charged once, and nobody else's."""
    outcomes = _grade(tmp_path, monkeypatch, allowed_failures=0)
    for student in ("poison", "lost"):
        failed = outcomes.pop(student)
        assert failed.result.status == "failed" and "died 1 times" in _deaths(failed), failed
    assert {o.result.status for o in outcomes.values()} == {"graded"}, outcomes
