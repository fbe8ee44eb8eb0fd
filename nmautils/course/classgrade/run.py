"""The class run: intake, scheduling and recording put together (:func:`grade_class`), and the
``grade`` command (:func:`main`)."""

from __future__ import annotations

import copy
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .. import competition, redact
from ..grading import GradingFolder, SubmissionResult, resolve_root
from ..verdicts import GRADING_VARIABLES
from . import recording, reports, scheduling
from .intake import content_hash, find_students, pack_submission, zero_scores
from .worker import ClassContext, SubmissionTask, pack_template


def make_template(assignment: str, root: Path, course_root: Path | None = None) -> Path:
    """Generate ``assignment`` once into a course folder that every task copies, with the
    course's ``nbgrader_config.py`` (workers read the configuration from there)."""
    folder = GradingFolder(root, course_root)
    folder.add_source(assignment)
    folder.generate(assignment)
    folder.warm_caches(assignment)  # the model answer's kernel below reads the cache read-only
    shutil.copy2(folder.course_root / "nbgrader_config.py", Path(root) / "nbgrader_config.py")
    return Path(root)


def prime_references(template: Path, assignment: str, fixture_seed: int,
                     timeout: int | None = None, sandbox: bool = True,
                     course_root: Path | None = None) -> dict[str, dict]:
    """Compute, once for the class run, what the model answer reports in every hidden test of
    ``assignment`` on the fixtures of ``fixture_seed``; keep it in this process's cache and
    return it for the tasks.

    Returns
    -------
    dict
        ``{reference key: {test grade id: {name: record}}}`` for each notebook.
    """
    from .. import verdicts
    from ..guard import compute_references

    config = GradingFolder(template, course_root, timeout=timeout, sandbox=sandbox).config
    found = {}
    for path in sorted((Path(template) / "source" / assignment).glob("*.ipynb")):
        text = path.read_text()
        found[verdicts.reference_key(text, fixture_seed)] = verdicts.references_for(
            text, fixture_seed, lambda path=path: compute_references(path, fixture_seed, config,
                                                                     sandbox))
    return found


def _competition_seed(assignment: str, out: Path, given: int | None) -> tuple[int, bool]:
    """The run's competition seed and whether it was drawn: the one given, else the one an
    earlier run recorded in ``out`` (a resumed run ranks everyone on one held-out set), else a
    new one."""
    if given is not None:
        return competition.check_seed(given), False
    return recording.recorded_seed(out, assignment) or (competition.draw_seed(), True)


def make_context(template: Path, assignment: str, *, timeout: int | None = None,
                 submission_timeout: int | None = None, feedback: bool = False,
                 sandbox: bool = True, competition_seed: int | None = None,
                 guard_settings: dict | None = None, environment: dict | None = None,
                 course_root: Path | None = None) -> ClassContext:
    """What every task of a class run shares: the template packed, the model answer's values on
    a fixture seed drawn here (:func:`prime_references`), a new key for competition results.

    Parameters are those of :class:`~.worker.ClassContext`; ``environment`` defaults to this
    process's :data:`GRADING_VARIABLES`.
    """
    from ..guard import draw_fixture_seed

    fixture_seed = draw_fixture_seed()
    packed = pack_template(template)
    return ClassContext(
        assignment=assignment, template=packed, template_hash=hashlib.sha256(packed).hexdigest(),
        references=prime_references(template, assignment, fixture_seed, timeout, sandbox,
                                    course_root),
        fixture_seed=fixture_seed, timeout=timeout, submission_timeout=submission_timeout,
        feedback=feedback, sandbox=sandbox, competition_seed=competition_seed,
        competition_key=secrets.token_hex(16), guard_settings=dict(guard_settings or {}),
        environment=dict(environment if environment is not None else _environment()))


def _environment() -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in GRADING_VARIABLES}


