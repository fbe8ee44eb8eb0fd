"""The class grader's Dask dispatch (nmautils.course.classgrade.scheduling) when workers are lost.

Dask runs the task of a lost worker again on another worker, even one busy with another task, and
counts that worker's next death against both. The grader must not let a submission that kills its
workers take an innocent student's task down with it: here one student's first worker is lost
(0.2 s into the task) while the poison submission (it ends its worker 0.6 s after it starts) runs
on the other one. Dask alone would queue that student's task behind the poison and, when one
death is allowed, fail it with the poison's next death. A worker of two threads that dies running
two tasks cannot say whose task ended it: neither is charged, each runs alone next. A cluster left
without workers stalls the class, with a line for the instructor, and what arrived is still
handed over.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import dask
import distributed  # its defaults join Dask's config before the tests change it
from lost_workers import lose_workers

from nmautils.course.classgrade import scheduling
from nmautils.course.classgrade.worker import ClassContext, SubmissionTask
from nmautils.course.grading import SubmissionResult

STUDENTS = ["poison", "lost", "a", "b", "c"]
CONTEXT = ClassContext("none", b"", "")


@contextmanager
def _environment_kept():
    """Put this process's environment back afterwards (Dask's nannies write their workers'
    settings, ``OMP_NUM_THREADS``..., into it)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _grade(tmp_path, monkeypatch, allowed_failures: int, workers: int = 2, threads: int = 1,
           students: list[str] = STUDENTS) -> dict:
    """``{student: outcome}`` of grading ``students`` with ``lose_workers`` on an embedded
    cluster of ``workers`` workers of ``threads`` threads each."""
    monkeypatch.setenv("NMAUTILS_LOST_MARKERS", str(tmp_path))  # the workers inherit it
    tasks = [SubmissionTask(student) for student in students]
    with _environment_kept(), \
            dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures,
                             **scheduling.EMBEDDED_DASK_CONFIG}), \
            distributed.LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                                     dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        client.run(importlib.import_module, "lost_workers")  # both tasks then start at once
        outcomes = list(scheduling.run_on_dask(client, CONTEXT, tasks, "lost",
                                               grade=lose_workers))
    assert sorted(o.student for o in outcomes) == sorted(students)  # each once
    assert (tmp_path / "lost").exists() == ("lost" in students)  # its first worker was lost
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


def test_a_worker_of_two_threads_charges_nobody_and_runs_each_task_alone(tmp_path, monkeypatch):
    """The poison and "slow" (it takes longer than the poison needs) share the only worker, of
    two threads, which the poison ends: neither is charged. Sent again side by side, "slow"
    would die with the poison a second time and, one death allowed, be failed; sent each to the
    worker alone, only the poison's deaths count."""
    outcomes = _grade(tmp_path, monkeypatch, allowed_failures=1, workers=1, threads=2,
                      students=["poison", "slow", "a"])
    poison = outcomes.pop("poison")
    assert poison.result.status == "failed" and "died 2 times" in _deaths(poison), poison
    assert {o.result.status for o in outcomes.values()} == {"graded"}, outcomes


def _worker(address: str, markers: Path) -> subprocess.Popen:
    """A ``dask worker`` of one thread and no nanny: when it dies, nothing replaces it."""
    harness = str(Path(__import__("lost_workers").__file__).parent)
    env = {**os.environ, "NMAUTILS_LOST_MARKERS": str(markers),
           "PYTHONPATH": os.pathsep.join(filter(None, [harness, os.environ.get("PYTHONPATH")])),
           **scheduling.dask_environment_variables()}
    return subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                             "--nthreads", "1", "--no-nanny", "--no-dashboard"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_cluster_without_workers_stalls_says_so_and_records_what_arrived(tmp_path):
    """No worker at first: the grader says it waits, and grades once one joins. The poison then
    ends the only worker: its failure is handed over while no worker is there (the next worker
    starts when it is, or after 120 s), and the last student waits for that worker."""
    said: list[str] = []
    outcomes = []
    workers: list[subprocess.Popen] = []
    lock = threading.Lock()
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://",
                                     host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        address = cluster.scheduler_address

        def start_worker(number: int) -> None:
            with lock:
                if len(workers) < number:
                    workers.append(_worker(address, tmp_path))

        def say(line: str) -> None:
            said.append(line)
            if len(said) == 1:
                start_worker(1)
                backstop.start()

        backstop = threading.Timer(120, start_worker, [2])  # when the failure waits for a worker
        try:
            for outcome in scheduling.run_on_dask(client, CONTEXT, [SubmissionTask("poison"),
                                                  SubmissionTask("a")], "none", grade=lose_workers,
                                                  say=say):
                outcomes.append((outcome, len(client.nthreads())))
                start_worker(2)
        finally:
            backstop.cancel()
            for worker in workers:
                worker.kill()
                worker.wait()
    assert [o.student for o, _ in outcomes] == ["poison", "a"], outcomes
    (poison, workers_then), (a, _) = outcomes
    assert poison.result.status == "failed" and "died 1 times" in _deaths(poison), poison
    assert workers_then == 0, "the poison's failure waited for a worker"
    assert a.result.status == "graded", a
    stalled = f"no Dask worker is running on {address}: "
    assert [line.startswith(stalled) for line in said] == [True, False, True, False], said
    assert said[1] == said[3] == "1 Dask worker(s) running: grading goes on", said


