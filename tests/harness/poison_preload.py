"""Test-only Dask worker preload: the worker process dies whenever it starts grading one student.

    dask worker tcp://127.0.0.1:8786 --preload tests/harness/poison_preload.py

A submission cannot kill its worker from inside the sandboxed kernel, so the test of "a
submission that kills workers again and again" simulates one: when this worker begins the task
of the student named by ``NMAUTILS_POISON_STUDENT`` (default ``poison``), the process exits at
once, as a worker killed by the kernel's out-of-memory killer would. The nanny starts a new
worker process, and the scheduler counts the death against the task.
"""

from __future__ import annotations

import os

from distributed.diagnostics.plugin import WorkerPlugin

POISON = os.environ.get("NMAUTILS_POISON_STUDENT", "poison")


class KillOnPoison(WorkerPlugin):
    """Exit the worker process when the poison student's grading task starts executing."""

    def transition(self, key, start, finish, *args, **kwargs):
        # the class grader names a student's task grade-<student>-<run id>
        if finish == "executing" and isinstance(key, str) and key.startswith(f"grade-{POISON}-"):
            os._exit(13)


async def dask_setup(worker):
    await worker.plugin_add(KillOnPoison(), name="kill-on-poison")