class _Bookkeeping:
    """One class run's state: the results recorded (earlier and now), what is left, reports."""

    def __init__(self, recorder: recording.Recorder, template: Path, students: list[str],
                 version: str, settings_key: str, started: float):
        self.recorder, self.template, self.students = recorder, template, students
        self.version, self.settings_key, self.started = version, settings_key, started
        self.results: dict[str, SubmissionResult] = {}
        self.result = reports.ClassResult(recorder.assignment, [], 0.0, 1)

    def plan(self, submitted: Path, regrade: bool, retry_failed: bool) -> list[str]:
        """The students to grade: those without a record of the same key (all: ``regrade``)."""
        todo = []
        for student in self.students:
            files = pack_submission(submitted / student, self.recorder.assignment)
            found = None if regrade else self.recorder.load(student)
            if found is not None and found[1] == self.key(content_hash(files)) and \
                    not (retry_failed and found[0].status == "failed"):
                self.results[student] = found[0]
            else:
                todo.append(student)
        self.result.skipped, self.result.pending = len(self.results), len(todo)
        return todo

    def key(self, submission: str) -> recording.ResumeKey:
        return recording.ResumeKey(submission, self.version, self.settings_key)

    def take(self, outcome: scheduling.Outcome, submission: str) -> None:
        """Record one outcome (``submission``: hash of the files its task carried)."""
        self.result.pending -= 1
        if outcome.result is None:
            self.result.not_graded[outcome.student] = outcome.error
            return
        graded = outcome.result
        if graded.status == "failed":
            zero_scores(self.template, self.recorder.assignment, graded)
        if self.recorder.record(graded, outcome.files, self.key(submission)):
            self.results[graded.student] = graded
            self.result.graded.append(graded.student)
        else:
            self.result.duplicates += 1

    def failed(self) -> int:
        return sum(self.results[s].status == "failed" for s in self.result.graded)

    def write_reports(self) -> None:
        """Replace ``grades.csv`` and ``report.txt`` with what is recorded now."""
        out = self.recorder.out
        self.result.grades = [self.results[s] for s in self.students if s in self.results]
        self.result.seconds = time.perf_counter() - self.started
        recording.atomic_write(out / "grades.csv", reports.csv_text(self.result).encode())
        recording.atomic_write(out / "report.txt", reports.report(self.result).encode())

    def award(self, seed: int, drawn: bool) -> None:
        """The competition's bonus from every record (it needs everyone's result)."""
        assignment = self.recorder.assignment
        final = [copy.deepcopy(self.results[s]) for s in self.students if s in self.results]
        best = reports.award_competition(assignment, final, competition.fingerprint(seed))
        if assignment in competition.COMPETITIONS:
            for grade in final:
                self.recorder.gradebook.put(grade)
            recording.record_competition(assignment, seed, drawn, best, self.recorder.out)
        self.results.update({g.student: g for g in final})


def _progress(total: int, assignment: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"grading {assignment}", unit="submission",
                disable=not enabled or not total, file=sys.stderr, dynamic_ncols=True)


def grade_class(assignment: str, submitted: Path, out: Path, workers: int = 2,
                timeout: int | None = None, feedback: bool = False, sandbox: bool = True,
                course_root: Path | None = None, students: list[str] | None = None,
                competition_seed: int | None = None,
                submission_timeout: int | None = None,
                guard_settings: dict | None = None, *, scheduler: str | None = None,
                regrade: bool = False, retry_failed: bool = False,
                progress: bool = False) -> reports.ClassResult:
    """Grade every student folder of ``submitted`` into ``out``, resuming what is recorded there.

    Each result is recorded as it arrives (:mod:`.recording`): ``out/records/``, the autograded
    notebooks and feedback, ``gradebook.db``, ``grades.csv`` and ``report.txt``. A student whose
    recorded result was graded from the same files, assignment version and settings is skipped.

    Parameters
    ----------
    assignment : str
        The assignment (a folder of the course's ``source/``).
    submitted : Path
        ``<student>/<assignment>/*.ipynb`` (nbgrader's layout) or ``<student>/*.ipynb``.
    out : Path
        The output folder (created; written by this process alone).
    workers : int
        Worker processes of the embedded Dask cluster; 1 grades in this process.
    timeout : int, optional
        Seconds per cell (default: the course's ``Execute.timeout``).
    feedback : bool
        Also write sanitised HTML feedback.
    sandbox : bool
        Run every kernel in the sandbox (refused when none can be made here or on a worker).
    course_root : Path, optional
        The course folder (default: :func:`~nmautils.course.grading.resolve_root`).
    students : list of str, optional
        Grade only these (default: every folder of ``submitted``).
    competition_seed : int, optional
        Private seed of the competition's held-out set (at least 2**64); default: the one
        recorded in ``out`` by an earlier run, else one drawn here. It is written to
        ``out/competition.json`` and the lowest error(s) get the bonus as extra credit.
    submission_timeout : int, optional
        Seconds for a whole submission (default: ``GuardedExecute.submission_timeout``).
    guard_settings : dict, optional
        Further ``GuardedExecute`` traits.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``) to grade on instead.
    regrade : bool
        Grade every student again, recorded or not.
    retry_failed : bool
        Grade students again whose record says ``failed``.
    progress : bool
        Show a progress bar and the dashboard's address on stderr.

    Returns
    -------
    ClassResult
        The recorded result of every student, and what this run did.

    Raises
    ------
    nmautils.course.sandbox.SandboxUnavailable
        When ``sandbox`` is set and no sandbox can be made here (nothing is written).
    nmautils.course.classgrade.recording.OutputBusy
        When another grader is writing ``out``.
    """
    submitted, out = Path(submitted), Path(out)
    course_root = resolve_root(course_root)
    spec = competition.COMPETITIONS.get(assignment)
    if sandbox:
        from ..sandbox import check_available

        check_available()  # refuse before anything is written, with what to do
    seed, drawn = _competition_seed(assignment, out, competition_seed)
    students = list(students or find_students(submitted))
    run = time.strftime("%Y%m%dT%H%M%S-") + secrets.token_hex(3)
    started = time.perf_counter()
    environment = _environment()
    with tempfile.TemporaryDirectory(prefix="classgrade-") as tmp:
        template = make_template(assignment, Path(tmp) / "template", course_root)
        settings = {"timeout": timeout, "submission_timeout": submission_timeout,
                    "feedback": feedback, "sandbox": sandbox,
                    "guard_settings": dict(guard_settings or {}), "environment": environment,
                    "config": (template / "nbgrader_config.py").read_text(),
                    "competition": competition.fingerprint(seed) if spec else None}
        recorder = recording.Recorder(out, assignment, run,
                                      redact.secrets_for_assignment(template, assignment))
        try:
            books = _Bookkeeping(recorder, template, students,
                                 recording.assignment_version(template, assignment),
                                 recording.settings_hash(settings), started)
            result = books.result
            todo = books.plan(submitted, regrade, retry_failed)
            recorder.open_gradebook(template, list(books.results.values()))
            recording.install_course_files(out, template, assignment)
            if spec is not None:
                recording.record_competition(assignment, seed, drawn, [], out)
                result.competition = reports.competition_line(
                    competition.fingerprint(seed), drawn, "competition.json")
            if progress and result.skipped:
                print(f"skipped {result.skipped} submissions graded before (same files, "
                      "assignment version and settings)", file=sys.stderr)
            if todo:
                context = make_context(
                    template, assignment, timeout=timeout, submission_timeout=submission_timeout,
                    feedback=feedback, sandbox=sandbox, competition_seed=seed if spec else None,
                    guard_settings=guard_settings, environment=environment, course_root=course_root)
                sent: dict[str, str] = {}  # student -> hash of the files their task carried

                def tasks():
                    for student in todo:
                        files = pack_submission(submitted / student, assignment)
                        sent[student] = content_hash(files)
                        yield SubmissionTask(student=student, files=files)

                def say(line: str) -> None:
                    if progress:
                        bar.write(line, file=sys.stderr)

                with _progress(len(todo), assignment, progress) as bar, \
                        scheduling.outcomes(context, tasks(), workers, scheduler, run, say) as (
                            arriving, result.workers, result.dashboard):
                    if result.dashboard:
                        say(result.dashboard)
                    for outcome in arriving:
                        books.take(outcome, sent[outcome.student])
                        bar.update(1)
                        bar.set_postfix(failed=books.failed(), not_graded=len(result.not_graded),
                                        refresh=False)
                        if not outcome.more:
                            books.write_reports()
            books.award(seed, drawn)
            books.write_reports()
        finally:
            recorder.close()
    return result


