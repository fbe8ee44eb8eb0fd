"""Benchmark: class grading on Dask - cost per submission, the sandbox's and the scheduler's
share, scaling from one worker to two, and what a cohort takes.

    python bench/bench_classgrade.py [--quick]

Every kernel gets one thread (``OMP_NUM_THREADS=1`` and its kin, which
:func:`nmautils.course.grading.thread_budget` respects), as on a cluster where each worker
process owns a core. Figures (small surrogate, the course's cell timeout):

- ``classgrade_kernel_start``: starting a sandboxed kernel and importing nmautils and torch in
  it, the fixed part of every submission (the note gives the same unsandboxed); seconds, info;
- ``classgrade_s_per_submission_<assignment>``: seconds a worker spends on one submission of
  each graded assignment (a full and a blank one, graded in this process), all of it: copying the
  template course, intake, nbgrader, kernel start, cells, feedback-free result; info;
- ``classgrade_sandbox_overhead``: the same tutorial 1 submissions graded with and without the
  bubblewrap sandbox, alternately: sandboxed / unsandboxed seconds (goal <= 1.15);
- ``classgrade_scheduler_overhead``: the round trip of a task through the class grader's own Dask
  path (the shared context as a dependency, a submission's notebook in, an autograded notebook
  back, one task per worker thread) with a function that grades nothing, as a share of a
  tutorial 1 submission's seconds (goal <= 0.01);
- ``classgrade_record_ms``: what the grader spends recording one result (files, record,
  gradebook transaction); ``classgrade_reports_ms_2000``: replacing grades.csv and report.txt
  for 2,000 students (done only when no other result is waiting); info;
- ``classgrade_speedup_2_workers``: grading the same tutorial 1 submissions on an embedded
  cluster of one worker process and of two, both up at once and used in turn (after one warm-up
  task per worker), one thread per kernel in both (goal >= 1.8); without ``--quick`` also
  ``classgrade_speedup_2_workers_shared_cores``: the same with ``thread_budget``'s default
  (one worker's kernels take every core), info;
- ``classgrade_parallel_ceiling``: the machine's own speed-up from one process to two, for
  kernel-like work without the grader (:func:`parallel_ceiling`); info;
- ``classgrade_speedup_of_ceiling``: the speed-up above / that ceiling (goal >= 0.9): what the
  grader itself loses, whatever the machine;
- ``classgrade_hours_<cores>``: 2,000 students x the graded assignments on 2, 64 and 512 cores,
  projected from the figures above (see README, "Grading a cohort").
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import emit, interleaved, standard_main  # noqa: E402

from nmautils.course import build, classgrade, grading, notebooks, sandbox  # noqa: E402
from nmautils.course.classgrade import recording, reports, scheduling  # noqa: E402
from nmautils.course.classgrade.intake import pack_submission  # noqa: E402
from nmautils.course.classgrade.worker import SubmissionTask  # noqa: E402
from nmautils.course.grading import (  # noqa: E402
    THREAD_VARIABLES,
    SubmissionResult,
    ensure_tools_on_path,
    generated_release,
)

ENV = {**build.EXECUTION_ENV, "NMAUTILS_SURROGATE_SIZE": "small"}
ASSIGNMENTS = ("tutorial1_decoding", "tutorial2_encoding", "tutorial3_backprop",
               "assignment3_interpret")
STUDENTS, CORES = 2000, (2, 64, 512)


def threads_per_kernel(n: int | None):
    """Kernels started inside get ``n`` threads each; ``None``: ``thread_budget``'s default
    (the cores shared among the kernels that run at once)."""
    return grading.environment({k: None if n is None else str(n) for k in THREAD_VARIABLES})


def write_class(assignment: str, folder: Path, n: int) -> Path:
    """``n`` submissions of ``assignment`` under ``folder``, full and blank in turn."""
    source = notebooks.read(build.source_path(assignment))
    release = generated_release(assignment)
    full = notebooks.fill_submission(release, source)
    for i in range(n):
        notebooks.write(full if i % 2 == 0 else release,
                        folder / f"s{i:03d}" / assignment / f"{assignment}.ipynb")
    return folder


def kernel_start(repeats: int) -> dict[bool, float]:
    """Seconds to start a kernel, import nmautils and torch, and stop it (best of ``repeats``),
    sandboxed and not."""
    import nbclient
    import nbformat

    from nmautils.course.sandbox import SandboxedKernelManager

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import nmautils, torch")])
    best = {True: float("inf"), False: float("inf")}
    for _ in range(repeats):
        for flag in best:
            with tempfile.TemporaryDirectory() as tmp:
                manager = SandboxedKernelManager(kernel_name="python3", sandbox=flag)
                start = time.perf_counter()
                nbclient.NotebookClient(nb, km=manager,
                                        resources={"metadata": {"path": tmp}}).execute()
                best[flag] = min(best[flag], time.perf_counter() - start)
    return best


def _nothing(context, task):
    """A task that grades nothing: the result of a submission, its notebook sent back."""
    return SubmissionResult(task.student), {f"autograded/{k}": v for k, v in task.files.items()}


def _tasks(folder: Path, assignment: str, prefix: str = "") -> list[SubmissionTask]:
    return [SubmissionTask(student=prefix + p.name,
                           files=pack_submission(p, assignment))
            for p in sorted(folder.iterdir())]


def _drain(client, context, tasks, grade=None) -> float:
    """Seconds to run ``tasks`` through the class grader's Dask path."""
    start = time.perf_counter()
    kwargs = {"grade": grade} if grade is not None else {}
    for outcome in scheduling.run_on_dask(client, context, tasks, f"bench{time.time_ns()}",
                                          **kwargs):
        assert outcome.result is not None, outcome.error
    return time.perf_counter() - start