class _Future:
    """The parts of a ``distributed.Future`` the dispatcher uses."""

    def __init__(self, key: str, student: str):
        self.key, self.student, self.status = key, student, "pending"

    def add_done_callback(self, callback) -> None:
        pass

    def cancel(self) -> None:
        self.status = "cancelled"

    def result(self, timeout=None):
        return SubmissionResult(self.student), {}


class _Client:
    """A cluster of named one-thread workers that the test adds and removes at will."""

    def __init__(self, *workers: str):
        self.workers = dict.fromkeys(workers, 1)
        self.sent: list[tuple[str, str]] = []  # (student, worker) of every task sent
        self.futures: dict[str, _Future] = {}
        self.scheduler = SimpleNamespace(ncores_running=lambda: dict(self.workers))

    def nthreads(self) -> dict[str, int]:
        return dict(self.workers)

    def sync(self, function):
        return function()

    def submit(self, grade, shared, task, *, key, workers, allow_other_workers, pure):
        assert workers and not allow_other_workers
        self.sent.append((task.student, workers[0]))
        self.futures[task.student] = future = _Future(key, task.student)
        return future


def _dispatcher(client: _Client, *students: str, allowed: int = 1):
    tasks = [SubmissionTask(student) for student in students]
    dispatch = scheduling._Dispatcher(client, None, None, tasks, "run", allowed)
    dispatch.hand_out()
    return dispatch


def _death(dispatch, worker: str, *students: str) -> list:
    return dispatch.lost({"action": "remove-worker", "worker": worker, "expected": False,
                          "processing-tasks": [k for k, s in dispatch.sent.items()
                                               if s.task.student in students]})


def test_a_lost_workers_task_is_sent_again_only_once_its_death_is_counted():
    """The worker of p is gone from the cluster before its event arrives; the free thread goes to
    the next student meanwhile. Sent on at once, p could end that worker too, with nobody (or an
    innocent student) charged."""
    client = _Client("w1", "w2")
    dispatch = _dispatcher(client, "p", "y", "z")
    assert client.sent == [("p", "w1"), ("y", "w2")]
    del client.workers["w1"]
    client.futures["y"].status = "finished"
    assert dispatch.outcome(client.futures["y"]).result.status == "graded"
    dispatch.hand_out()
    assert client.sent[2:] == [("z", "w2")]  # not p
    assert _death(dispatch, "w1", "p") == []  # one death allowed
    assert dispatch.deaths == {"p": 1}
    client.futures["z"].status = "finished"
    dispatch.outcome(client.futures["z"])
    dispatch.hand_out()
    assert client.sent[3:] == [("p", "w2")]


def test_a_result_lost_with_its_worker_waits_for_the_event_and_is_made_again():
    """y finished, then its worker was lost before the result was fetched: no error, no wait for
    a result that is gone; its worker's event sends it again, uncharged."""
    client = _Client("w1")
    dispatch = _dispatcher(client, "y")
    del client.workers["w1"]
    client.futures["y"].status = "finished"
    assert dispatch.outcome(client.futures["y"]) is None
    dispatch.hand_out()
    assert client.sent == [("y", "w1")]
    assert _death(dispatch, "w1") == [] and not dispatch.deaths
    client.workers["w2"] = 1
    dispatch.hand_out()
    assert client.sent == [("y", "w1"), ("y", "w2")]
    client.futures["y"].status = "finished"
    assert dispatch.outcome(client.futures["y"]).result.status == "graded"
    dispatch.hand_out()
    assert not dispatch.busy() and len(client.sent) == 2
