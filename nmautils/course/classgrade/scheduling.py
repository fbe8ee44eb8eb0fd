"""Scheduling: where the students' tasks run, and what comes back from them.

:func:`run_here` grades one task after another in this process (``--workers 1``).
:func:`run_on_dask` sends them to a Dask cluster: an embedded one (:func:`dask_client` starts a
``LocalCluster`` of worker processes) or an existing one (``--scheduler tcp://HOST:PORT``). The
class run's :class:`~.worker.ClassContext` goes to the scheduler once, as the data of a task of
its own: a worker that needs it fetches it, and when every worker holding it is lost the
scheduler makes it again. Each student is then one task, sent to a worker thread that is free
(never queued behind another task: Dask counts a worker's death against every task that worker
holds, so a submission that kills its worker would take innocent ones with it). A task whose
workers die ``distributed.scheduler.allowed-failures`` + 1 times fails with ``KilledWorker``:
that student is given up (status ``failed``), the rest of the class goes on.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..grading import SubmissionResult, thread_budget
from .worker import ClassContext, SubmissionTask, grade_submission


@dataclass
class Outcome:
    """What became of one student's task.

    Attributes
    ----------
    student : str
        Whose task it was.
    result : SubmissionResult or None
        The result to record (None: nothing to record, see ``error``).
    files : dict
        The result's files (:func:`~.worker.autograde`).
    error : str
        Why the submission was not graded (the next run grades it again).
    more : bool
        Whether other outcomes are already waiting (the grader then writes its reports later).
    """

    student: str
    result: SubmissionResult | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    error: str = ""
    more: bool = False


def run_here(context: ClassContext, tasks: Iterable[SubmissionTask]) -> Iterator[Outcome]:
    """Grade ``tasks`` one after another in this process."""
    for task in tasks:
        result, files = grade_submission(context, task)
        yield Outcome(task.student, result, files)


def _share(context: ClassContext) -> ClassContext:
    """The class run's context as the result of a task (see the module's docstring)."""
    return context


def _has_bokeh() -> bool:
    """Whether this process can serve Dask's dashboard (it needs bokeh)."""
    return importlib.util.find_spec("bokeh") is not None


def dashboard_line(client) -> str:
    """Where the cluster's dashboard is, or why there is none."""
    try:
        available = client.run_on_scheduler(_has_bokeh)
    except Exception as exc:  # noqa: BLE001 - a scheduler that runs no code of ours
        return f"Dask dashboard: unknown (the scheduler did not say: {_why(exc)})"
    if not available:
        return "Dask dashboard: unavailable (bokeh is not installed where the scheduler runs)"
    return f"Dask dashboard: {client.dashboard_link}"


#: Dask settings of the embedded cluster. A grading task is one long call whose kernel needs the
#: cores, so Dask's statistical profiler (a stack sample of every task thread every 10 ms) is
#: off and its event-loop and system checks run less often. Workers of an existing cluster take
#: the same from environment variables (README, "Grading a cohort").
EMBEDDED_DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
}


def dask_environment_variables() -> dict[str, str]:
    """:data:`EMBEDDED_DASK_CONFIG` as the environment variables Dask reads
    (``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED``...)."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
            for key, value in EMBEDDED_DASK_CONFIG.items()}


@contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None) -> Iterator:
    """A Dask client: of the cluster at ``scheduler``, else of a local cluster of ``workers``
    worker processes with one thread each, closed on exit.

    The local cluster's kernels share the cores (:func:`~nmautils.course.grading.thread_budget`);
    it runs with :data:`EMBEDDED_DASK_CONFIG`; its dashboard (when bokeh is installed) is on a free
    port.
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # Dask's nannies write their workers' environment (PYTHONHASHSEED...) into this process's
    # own; the grader's environment is put back once the cluster is gone
    saved = dict(os.environ)
    try:
        # a free port: the default one may be taken by another cluster on this machine
        with dask.config.set(EMBEDDED_DASK_CONFIG), \
                LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                             dashboard_address=":0", env=thread_budget(workers),
                             silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def outcomes(context: ClassContext, tasks: Iterable[SubmissionTask], workers: int,
             scheduler: str | None, run: str) -> Iterator[tuple[Iterator[Outcome], int, str]]:
    """``(outcomes, worker threads, dashboard line)`` of grading ``tasks``: in this process when
    ``workers`` <= 1 and no ``scheduler`` is given, else on a Dask cluster (:func:`dask_client`)."""
    if scheduler is None and workers <= 1:
        yield run_here(context, tasks), 1, ""
        return
    with dask_client(workers, scheduler) as client:
        yield run_on_dask(client, context, tasks, run), _threads(client), dashboard_line(client)


