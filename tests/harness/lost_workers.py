"""Test-only grading functions for the class grader's Dask path that lose their workers.

Each takes the place of :func:`nmautils.course.classgrade.worker.grade_submission` (``(context,
task) -> (result, files)``) and grades nothing; some students end the worker process instead, as
the kernel's out-of-memory killer or a lost machine would:

- ``poison`` ends its worker every time, 0.6 s after it starts;
- ``lost`` ends its worker the first time only, 0.2 s after it starts (a marker file in
  ``$NMAUTILS_LOST_MARKERS`` remembers it), then is graded;
- ``slow`` takes one and a half seconds, longer than the poison needs to end a worker they share;
- everyone else takes half a second.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from nmautils.course.grading import SubmissionResult


def lose_workers(context, task):
    """Grade nothing; end the worker process for ``poison`` and for ``lost``'s first try."""
    if task.student == "poison":
        time.sleep(0.6)
        os._exit(13)
    marker = Path(os.environ["NMAUTILS_LOST_MARKERS"]) / task.student
    if task.student == "lost" and not marker.exists():
        marker.touch()
        time.sleep(0.2)
        os._exit(13)
    seconds = 1.5 if task.student == "slow" else 0.5
    time.sleep(seconds)
    return SubmissionResult(task.student, seconds=seconds, worker=str(os.getpid())), {}
