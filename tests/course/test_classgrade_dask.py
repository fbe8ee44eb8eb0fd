"""Class grading on Dask (nmautils.course.classgrade): workers lost, poison, grader killed, resume.

One class of tutorial1_decoding submissions (full, blank, crashing, hostile, poison) is
graded twice:

- on a real cluster that this module starts (``dask scheduler`` and ``dask worker`` processes on
  127.0.0.1, one thread each, ``allowed-failures`` 2). The workers load
  ``tests/harness/poison_preload.py``, which makes a worker process exit whenever it starts the
  student "poison"; the test also kills one worker (nanny and process, by PID) while it grades
  another student, and starts a replacement. Every student must be recorded exactly once, the
  killed student by another worker, poison as ``failed``;
- by the ``grade`` command with its embedded cluster (``--workers 2``), killed with SIGKILL once
  some results are recorded; one recorded student then changes their notebook, and the command
  runs again: it grades only that student and the unrecorded ones, and the gradebook's scores
  equal the cluster's (poison, harmless without the preload, gets full marks).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from grading_harness import (
    gradebook_auto_scores,
    grading_environment,
    source_and_release,
    write_class,
)

from nmautils.course import classgrade, notebooks, sandbox
from nmautils.course.classgrade import recording, scheduling, worker
from nmautils.course.grading import REPO_ROOT, SubmissionResult

ASSIGNMENT = "tutorial1_decoding"
CELL_TIMEOUT = 10
BIN = Path(sys.executable).parent
PRELOAD = Path(__file__).resolve().parents[1] / "harness" / "poison_preload.py"
#: Seconds any one wait of this module may take before it fails instead of hanging CI.
PATIENCE = 180
# a loaded CI machine can take longer than Dask's default 30 s to connect (grader and workers,
# which inherit the variable)
os.environ.setdefault("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", f"{PATIENCE}s")
__import__("dask").config.refresh()


def _wait(what: str, ready, seconds: float = PATIENCE, step: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = ready()
        if found:
            return found
        time.sleep(step)
    raise AssertionError(f"gave up waiting for {what} after {seconds} s")


def _hostile_code(marker: str, port: int) -> str:
    """An answer that writes outside its folder and connects to a server on the host (and
    prints the settings it runs under)."""
    return f'''
import os, socket
print("SURROGATE", os.environ.get("NMAUTILS_SURROGATE_SIZE"))
print("HASHSEED", os.environ.get("PYTHONHASHSEED"))
for path in ["/tmp/{marker}", "{REPO_ROOT}/source/{marker}"]:
    try:
        open(path, "w").write("x")
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    print("CONNECTED")
except OSError as exc:
    print("NO NETWORK", type(exc).__name__)
'''


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """``(submitted folder, hostile marker, listening socket)`` of the class."""
    folder = tmp_path_factory.mktemp("class")
    marker = f"PWNED-dask-{uuid.uuid4().hex}"
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    with grading_environment():
        source, release = source_and_release(ASSIGNMENT)
    subs = {
        "full": notebooks.fill_submission(release, source),
        "blank": release,
        "crashing": notebooks.fill_submission(release, source,
                                              replace={"ex_train": "import os\nos._exit(1)"}),
        "hostile": notebooks.fill_submission(release, source,
                                             replace={"ex_mse": _hostile_code(
                                                 marker, listener.getsockname()[1])}),
        "poison": notebooks.fill_submission(release, source),
    }
    yield write_class(folder, ASSIGNMENT, subs), marker, listener
    listener.close()
    for path in (Path("/tmp") / marker, REPO_ROOT / "source" / marker):
        path.unlink(missing_ok=True)


class Cluster:
    """A scheduler and ``dask worker`` processes on 127.0.0.1, each in a session of its own."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "OPENBLAS_NUM_THREADS": "1",
                    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2",
                    **scheduling.dask_environment_variables()}  # as the README advises
        # the workers grade under the grader's settings, which the tasks carry
        self.env.pop("NMAUTILS_SURROGATE_SIZE", None)
        self.file = folder / "scheduler.json"
        self.processes: list[subprocess.Popen] = []
        self._start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(self.file)], "scheduler")
        self.address = _wait("the scheduler", lambda: self.file.is_file() and json.loads(
            self.file.read_text() or "{}").get("address"))

    def _start(self, command: list[str], log: str) -> subprocess.Popen:
        out = open(self.folder / f"{log}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=self.folder)
        out.close()
        self.processes.append(process)
        return process

    def add_worker(self) -> subprocess.Popen:
        n = len(self.processes)
        return self._start([str(BIN / "dask"), "worker", "--scheduler-file", str(self.file),
                            "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                            "--memory-limit", "0", "--no-dashboard",
                            "--local-directory", str(self.folder / f"worker{n}"),
                            "--preload", str(PRELOAD)], f"worker{n}")

    def close(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import Client

    made = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        made.add_worker()
        made.add_worker()
        with Client(made.address) as client:
            client.wait_for_workers(2, timeout=PATIENCE)
            yield made, client
    finally:
        made.close()


@pytest.fixture(scope="module")
def on_cluster(klass, cluster, tmp_path_factory):
    """The class graded on the cluster while one worker is killed: ``(result, out, killed)``
    with ``killed = (student, worker address)``."""
    submitted = klass[0]
    made, client = cluster
    out = tmp_path_factory.mktemp("on-cluster") / "out"
    found: dict = {}
    # poison last: the test picks its victim among the first workers before poison kills any
    # (a worker that dies takes every task it holds with it), and the class goes on around it
    order = ["blank", "crashing", "full", "hostile", "poison"]

    def grade():
        try:
            with grading_environment():
                found["result"] = classgrade.grade_class(
                    ASSIGNMENT, submitted, out, timeout=CELL_TIMEOUT, students=order,
                    scheduler=made.address)
        except BaseException as exc:  # handed to the test below
            found["error"] = exc

    # the workers' PIDs while every one can answer: a worker about to die of poison cannot
    pids = client.run(os.getpid)
    thread = threading.Thread(target=grade)
    thread.start()

    def victim():
        # a worker busy with a student other than poison for a second (its kernel is running)
        for address, keys in client.processing().items():
            for key in keys:
                if address in pids and str(key).startswith("grade-") and \
                        not str(key).startswith("grade-poison-"):
                    return address, str(key).split("-")[1]
        return None

    # before its first task the grader makes the template and runs the model answer, which a
    # loaded CI machine can stretch past PATIENCE
    address, student = _wait("a student being graded", victim, seconds=3 * PATIENCE, step=0.1)
    time.sleep(1.0)
    pid = pids[address]
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    made.add_worker()
    thread.join(PATIENCE * 2)
    assert not thread.is_alive(), "the class run did not finish"
    if "error" in found:
        raise found["error"]
    return found["result"], out, (student, address)


def _grade_command(submitted: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "nmautils.course", "grade", ASSIGNMENT, str(submitted),
            "--workers", "2", "--out", str(out), "--timeout", str(CELL_TIMEOUT),
            "--root", str(REPO_ROOT)]


@pytest.fixture(scope="module")
def embedded(klass, tmp_path_factory):
    """The ``grade`` command (embedded cluster) killed with SIGKILL once two results are
    recorded; one of those students then hands in a changed notebook, and the command runs
    again: ``(out, records before the kill, the changed student, second run's output)``."""
    folder = tmp_path_factory.mktemp("embedded")
    submitted, out = folder / "submitted", folder / "out"
    shutil.copytree(klass[0], submitted)
    records = out / "records"
    with grading_environment():
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        first = subprocess.Popen(_grade_command(submitted, out), env=env, cwd=REPO_ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        try:
            _wait("two recorded results", lambda: len(list(records.glob("*.json"))) >= 2
                  or first.poll() is not None)
            assert first.poll() is None, "the first run ended before it could be killed"
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            before = {p.stem: json.loads(p.read_text()) for p in records.glob("*.json")}
            # the grader's workers notice their parent is gone and end with their kernels
            _wait("the killed grader's workers to end",
                  lambda: not _session_alive(first.pid), seconds=60)
        finally:
            try:
                os.killpg(first.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        changed = sorted(before)[0]
        path = submitted / changed / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        nb = notebooks.read(path)
        nb.cells.append(notebooks.nbformat.v4.new_markdown_cell("handed in again"))
        notebooks.write(nb, path)
        second = subprocess.run(_grade_command(submitted, out), env=env, cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=PATIENCE * 2)
    assert second.returncode == 0, second.stdout + second.stderr
    return out, before, changed, second.stdout + second.stderr


def _session_alive(session: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == session:
                    return True
            except (ProcessLookupError, PermissionError):
                continue
    return False


# -- on the cluster --------------------------------------------------------------------------------
def test_every_student_is_recorded_exactly_once(on_cluster, klass):
    result, out, _ = on_cluster
    students = sorted(p.name for p in klass[0].iterdir())
    assert sorted(result.graded) == students and result.duplicates == 0
    assert result.not_graded == {}
    assert sorted(p.stem for p in (out / "records").glob("*.json")) == students


def test_a_killed_workers_student_is_graded_elsewhere(on_cluster):
    result, out, (student, address) = on_cluster
    record = json.loads((out / "records" / f"{student}.json").read_text())
    assert record["status"] == "graded", record["messages"]
    assert record["worker"] not in ("", address)


def test_a_submission_that_kills_its_workers_fails_and_the_class_goes_on(on_cluster):
    result, _, _ = on_cluster
    grades = {g.student: g for g in result.grades}
    poison = grades["poison"]
    assert poison.status == "failed"
    assert any("died 3 times" in m for m in poison.messages), poison.messages
    assert poison.score == 0 and poison.max_score == grades["full"].max_score > 0
    assert "1 failed" in classgrade.report(result)


def test_the_hostile_student_reaches_nothing(on_cluster, embedded, klass):
    _, marker, listener = klass
    with pytest.raises(BlockingIOError):
        listener.accept()
    assert not (Path("/tmp") / marker).exists()
    assert not (REPO_ROOT / "source" / marker).exists()
    for out in (on_cluster[1], embedded[0]):
        nb = notebooks.read(out / "autograded" / "hostile" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        assert "NO NETWORK" in printed and "CONNECTED" not in printed
        assert "SURROGATE small" in printed
        assert f"HASHSEED {os.environ.get('PYTHONHASHSEED')}\n" in printed


def test_results_come_back_as_files_and_the_report_says_how_it_went(on_cluster):
    result, out, _ = on_cluster
    report = (out / "report.txt").read_text()
    assert "submissions/minute" in report and "slowest: " in report
    assert result.dashboard.startswith("Dask dashboard: ")
    for student in ("full", "blank", "crashing", "hostile"):
        assert (out / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert not (out / "autograded" / "poison").exists()


# -- the grade command, killed and run again -------------------------------------------------------
def test_a_killed_grader_resumes_without_regrading(embedded):
    out, before, changed, output = embedded
    assert f"skipped {len(before) - 1} already graded" in output, output
    runs = {}
    for path in (out / "records").glob("*.json"):
        record = json.loads(path.read_text())
        runs[path.stem] = record["run"]
        if path.stem in before and path.stem != changed:
            assert record == before[path.stem], path.stem
    first_run = before[changed]["run"]
    assert len(runs) == 5 and runs[changed] != first_run
    assert sorted(s for s, run in runs.items() if run == first_run) == \
        sorted(s for s in before if s != changed)


def test_the_resumed_gradebook_has_the_clusters_scores(embedded, on_cluster):
    out = embedded[0]
    result, _, _ = on_cluster
    scores = gradebook_auto_scores(out / "gradebook.db")
    expected = {g.student: g.score for g in result.grades if g.student != "poison"}
    assert {s: v for s, v in scores.items() if s != "poison"} == expected
    # the crashing student loses only the exercise whose cell kills the kernel
    assert expected["full"] == scores["poison"] > expected["crashing"] > expected["blank"] == 0
    assert expected["hostile"] < expected["full"]
    assert gradebook_auto_scores(on_cluster[1] / "gradebook.db") == {**expected, "poison": 0.0}


# -- pieces, without grading -----------------------------------------------------------------------
def _key() -> recording.ResumeKey:
    return recording.ResumeKey("files", "assignment", "settings")


def test_a_second_result_for_a_student_is_not_recorded(tmp_path):
    recorder = recording.Recorder(tmp_path, ASSIGNMENT, "run")
    try:
        first = SubmissionResult("ada", cells={}, messages=["first"])
        assert recorder.record(first, {"autograded/a.ipynb": b"1"}, _key())
        assert not recorder.record(SubmissionResult("ada", messages=["second"]),
                                   {"autograded/a.ipynb": b"2"}, _key())
    finally:
        recorder.close()
    reread = recording.Recorder(tmp_path, ASSIGNMENT, "other")
    try:
        assert reread.load("ada")[0].messages == ["first"]
    finally:
        reread.close()
    assert (tmp_path / "autograded" / "ada" / ASSIGNMENT / "a.ipynb").read_bytes() == b"1"


def test_result_files_stay_inside_the_output_folder(tmp_path):
    recorder = recording.Recorder(tmp_path / "out", ASSIGNMENT, "run")
    try:
        for name in ("autograded/../../escape", "/etc/x", "records/ada.json", "autograded/"):
            with pytest.raises(ValueError, match="not a result file"):
                recorder.record(SubmissionResult("ada"), {name: b"x"}, _key())
    finally:
        recorder.close()
    assert not (tmp_path / "escape").exists()


def test_one_grader_writes_an_output_folder(tmp_path):
    recorder = recording.Recorder(tmp_path, ASSIGNMENT, "run")
    try:
        with pytest.raises(recording.OutputBusy, match="another grader"):
            recording.Recorder(tmp_path, ASSIGNMENT, "second")
    finally:
        recorder.close()
    recording.Recorder(tmp_path, ASSIGNMENT, "third").close()


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "grades.csv"
    recording.atomic_write(path, b"old")

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(recording.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        recording.atomic_write(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_a_worker_without_a_sandbox_refuses_the_task(monkeypatch):
    context = worker.ClassContext(assignment=ASSIGNMENT, template=b"", template_hash="none")
    task = worker.SubmissionTask(student="ada", files={})
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    sandbox._probe.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="--no-sandbox"):
            worker.grade_submission(context, task)
    finally:
        sandbox._probe.cache_clear()


def test_the_embedded_cluster_runs_without_dasks_profiler(monkeypatch):
    import dask
    import distributed

    seen = {}

    class Recorder:
        def __init__(self, *args, **kwargs):
            seen[type(self).__name__] = {k: dask.config.get(k)
                                         for k in scheduling.EMBEDDED_DASK_CONFIG}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(distributed, "LocalCluster", type("LocalCluster", (Recorder,), {}))
    monkeypatch.setattr(distributed, "Client", type("Client", (Recorder,), {}))
    with scheduling.dask_client(2):
        pass
    assert seen["LocalCluster"] == scheduling.EMBEDDED_DASK_CONFIG
    assert seen["LocalCluster"]["distributed.worker.profile.enabled"] is False


def test_the_readme_gives_cluster_workers_the_embedded_settings():
    readme = (REPO_ROOT / "README.md").read_text()
    for name, value in scheduling.dask_environment_variables().items():
        assert f"{name}={value}" in readme, name
