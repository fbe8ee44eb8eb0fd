"""Scheduling: where the students' tasks run, and what comes back from them.

:func:`run_here` grades one task after another in this process (``--workers 1``).
:func:`run_on_dask` sends them to a Dask cluster: an embedded one (:func:`dask_client` starts a
``LocalCluster`` of worker processes) or an existing one (``--scheduler tcp://HOST:PORT``). The
class run's :class:`~.worker.ClassContext` goes to the scheduler once, as the data of a task of
its own: a worker that needs it fetches it, and when every worker holding it is lost the
scheduler makes it again. Each student is then one task, sent to a worker thread that is free and
allowed to run there only (:class:`_Dispatcher`). Dask counts a worker's death against every task
that worker holds, and runs a lost worker's tasks again on workers busy with others, so a
submission that kills its worker would take innocent ones with it; the grader keeps the count
instead, from the scheduler's ``remove-worker`` events: a death is charged to the task that ran
alone on the lost worker, and every task it held is sent again under a new key. A student charged
``distributed.scheduler.allowed-failures`` + 1 deaths is given up (status ``failed``), the rest of
the class goes on.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import queue
import time
from collections import Counter, deque
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
#: off and its event-loop, system and memory checks run less often (the sandbox bounds a
#: kernel's memory, the worker's own stays small). Workers of an existing cluster take
#: the same from environment variables (README, "Grading a cohort").
EMBEDDED_DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
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
             scheduler: str | None, run: str, say: Callable[[str], None] = lambda line: None,
             ) -> Iterator[tuple[Iterator[Outcome], int, str]]:
    """``(outcomes, worker threads, dashboard line)`` of grading ``tasks``: in this process when
    ``workers`` <= 1 and no ``scheduler`` is given, else on a Dask cluster (:func:`dask_client`);
    ``say`` takes the cluster's news for the instructor (:func:`run_on_dask`)."""
    if scheduler is None and workers <= 1:
        yield run_here(context, tasks), 1, ""
        return
    with dask_client(workers, scheduler) as client:
        yield (run_on_dask(client, context, tasks, run, say=say), _threads(client),
               dashboard_line(client))


def _threads(client) -> int:
    """Worker threads the cluster has now (at least 1: tasks then wait for a worker)."""
    return max(1, sum(client.nthreads().values()))


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


#: Seconds the grader waits for news from the cluster (a result, a worker lost or added) before
#: it looks for free worker threads anyway.
WATCH_SECONDS = 5.0

#: Seconds between looks at a worker that has joined the cluster but does not run tasks yet
#: (for at most ``JOINING_SECONDS``: a worker may also stay paused).
STARTING_SECONDS = 0.2
JOINING_SECONDS = 30.0

#: Seconds to fetch a finished task's result from its worker.
RESULT_SECONDS = 300


def _allowed_failures(dask_scheduler) -> int:
    """The scheduler's ``distributed.scheduler.allowed-failures`` (run on the scheduler)."""
    return dask_scheduler.allowed_failures


@dataclass
class _Sent:
    """A task as sent: whose it is, and the worker it may run on (and no other)."""

    task: SubmissionTask
    worker: str