def scaling(n: int, rounds: int, overhead_tasks: int) -> tuple[float, float | None, dict]:
    """``(speed-up from one worker to two, scheduler seconds per task, median seconds by
    workers)``: both clusters stay up and grade the same ``n`` submissions in turn, ``rounds``
    times (1 2, 2 1, ...), so that both see the same load; the speed-up is the median of the
    rounds' ratios. No scheduler figure (None) when ``overhead_tasks`` is 0."""
    assignment = ASSIGNMENTS[0]
    with tempfile.TemporaryDirectory(prefix="bench-classgrade-") as tmp:
        tmp = Path(tmp)
        folder = write_class(assignment, tmp / "submitted", n)
        template = classgrade.make_template(assignment, tmp / "template", REPO)
        context = classgrade.make_context(template, assignment)
        with scheduling.dask_client(1) as one, scheduling.dask_client(2) as two:
            clients = {1: one, 2: two}
            for workers, client in clients.items():  # warm-up: one task per worker
                _drain(client, context, _tasks(folder, assignment, "warm-")[:workers])
            seconds, ratios = interleaved(
                {w: (lambda c=c: _drain(c, context, _tasks(folder, assignment)))
                 for w, c in clients.items()}, rounds)
            per_task = None
            if overhead_tasks:
                first = _tasks(folder, assignment)[0]
                many = [SubmissionTask(student=f"t{i}", files=first.files)
                        for i in range(overhead_tasks)]
                _drain(one, context, many[:2], _nothing)
                per_task = _drain(one, context, many, _nothing) / overhead_tasks
    return ratios[2], per_task, seconds


#: The work of :func:`parallel_ceiling`: what a grading kernel does, without the grader around it
#: (start Python, import torch and nmautils, train a small network on one thread).
CEILING_WORK = """
import torch, nmautils.train
torch.set_num_threads(1)
torch.manual_seed(0)
x, w = torch.randn(256, 512), torch.randn(512, 512, requires_grad=True)
for _ in range(400):
    (x @ w).relu().sum().backward()
"""