def main(assignment: str, submitted: str, out: str, workers: int, timeout: int | None,
         feedback: bool, sandbox: bool = True, course_root: str | None = None,
         competition_seed: int | None = None, submission_timeout: int | None = None,
         scheduler: str | None = None, regrade: bool = False,
         retry_failed: bool = False) -> int:
    """The ``grade`` command: grade, print the report; 0 when every submission has a record,
    1 when some could not be graded (run it again), 2 on an error before grading."""
    from ..grading import CourseNotFound, find_course_root
    from ..sandbox import SandboxUnavailable

    if competition_seed is not None:
        try:
            competition.check_seed(competition_seed)
        except (TypeError, ValueError) as exc:
            print(f"error: {exc}")
            return 2
    try:
        course_root = find_course_root(course_root)
        result = grade_class(assignment, Path(submitted), Path(out), workers=workers,
                             timeout=timeout, feedback=feedback, sandbox=sandbox,
                             course_root=course_root, competition_seed=competition_seed,
                             submission_timeout=submission_timeout, scheduler=scheduler,
                             regrade=regrade, retry_failed=retry_failed, progress=True)
    except (SandboxUnavailable, CourseNotFound, recording.OutputBusy) as exc:
        print(f"error: {exc}")
        return 2
    if not sandbox:
        print("WARNING: graded WITHOUT a sandbox (--no-sandbox): student code ran with your rights.")
    print(reports.report(result), end="")
    print(f"wrote {Path(out) / 'gradebook.db'}, {Path(out) / 'grades.csv'}, {Path(out) / 'report.txt'}")
    print(f"{out} is an nbgrader course folder: grade the written answers there with formgrader "
          f"(`cd {out} && jupyter lab`, Formgrader tab), then `nbgrader export --to "
          "final_grades.csv` and `nbgrader generate_feedback " + assignment + "` in it")
    if result.not_graded:
        print(f"{len(result.not_graded)} submissions could not be graded (see NOT GRADED above); "
              "run the same command again to grade them")
        return 1
    return 0