class _Dispatcher:
    """Sends each student's task to a free worker thread, and keeps the count of lost workers.

    A task may run only on the worker it was sent to, which had a thread free for it. When that
    worker is lost, the scheduler says which tasks it was running (its ``remove-worker`` event);
    only then does the dispatcher take back every task it had sent there and send them again,
    under new keys (not before: a copy sent on while the death is not yet counted could end the
    next worker too). The death is charged to the student whose task ran there alone (unless the
    worker left as planned). A worker of several threads that dies running several tasks charges
    nobody: their students become suspects, whose tasks are sent again each to a worker of its
    own (an idle one; when none is idle, the least busy one gets no new task until it is). A
    student charged ``allowed`` + 1 deaths is given up. One dispatcher at a time per client (it
    takes the client's handler of the scheduler's events).
    """

    def __init__(self, client, grade: Callable, shared, tasks: Iterable[SubmissionTask],
                 run: str, allowed: int):
        self.client, self.grade, self.shared, self.run = client, grade, shared, run
        self.allowed = allowed
        self.waiting = iter(tasks)  # read lazily: a class's notebooks need not all be in memory
        self.again: deque[SubmissionTask] = deque()  # taken back: sent before the waiting ones
        self.alone: deque[SubmissionTask] = deque()  # the suspects' tasks, each to run alone
        self.suspects: set[str] = set()  # their tasks are taken back as they become suspects,
        # so a suspect's task that is out was sent to a worker of its own
        self.exhausted = False
        self.placed: dict[str, object] = {}  # key -> future, of the tasks not yet back
        self.sent: dict[str, _Sent] = {}  # key -> what it was, for every key of this run
        self.gone: set[str] = set()  # workers whose loss has been dealt with
        self.deaths: Counter[str] = Counter()
        self.sends: Counter[str] = Counter()  # student -> tasks sent (a new key each time)
        self.done: set[str] = set()  # students whose outcome was handed over
        self.running = 0  # workers running, at the last hand-out
        self.joining: dict[str, float] = {}  # worker -> when it joined, while not running yet
        self.news: queue.Queue = queue.Queue()  # ("done", future) or ("event", message)

    def busy(self) -> bool:
        return bool(self.placed or self.again or self.alone or not self.exhausted)

    def hear(self, event) -> None:
        """Dask's handler of the scheduler's events (run on the client's event loop)."""
        _, message = event
        if isinstance(message, dict) and message.get("action") in ("remove-worker", "add-worker"):
            self.news.put(("event", message))

    def _next_task(self) -> SubmissionTask | None:
        if self.again:
            return self.again.popleft()
        task = next(self.waiting, None)
        self.exhausted = task is None
        return task

    def hand_out(self) -> None:
        """One task per free thread of a running worker, sent to that worker only (the scheduler
        would queue tasks behind a busy worker, and run a lost worker's tasks beside another's);
        a suspect's task to a worker with nothing else to do. A task sent to a worker whose loss
        was dealt with before the task reached the scheduler is sent again."""
        for key in [k for k in self.placed if self.sent[k].worker in self.gone]:
            self._take_back(key)
        threads = dict(self.client.sync(self.client.scheduler.ncores_running))
        self.running = len(threads)
        now = time.monotonic()
        self.joining = {w: t for w, t in self.joining.items()
                        if w not in threads and now - t < JOINING_SECONDS}
        busy: Counter[str] = Counter()
        taken = set()  # workers running a suspect's task: nothing else goes there
        for key in self.placed:
            sent = self.sent[key]
            busy[sent.worker] += 1
            if sent.task.student in self.suspects:
                taken.add(sent.worker)
        untaken = sorted((w for w in threads if w not in taken), key=lambda w: (busy[w], w))
        for worker in list(untaken):
            if self.alone and not busy[worker]:
                self._send(self.alone.popleft(), worker)
                untaken.remove(worker)
        if self.alone and untaken:
            untaken.pop(0)  # the least busy worker drains for the next suspect
        for worker in untaken:
            for _ in range(threads[worker] - busy[worker]):
                task = self._next_task()
                if task is None:
                    return
                self._send(task, worker)

    def _send(self, task: SubmissionTask, worker: str) -> None:
        tries = self.sends[task.student]
        self.sends[task.student] += 1
        key = f"grade-{task.student}-{self.run}" + (f"-{tries}" if tries else "")
        future = self.client.submit(self.grade, self.shared, task, key=key,
                                    workers=[worker], allow_other_workers=False, pure=False)
        self.placed[key] = future
        self.sent[key] = _Sent(task, worker)
        future.add_done_callback(lambda f: self.news.put(("done", f)))

    def joined(self, message: dict) -> None:
        """A worker joined (again, perhaps under an address that was lost before)."""
        self.gone.discard(message.get("worker", ""))
        self.joining[message.get("worker", "")] = time.monotonic()

    def lost(self, message: dict) -> list[Outcome]:
        """A worker is gone: charge, take back and send again (or give up) the tasks sent
        there."""
        worker = message.get("worker", "")
        self.gone.add(worker)
        running = {self.sent[k].task.student for k in message.get("processing-tasks", ())
                   if k in self.sent}
        if not message.get("expected"):
            if len(running) == 1:
                self.deaths[running.pop()] += 1
            else:  # which of them ended the worker? Each runs alone next
                self.suspects |= running
        for key in [k for k in self.placed if self.sent[k].worker == worker]:
            self._take_back(key)  # running there, or finished with the result there
        out = {s for s, n in self.deaths.items() if n > self.allowed} - self.done
        for key in [k for k in self.placed if self.sent[k].task.student in out]:
            self._take_back(key)
        self.again = deque(t for t in self.again if t.student not in out)
        self.alone = deque(t for t in self.alone if t.student not in out)
        self.done |= out
        return [_given_up(student, self.deaths[student], worker) for student in sorted(out)]

    def _take_back(self, key: str) -> None:
        """Cancel the task of ``key``; its student's task is sent again first (alone, for a
        suspect)."""
        self.placed.pop(key).cancel()
        task = self.sent[key].task
        (self.alone if task.student in self.suspects else self.again).append(task)

    def outcome(self, future) -> Outcome | None:
        """What became of ``future``'s student (None: nothing yet, or no longer ours)."""
        from distributed.scheduler import KilledWorker

        if self.placed.get(future.key) is not future:  # taken back
            return None
        sent = self.sent[future.key]
        if future.status == "error":
            exc = future.exception()
            if isinstance(exc, KilledWorker) and exc.task == future.key:
                return None  # allowed-failures 0: its worker's loss is dealt with by its event
            # a worker that cannot grade (no sandbox), or a bug: not the student's
            return self._handed_over(future, Outcome(sent.task.student, error=_why(exc)))
        if future.status == "cancelled":
            return self._handed_over(future, Outcome(
                sent.task.student, error="cancelled (the connection to the scheduler was lost?)"))
        if future.status != "finished" or sent.worker not in self.client.nthreads():
            return None  # its result was lost with its worker, whose event takes it back
        try:
            result, files = future.result(timeout=RESULT_SECONDS)
        except TimeoutError:  # e.g. its worker was lost with the result: graded next run
            return self._handed_over(future, Outcome(
                sent.task.student, error=f"its result did not arrive in {RESULT_SECONDS} s"))
        return self._handed_over(future, Outcome(sent.task.student, result, files))

    def _handed_over(self, future, outcome: Outcome) -> Outcome:
        del self.placed[future.key]
        self.done.add(outcome.student)
        return outcome