def parallel_ceiling(rounds: int) -> tuple[float, dict[str, float]]:
    """``(the machine's own speed-up from one process to two, median seconds of each)``: two
    runs of :data:`CEILING_WORK` one after the other against two at once, alternated. It bounds
    what two grading workers can gain here (two virtual cores may share one physical core, its
    caches or its memory bandwidth)."""
    import subprocess

    env = {**os.environ, **{k: "1" for k in THREAD_VARIABLES}}

    def start():
        return subprocess.Popen([sys.executable, "-c", CEILING_WORK], env=env)

    def one_after_the_other():
        for _ in range(2):
            assert start().wait() == 0

    def both_at_once():
        procs = [start(), start()]
        assert all(p.wait() == 0 for p in procs)

    one_after_the_other()  # warm-up: page cache
    seconds, ratios = interleaved({"sequential": one_after_the_other, "parallel": both_at_once},
                                  rounds)
    return ratios["parallel"], seconds


def recording_cost(grade: SubmissionResult, files: dict[str, bytes], n: int
                   ) -> tuple[float, float]:
    """``(seconds to record one result, seconds to replace the reports of 2,000 students)``."""
    assignment = ASSIGNMENTS[0]
    with tempfile.TemporaryDirectory(prefix="bench-record-") as tmp:
        tmp = Path(tmp)
        template = classgrade.make_template(assignment, tmp / "template", REPO)
        recorder = recording.Recorder(tmp / "out", assignment, "bench")
        try:
            recorder.open_gradebook(template, [])
            key = recording.ResumeKey("files", "assignment", "settings")
            start = time.perf_counter()
            for i in range(n):
                one = copy.deepcopy(grade)
                one.student = f"s{i:04d}"
                recorder.record(one, files, key)
            per_record = (time.perf_counter() - start) / n
        finally:
            recorder.close()
        everyone = []
        for i in range(STUDENTS):
            one = copy.deepcopy(grade)
            one.student = f"s{i:04d}"
            everyone.append(one)
        result = reports.ClassResult(assignment, everyone, 1.0, 1, graded=[g.student for g in
                                                                           everyone])
        start = time.perf_counter()
        recording.atomic_write(tmp / "grades.csv", reports.csv_text(result).encode())
        recording.atomic_write(tmp / "report.txt", reports.report(result).encode())
        return per_record, time.perf_counter() - start


def sandbox_cost(n: int, repeats: int) -> tuple[float, dict[str, float]]:
    """``(sandboxed / unsandboxed seconds, seconds per submission of each)``: ``n`` tutorial 1
    submissions graded by one worker, alternately with and without the sandbox."""
    assignment = ASSIGNMENTS[0]
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        tmp = Path(tmp)
        write_class(assignment, tmp / "submitted", n)

        def grade(flag: bool):
            return lambda: classgrade.grade_class(assignment, tmp / "submitted",
                                                  tmp / f"out-{flag}", workers=1, sandbox=flag,
                                                  regrade=True)

        grade(True)()  # warm-up: imports, page cache
        seconds, ratios = interleaved({"plain": grade(False), "sandboxed": grade(True)}, repeats)
    return 1 / ratios["sandboxed"], {k: v / n for k, v in seconds.items()}


def per_submission(assignment: str) -> tuple[float, SubmissionResult, dict[str, bytes]]:
    """Mean worker seconds per submission of ``assignment`` (a full and a blank one), with the
    full one's result and files."""
    with tempfile.TemporaryDirectory(prefix="bench-classgrade-") as tmp:
        tmp = Path(tmp)
        write_class(assignment, tmp / "submitted", 2)
        result = classgrade.grade_class(assignment, tmp / "submitted", tmp / "out", workers=1)
        graded = tmp / "out" / "autograded" / "s000" / assignment
        files = {f"autograded/{p.name}": p.read_bytes() for p in graded.iterdir()}
        return (sum(g.seconds for g in result.grades) / len(result.grades), result.grades[0],
                files)


def projection(seconds: dict[str, float], efficiency: float, overhead: float,
               record_s: float, cores: int) -> float:
    """Hours to grade :data:`STUDENTS` x the assignments of ``seconds`` on ``cores`` cores: one
    worker process per core at the measured parallel efficiency, each task longer by the
    scheduler's share; at least the grader's own recording time (it records one result at a
    time)."""
    work = sum(STUDENTS * s * (1 + overhead) for s in seconds.values())
    recording_s = STUDENTS * len(seconds) * record_s
    return max(work / (cores * efficiency), recording_s) / 3600


