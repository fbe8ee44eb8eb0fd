"""The class grader's Dask dispatch (nmautils.course.classgrade.scheduling) when workers are lost.

Dask runs the task of a lost worker again on another worker, even one busy with another task, and
counts that worker's next death against both. The grader must not let a submission that kills its
workers take an innocent student's task down with it: here one student's first worker is lost
(0.2 s into the task) while the poison submission (it ends its worker 0.6 s after it starts) runs
on the other one, and a second death fails a task (``allowed-failures`` 1). Dask alone would
queue that student's task behind the poison and fail it with the poison's next death.
"""

from __future__ import annotations

import importlib
import os

import dask
from lost_workers import lose_workers

from nmautils.course.classgrade import scheduling
from nmautils.course.classgrade.worker import ClassContext, SubmissionTask

STUDENTS = ["poison", "lost", "a", "b", "c"]
ALLOWED_FAILURES = 1


def test_an_innocent_task_never_dies_beside_the_poison(tmp_path, monkeypatch):
    monkeypatch.setenv("NMAUTILS_LOST_MARKERS", str(tmp_path))  # the workers inherit it
    tasks = [SubmissionTask(student) for student in STUDENTS]
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}), \
            scheduling.dask_client(2) as client:
        client.run(importlib.import_module, "lost_workers")  # both tasks then start at once
        outcomes = list(scheduling.run_on_dask(client, ClassContext("none", b"", ""), tasks,
                                               "lost", grade=lose_workers))
    by_student = {o.student: o for o in outcomes}
    assert sorted(o.student for o in outcomes) == sorted(STUDENTS)  # each once
    poison = by_student.pop("poison").result
    assert poison.status == "failed"
    assert any(f"died {ALLOWED_FAILURES + 1} times" in m for m in poison.messages), poison.messages
    assert (tmp_path / "lost").exists()  # its first worker was lost
    for student, outcome in by_student.items():
        assert outcome.error == "" and outcome.result.status == "graded", (student, outcome)
        assert outcome.result.worker != str(os.getpid())