def _threads(client) -> int:
    """Worker threads the cluster has now (at least 1: tasks then wait for a worker)."""
    return max(1, sum(client.nthreads().values()))


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_on_dask(client, context: ClassContext, tasks: Iterable[SubmissionTask], run: str,
                grade: Callable = grade_submission) -> Iterator[Outcome]:
    """Grade ``tasks`` on the cluster of ``client``; yield each outcome as it arrives.

    Parameters
    ----------
    client : distributed.Client
        The cluster's client.
    context : ClassContext
        What every task shares.
    tasks : iterable of SubmissionTask
        Read one at a time, as workers become free.
    run : str
        The run's id (in the tasks' keys: ``grade-<student>-<run>``).
    grade : callable
        The task's function, ``(context, task) -> (result, files)`` (benchmarks time the
        scheduling alone with one that grades nothing).
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    shared = client.submit(_share, context, key=f"classgrade-context-{run}", pure=False)
    waiting = iter(tasks)  # read lazily: a class's notebooks need not all be in memory at once
    exhausted = False
    student_of: dict[str, str] = {}
    where: dict[str, str] = {}  # key of a task not yet back -> the worker it runs on
    running = as_completed()

    def hand_out() -> None:
        # One task per free worker thread, sent to that worker: the scheduler would queue tasks
        # behind a busy worker, and a worker's death counts against every task it holds.
        nonlocal exhausted
        free = dict(client.nthreads())
        for address, keys in client.processing().items():
            for key in keys:
                if key in where:
                    where[key] = address  # moved there after a worker was lost
        for address in where.values():
            if address in free:
                free[address] -= 1
        for address, slots in free.items():
            for _ in range(slots):
                task = next(waiting, None)
                if task is None:
                    exhausted = True
                    return
                future = client.submit(grade, shared, task, key=f"grade-{task.student}-{run}",
                                       workers=[address], allow_other_workers=True, pure=False)
                student_of[future.key] = task.student
                where[future.key] = address
                running.add(future)

    try:
        hand_out()
        while not (exhausted and running.is_empty()):
            if running.is_empty():  # no worker had a free thread: wait for one
                client.wait_for_workers(1)
                time.sleep(0.5)
                hand_out()
                continue
            future = next(running)
            where.pop(future.key, None)
            student = student_of[future.key]
            if future.status == "finished":
                result, files = future.result()
                outcome = Outcome(student, result, files)
            elif future.status == "cancelled":
                outcome = Outcome(student, error="cancelled (the connection to the scheduler "
                                                 "was lost?)")
            else:
                exc = future.exception()
                if isinstance(exc, KilledWorker):
                    outcome = Outcome(student, SubmissionResult(
                        student, "failed", messages=[
                            f"grading failed: the workers running it died {exc.allowed_failures + 1}"
                            f" times (last {exc.last_worker.address}); the submission may kill "
                            "its grader (memory, a crash): grade it by hand"]))
                else:  # a worker that cannot grade (no sandbox), or a bug: not the student's
                    outcome = Outcome(student, error=_why(exc))
            future.release()
            hand_out()
            outcome.more = running.has_ready()
            yield outcome
    finally:
        shared.release()