def run(quick: bool, only: str | None) -> None:
    if only is not None and not (only.startswith("classgrade") or "classgrade".startswith(only)):
        return
    if not sandbox.sandbox_available():
        emit("classgrade_kernel_start", None, "s", note="no sandbox here")
        return
    ensure_tools_on_path()
    os.environ.update(ENV)
    with threads_per_kernel(1):
        measure(quick)
    if not quick:
        with threads_per_kernel(None):
            shared, _, timed = scaling(4, 2, 0)
        emit("classgrade_speedup_2_workers_shared_cores", shared, "x",
             note=f"thread_budget's default: one worker's kernels take all {os.cpu_count()} cores "
                  f"({timed[1]:.1f} s), two workers' one each ({timed[2]:.1f} s)")


def measure(quick: bool) -> None:
    """Every figure but the shared-cores speed-up, under the caller's thread settings."""
    starts = kernel_start(1 if quick else 3)
    emit("classgrade_kernel_start", starts[True], "s",
         note=f"sandboxed; unsandboxed {starts[False]:.2f} s (kernel, nmautils and torch)")
    seconds = {}
    sample = None
    for assignment in ASSIGNMENTS[:1] if quick else ASSIGNMENTS:
        seconds[assignment], grade, files = per_submission(assignment)
        sample = sample or (grade, files)
        emit(f"classgrade_s_per_submission_{assignment}", seconds[assignment], "s",
             note="a full and a blank submission, graded in this process, one thread")
    n, repeats = (2, 2) if quick else (2, 3)
    ratio, each = sandbox_cost(n, repeats)
    emit("classgrade_sandbox_overhead", ratio, "x", "<=1.15",
         note=f"{ASSIGNMENTS[0]}: {each['sandboxed']:.2f} s sandboxed, {each['plain']:.2f} s "
              f"not, per submission ({n} submissions, {repeats} alternating runs)")
    rounds = 2 if quick else 5  # a round's ratio on this shared machine varies by +-0.2
    speedup, per_task, timed = scaling(4, rounds, 20 if quick else 50)
    overhead = per_task / seconds[ASSIGNMENTS[0]]
    emit("classgrade_scheduler_overhead", overhead, "share", "<=0.01",
         note=f"{per_task * 1000:.1f} ms per task / {seconds[ASSIGNMENTS[0]]:.2f} s per "
              f"{ASSIGNMENTS[0]} submission")
    record_s, reports_s = recording_cost(*sample, 20 if quick else 50)
    emit("classgrade_record_ms", record_s * 1000, "ms", note="files, record, gradebook")
    emit("classgrade_reports_ms_2000", reports_s * 1000, "ms",
         note=f"grades.csv and report.txt of {STUDENTS} students")
    emit("classgrade_speedup_2_workers", speedup, "x", ">=1.8",
         note=f"{ASSIGNMENTS[0]}: {timed[1]:.1f} s with one worker, {timed[2]:.1f} s with two "
              f"(medians of {rounds} alternating rounds); one thread per kernel in both, as cluster "
              f"workers that own a core each ({os.cpu_count()} cores here, shared with "
              f"whatever else runs)")
    ceiling, ceiling_s = parallel_ceiling(2 if quick else 3)
    emit("classgrade_parallel_ceiling", ceiling, "x",
         note=f"the machine alone: two kernel-like processes one after the other "
              f"{ceiling_s['sequential']:.1f} s, at once {ceiling_s['parallel']:.1f} s")
    emit("classgrade_speedup_of_ceiling", speedup / ceiling, "share", ">=0.9",
         note="the grader's speed-up from one worker to two / the machine's own: what the "
              "grader loses to its own overheads")
    efficiency = min(1.0, speedup / 2)
    for cores in CORES:
        hours = projection(seconds, efficiency, overhead, record_s, cores)
        emit(f"classgrade_hours_{cores}", hours, "h",
             note=f"{STUDENTS} students x {len(seconds)} assignments, {cores} worker processes "
                  f"at {efficiency:.2f} parallel efficiency")


if __name__ == "__main__":
    standard_main(run, __doc__)
