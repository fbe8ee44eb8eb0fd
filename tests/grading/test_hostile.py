"""Hostile submissions cannot forge a grade or touch anything of the instructor's.

Every case of the catalogues (``tests/harness/hostile_catalogue.py``, ``hostile_verdicts.py``,
``hostile_sandbox.py``) is the first answer cell of an otherwise blank submission of tutorial 1,
graded together with one honest student by the class grader (three workers, sandboxed kernels),
except the verdict attacks that plain ``nbgrader autograde`` grades (``PLAIN_CASES``, one per
layer of the verdict: both graders run the same ``GuardedExecute``). The escapes that change
nothing the others meet (``ESCAPES``: reading, writing, the network, processes that outlive
grading) share one submission, ``every_escape``, which tries each apart. The test plants a
loopback TCP server and unique markers, then checks: no hostile submission scores a point;
nothing was read or written outside the scratch folder; no connection reached the server; no
process of a submission is still running; the honest student's full marks and the gradebook are
untouched.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from grading_harness import gradebook_auto_scores, grading_environment
from hostile_catalogue import ASSIGNMENT, CELL_TIMEOUT, ESCAPES, FIRST_ANSWER, SUBMISSION_TIMEOUT
from hostile_catalogue import CATALOGUE as BASE_CATALOGUE
from hostile_sandbox import SANDBOX_CASES
from hostile_verdicts import PLAIN_CASES, VERDICT_CASES

from nmautils.course import classgrade, notebooks, sandbox
from nmautils.course.build import source_path
from nmautils.course.grading import REPO_ROOT, generated_release

HONEST = "zz_honest"
#: Every hostile case, by kind of attack.
CATALOGUE = (*BASE_CATALOGUE, *(c for c in VERDICT_CASES if c.name not in PLAIN_CASES),
             *SANDBOX_CASES)


class _Listener:
    """A loopback TCP server that counts every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def _processes_with(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{entry}: {cmdline[:120]}")
    return found


@dataclass
class HostileRun:
    tmp: Path
    out: Path
    submitted: Path
    grades: dict[str, classgrade.SubmissionResult]
    connections: int
    running_after: list[str]
    running_later: list[str]
    pwned: list[str]
    gradebook_scores: dict[str, float] = field(default_factory=dict)

    def outputs(self, student: str) -> str:
        path = self.out / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        nb = notebooks.read(path)
        return "\n".join(str(o) for c in nb.cells for o in c.get("outputs", []))


def _pwned_files(roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        if root.is_dir():
            found += [str(p) for p in root.rglob("PWNED-*")]
    found += [str(p) for p in Path("/tmp").glob("PWNED-*")]
    return found


@pytest.fixture(scope="session")
def hostile_run():
    if not sandbox.sandbox_available():
        pytest.fail("no sandbox can be made on this machine: " + sandbox._probe())
    marker = f"hostile-{uuid.uuid4().hex}"
    source = notebooks.read(source_path(ASSIGNMENT))
    release = generated_release(ASSIGNMENT)
    listener = _Listener()
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp_name:
        tmp = Path(tmp_name)
        submitted, out = tmp / "submitted", tmp / "out"
        victim = submitted / HONEST / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        for case in CATALOGUE:
            code = case.code.format(repo=REPO_ROOT, out=out, submitted=submitted, victim=victim,
                                    port=listener.port, marker=marker, case=case.name)
            nb = notebooks.fill_submission(release, source, replace={FIRST_ANSWER: code},
                                           blank=tuple(g for g in notebooks.answer_tests(source)
                                                       if g != FIRST_ANSWER))
            notebooks.write(nb, submitted / case.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        notebooks.write(notebooks.fill_submission(release, source), victim)
        try:
            with grading_environment():
                result = classgrade.grade_class(ASSIGNMENT, submitted, out, workers=3,
                                                timeout=CELL_TIMEOUT,
                                                submission_timeout=SUBMISSION_TIMEOUT,
                                                guard_settings={"memory_limit_gb": 2.0})
            running_after = _processes_with(marker)
            time.sleep(6)  # the detached rewriter would strike 4 s after it started
            running_later = _processes_with(marker)
        finally:
            listener.close()
        pwned = _pwned_files([REPO_ROOT / "source", REPO_ROOT / "release", out, submitted])
        run = HostileRun(tmp, out, submitted, {g.student: g for g in result.grades},
                         listener.connections, running_after, running_later, pwned,
                         gradebook_auto_scores(out / "gradebook.db"))
        yield run
        for path in pwned:  # never leave a planted file behind, even when the test fails
            Path(path).unlink(missing_ok=True)


def test_catalogue_covers_every_attack_group():
    groups = {c.group for c in CATALOGUE}
    assert len(CATALOGUE) - 1 + len(ESCAPES) >= 25  # every_escape tries each of ESCAPES
    assert len({c.name for c in CATALOGUE}) == len(CATALOGUE)
    for needed in ("hiding or swallowing test failures", "network", "fork bomb",
                   "filling the disk", "sleeping past the deadline",
                   "processes outliving grading", "write the gradebook, source or release",
                   "read solutions, hidden tests, other submissions, gradebook",
                   "forging a verdict", "flooding the grader with output"):
        assert any(needed in g for g in groups), needed


@pytest.mark.parametrize("case", [c.name for c in CATALOGUE])
def test_hostile_blank_submission_scores_nothing(hostile_run, case):
    grade = hostile_run.grades[case]
    assert grade.score == 0, (grade.status, grade.cells, grade.messages)
    assert hostile_run.gradebook_scores.get(case, 0.0) == 0.0


@pytest.mark.parametrize("case", [c.name for c in CATALOGUE])
def test_hostile_code_reads_nothing_outside_its_scratch_folder(hostile_run, case):
    # what the case printed (a traceback quotes its source, which spells the word too)
    path = hostile_run.out / "autograded" / case / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    printed = [line for cell in notebooks.read(path).cells for o in cell.get("outputs", [])
               if o.get("output_type") == "stream" for line in o.get("text", "").splitlines()]
    assert not [line for line in printed if line.startswith("FOUND")], printed[:5]


def test_every_escape_ran_to_its_end(hostile_run):
    # the escapes share one submission: each must have run, not stopped at a mistake of its own
    printed = hostile_run.outputs("every_escape")
    assert [name for name in ESCAPES if f"tried {name}" not in printed] == [], printed[-2000:]


def test_nothing_written_outside_the_scratch_folders(hostile_run):
    assert hostile_run.pwned == []
    assert not any(p.name.startswith("fill-") for p in hostile_run.tmp.rglob("*"))


def test_no_network_connection_reached_the_host(hostile_run):
    assert hostile_run.connections == 0


def test_no_submission_process_outlives_its_grading(hostile_run):
    assert hostile_run.running_after == []
    assert hostile_run.running_later == []


def test_honest_student_keeps_full_marks(hostile_run):
    grade = hostile_run.grades[HONEST]
    assert grade.status == "graded", grade.messages
    assert grade.score == grade.max_score > 0, grade.cells
    assert hostile_run.gradebook_scores[HONEST] == grade.max_score


def test_grading_refuses_without_a_sandbox(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    sandbox._probe.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="--no-sandbox"):
            classgrade.grade_class(ASSIGNMENT, tmp_path, tmp_path / "out")
        assert not (tmp_path / "out").exists()
        assert classgrade.main(ASSIGNMENT, str(tmp_path), str(tmp_path / "out"), 1, None,
                               False) == 2
    finally:
        sandbox._probe.cache_clear()


def test_a_submission_gets_no_more_than_its_time_budget(hostile_run):
    grade = hostile_run.grades["slow_stubborn_cells"]
    # the kernel start, the last interrupted cell and the restart may add a little
    assert grade.seconds < SUBMISSION_TIMEOUT + 3 * CELL_TIMEOUT + 30, grade.seconds


def test_output_is_capped_per_cell_and_notebook(hostile_run):
    graded = (hostile_run.out / "autograded" / "huge_display_data" / ASSIGNMENT
              / f"{ASSIGNMENT}.ipynb")
    assert graded.stat().st_size < 40 * 2**20, graded.stat().st_size
    assert "was dropped" in hostile_run.outputs("huge_display_data")