def _given_up(student: str, deaths: int, last: str) -> Outcome:
    return Outcome(student, SubmissionResult(student, "failed", messages=[
        f"grading failed: the workers running it died {deaths} times (last {last}); the "
        "submission may kill its grader (memory, a crash): grade it by hand"]))


def _no_worker_line(client) -> str:
    return (f"no Dask worker is running on {client.scheduler.address}: grading waits for one "
            "(README, 'Grading a cohort', says how to start them)")


def run_on_dask(client, context: ClassContext, tasks: Iterable[SubmissionTask], run: str,
                grade: Callable = grade_submission,
                say: Callable[[str], None] = lambda line: None) -> Iterator[Outcome]:
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
        The run's id (in the tasks' keys: ``grade-<student>-<run>``, then ``-<deaths>`` when
        sent again after lost workers).
    grade : callable
        The task's function, ``(context, task) -> (result, files)`` (benchmarks time the
        scheduling alone with one that grades nothing).
    say : callable
        Takes a line for the instructor when the cluster is left without workers, and when
        workers join it again (the grader goes on recording what arrives meanwhile).
    """
    shared = client.submit(_share, context, key=f"classgrade-context-{run}", pure=False)
    dispatch = _Dispatcher(client, grade, shared, tasks, run,
                           client.run_on_scheduler(_allowed_failures))
    client.subscribe_topic("all", dispatch.hear)
    try:
        dispatch.hand_out()
        stalled = False  # the cluster has no running worker (said once, until one runs)
        while dispatch.busy():
            if stalled != (not dispatch.running):
                stalled = not stalled
                say(_no_worker_line(client) if stalled
                    else f"{dispatch.running} Dask worker(s) running: grading goes on")
            news = []
            try:  # a joining worker runs soon after it is announced: look again shortly
                news.append(dispatch.news.get(
                    timeout=STARTING_SECONDS if dispatch.joining else WATCH_SECONDS))
                while True:
                    news.append(dispatch.news.get_nowait())
            except queue.Empty:
                pass
            ready: list[Outcome] = []
            for kind, item in news:
                if kind == "done":
                    ready += filter(None, [dispatch.outcome(item)])
                elif item["action"] == "remove-worker":
                    ready += dispatch.lost(item)
                else:
                    dispatch.joined(item)
            dispatch.hand_out()  # a worker's arrival is news too (``hear``)
            for i, outcome in enumerate(ready):
                outcome.more = i + 1 < len(ready) or not dispatch.news.empty()
                yield outcome
    finally:
        client.unsubscribe_topic("all")
        for future in dispatch.placed.values():
            future.cancel()
        shared.release()
