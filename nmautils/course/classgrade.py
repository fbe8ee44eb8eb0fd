"""Class-size grading: autograde a folder of submissions in parallel, one student per task.

    python -m nmautils.course grade <assignment> <submitted_dir> --workers 2 --out <dir>

``submitted_dir`` holds ``<student>/<assignment>/*.ipynb`` (nbgrader's layout) or
``<student>/*.ipynb``. The parent generates the assignment once into a template course; each
task copies it (its own sqlite gradebook), checks the student's files, autogrades with the
project's nbgrader configuration (:mod:`nmautils.course.guard`), optionally writes sanitised
feedback (:mod:`nmautils.course.feedback`) and returns per-cell scores and messages for the
instructor. The parent merges them into ``<out>/gradebook.db`` (nbgrader's Gradebook),
``<out>/grades.csv`` and ``<out>/report.txt``, and copies the autograded notebooks (and feedback).

What the checks before nbgrader catch (nbgrader alone would fail or mislead):

- no notebook at all -> every cell 0, status ``missing``;
- a notebook under another name (``Copy of x.ipynb``) when the expected one is absent -> graded
  as the expected notebook, with a message;
- a notebook that is not valid JSON -> every cell 0, status ``flagged``, the run goes on;
- deleted or edited test/read-only cells -> nbgrader restores them from the gradebook; the
  instructor is told which.

An assignment with a competition (:mod:`nmautils.course.competition`: assignment 3's decoder)
has every submission's function scored on one held-out set by the grader (signed with a key of
this run; the set's private seed is drawn once per run unless given, and written to
``<out>/competition.json`` only); the lowest error(s) get the bonus as extra credit of the
competition cell in the gradebook, and the report lists everyone's result.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from . import competition as competition_mod
from . import notebooks, redact
from .grading import (
    CellScore,
    Course,
    autograded_total,
    environment,
    resolve_root,
    thread_budget,
)

MESSAGE_CHARS = 300


@dataclass
class StudentGrade:
    """Everything grading one student produced (plain data: it crosses process boundaries)."""

    student: str
    status: str  # "graded", "missing", "flagged"
    cells: dict[str, CellScore] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the signed competition result of the graded notebook (nmautils.course.competition)
    competition: dict | None = None
    #: extra credit the class run awarded (the competition's bonus for the winners)
    extra_credit: float = 0.0

    @property
    def score(self) -> float:
        return autograded_total(self.cells)[0]

    @property
    def max_score(self) -> float:
        return autograded_total(self.cells)[1]


@dataclass(frozen=True)
class GradingTask:
    """One student's grading job, as sent to a worker process."""

    assignment: str
    student: str
    folder: str  # the student's submission folder
    template: str  # the generated template course
    out: str  # the class run's output folder
    timeout: int | None = None
    feedback: bool = False
    sandbox: bool = True
    course_root: str = ""  # the course folder (nbgrader_config.py, source/); "": resolve_root()
    competition_seed: int | None = None  # the class run's; None: the worker draws its own
    competition_key: str = ""  # signs the competition results of this class run
    fixture_seed: int = -1  # the hidden tests' fixtures of this class run (-1: the worker's own)
    references: dict = field(default_factory=dict)  # the model answer's values for that seed
    submission_timeout: int | None = None  # seconds for the whole submission (None: configured)
    guard_settings: dict = field(default_factory=dict)  # further GuardedExecute traits


# -- template course ---------------------------------------------------------------------------
def make_template(assignment: str, root: Path, repo_root: Path | None = None) -> Path:
    """Generate ``assignment`` once into a course folder that every task copies."""
    course = Course(root, repo_root)
    course.add_source(assignment)
    course.generate(assignment)
    course.warm_caches(assignment)  # before the workers fork: they inherit the warm cache
    return root


def _compute_references(template: str, assignment: str, fixture_seed: int, timeout: int | None,
                        sandbox: bool, repo_root: str) -> dict[str, dict]:
    from . import verdicts
    from .guard import compute_references

    config = Course(Path(template), Path(repo_root), timeout=timeout, sandbox=sandbox).config
    return {verdicts.reference_key(path.read_text(), fixture_seed):
            compute_references(path, fixture_seed, config, sandbox)
            for path in sorted((Path(template) / "source" / assignment).glob("*.ipynb"))}


def prime_references(template: Path, assignment: str, fixture_seed: int,
                     timeout: int | None = None, sandbox: bool = True,
                     repo_root: Path | None = None) -> dict[str, dict]:
    """Compute, once for the class run, what the model answer reports in every hidden test of
    ``assignment`` on the fixtures of ``fixture_seed``; keep it in this process's cache (forked
    workers inherit it) and return it for the tasks (workers started otherwise).

    The model answer runs in a child process: the workers are forked from this one, which must
    hold no kernels or threads when they are.

    Returns
    -------
    dict
        ``{reference key: {test grade id: {name: record}}}`` for each notebook.
    """
    from . import verdicts

    repo_root = resolve_root(repo_root)
    with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
        found = pool.submit(_compute_references, str(template), assignment, int(fixture_seed),
                            timeout, sandbox, str(repo_root)).result()
    verdicts.REFERENCES.update(found)
    return found


def expected_notebooks(template: Path, assignment: str) -> list[str]:
    return sorted(p.name for p in (template / "release" / assignment).glob("*.ipynb"))


def _student_files(folder: Path, assignment: str) -> Path:
    nested = folder / assignment
    return nested if nested.is_dir() else folder


def _first_line(text: str, secret_lines: redact.Secrets | None = None) -> str:
    # redact before collapsing and cutting: a secret cut in half is no longer recognisable
    text = " ".join(redact.redact_text(str(text), secret_lines).split())
    return text[:MESSAGE_CHARS] + ("..." if len(text) > MESSAGE_CHARS else "")


def _tampering(submitted: notebooks.NotebookNode, release: notebooks.NotebookNode) -> list[str]:
    """Messages about locked cells (tests, read-only) that the student deleted or edited."""
    locked = {notebooks.nbgrader_meta(c)["grade_id"]: c for c in release.cells
              if notebooks.cell_kind(c) in ("test", "readonly")}
    seen = {notebooks.nbgrader_meta(c).get("grade_id"): c for c in submitted.cells}
    out = []
    for gid, cell in locked.items():
        kind = "test" if notebooks.cell_kind(cell) == "test" else "read-only"
        if gid not in seen:
            out.append(f"{gid}: the student deleted this {kind} cell; the grader put it back")
        elif seen[gid].source.strip() != cell.source.strip():
            out.append(f"{gid}: the student edited this {kind} cell; nbgrader restored the original")
    return out


#: Code that reaches into functions' internals: how a helper refused to a test in the kernel
#: (``nmautils.checks.refusing``) can still be called, so such answers are shown for review.
_INTERNALS = re.compile(r"__code__|__globals__|__closure__|\bFunctionType\b|\bCodeType\b|"
                        r"\bgc\.get_(referrers|referents|objects)\b|sys\.addaudithook")


def _needs_review(submitted: notebooks.NotebookNode) -> list[str]:
    """Messages about answer cells whose code reaches into function internals or audit hooks
    (the instructor reviews them by hand: the grader cannot stop that inside the kernel)."""
    out = []
    for cell in submitted.cells:
        if cell.cell_type == "code" and notebooks.cell_kind(cell) == "answer":
            found = sorted({m.group(0) for m in _INTERNALS.finditer(cell.source)})
            if found:
                gid = notebooks.nbgrader_meta(cell).get("grade_id", "cell")
                out.append(f"{gid}: review by hand - the answer uses {', '.join(found)} (a way "
                           "to call helpers that the tests refuse)")
    return out


def restore_deleted_cells(submitted: notebooks.NotebookNode, release: notebooks.NotebookNode
                          ) -> list[str]:
    """Put locked cells (tests, read-only) the student deleted back, in place; return their ids.

    nbgrader restores the *source* of edited locked cells from the gradebook, but a deleted test
    cell simply gets no score (counted as 0). Re-inserting the release's cell lets nbgrader
    restore and run it.
    """
    restored = []
    ids = [notebooks.nbgrader_meta(c).get("grade_id") for c in submitted.cells]
    previous = None
    for cell in release.cells:
        gid = notebooks.nbgrader_meta(cell).get("grade_id")
        if gid is None:
            continue
        if gid not in ids and notebooks.cell_kind(cell) in ("test", "readonly"):
            at = ids.index(previous) + 1 if previous in ids else 0
            submitted.cells.insert(at, copy.deepcopy(cell))
            ids.insert(at, gid)
            restored.append(gid)
        previous = gid
    return restored


def _cell_messages(nb: notebooks.NotebookNode, grade: StudentGrade,
                   secret_lines: redact.Secrets | None = None) -> list[str]:
    """One message per test cell that lost points, plus every message the guard wrote."""
    from .guard import MARK

    out = []
    for cell in nb.cells:
        meta = notebooks.nbgrader_meta(cell)
        gid = meta.get("grade_id")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        guard_notes = [o for o in errors if str(o.get("evalue", "")).startswith(MARK)]
        if notebooks.cell_kind(cell) == "test" and gid in grade.cells:
            score, max_score = grade.cells[gid].score, grade.cells[gid].max_score
            if (score or 0) < max_score:
                why = errors[-1] if errors else None
                reason = f"{why.get('ename')}: {why.get('evalue', '')}" if why else "no error recorded"
                out.append(_first_line(f"{gid}: {score or 0:g}/{max_score:g} - {reason}",
                                       secret_lines))
                continue
        for note in guard_notes:
            out.append(_first_line(f"{gid or 'cell'}: {note.get('evalue')}", secret_lines))
    return out


def _log_error(log: str) -> str:
    """The last exception line of an nbgrader log (``SomeError: message``)."""
    errors = [line.strip() for line in log.splitlines()
              if re.match(r"^\s*[\w.]+(Error|Exception|Exit)\b.*:", line) and "[ERROR]" not in line]
    return errors[-1] if errors else " | ".join(log.strip().splitlines()[-2:])


def _read_scores(course: Course, assignment: str, student: str, grade: StudentGrade) -> None:
    grade.cells.update(course.scores(assignment, student).cells)


def _zero_scores(template: Path, assignment: str, grade: StudentGrade) -> None:
    """Every graded cell at 0 (a submission nbgrader cannot grade)."""
    for name in expected_notebooks(template, assignment):
        nb = notebooks.read(template / "source" / assignment / name)
        for cell in notebooks.graded_cells(nb):
            if cell.kind in ("test", "written", "task"):
                kind = "autograded" if cell.cell_type == "code" else "manual"
                grade.cells[cell.grade_id] = CellScore(cell.grade_id, 0.0, cell.points, kind)


def intake(files: Path, template: Path, assignment: str, dest: Path, grade: StudentGrade) -> int:
    """Check a student's files and place the gradable notebooks in ``dest`` (nbgrader's
    ``submitted/<student>/<assignment>``); return how many there are.

    Messages and the status go into ``grade``: a misnamed notebook is graded in place of the
    expected one, a missing one scores 0, an unreadable one flags the submission, deleted locked
    cells are put back and edited ones reported.
    """
    present = sorted(files.glob("*.ipynb")) if files.is_dir() else []
    wanted = expected_notebooks(template, assignment)
    unmatched = [p for p in present if p.name not in wanted]
    gradable = 0
    for name in wanted:
        src = files / name
        if not src.exists():
            if len(unmatched) == 1 and len(wanted) == 1:
                src = unmatched.pop()
                grade.messages.append(f"{name}: not found; graded {src.name!r} in its place")
            else:
                grade.messages.append(f"{name}: missing from the submission; its cells score 0")
                continue
        try:
            nb = notebooks.read(src)
        except Exception as exc:  # not JSON, not a notebook
            grade.status = "flagged"
            grade.messages.append(_first_line(
                f"{name}: cannot be read ({type(exc).__name__}: {exc}); its cells score 0"))
            continue
        release = notebooks.read(template / "release" / assignment / name)
        grade.messages.extend(_tampering(nb, release))
        grade.messages.extend(_needs_review(nb))
        if restore_deleted_cells(nb, release):
            notebooks.write(nb, dest / name)
        else:
            shutil.copy2(src, dest / name)
        gradable += 1
    for extra in unmatched:
        grade.messages.append(f"{extra.name}: not part of the assignment; ignored")
    return gradable


def autograde(course: Course, task: GradingTask, grade: StudentGrade) -> None:
    """Autograde the intake of ``task`` in ``course``; scores and messages go into ``grade``,
    the autograded notebooks (and feedback) into the class run's output folder."""
    template, out = Path(task.template), Path(task.out)
    secret_lines = redact.secrets_for_assignment(course.root, task.assignment)
    result = course.api.autograde(task.assignment, task.student, force=True, create=True)
    _read_scores(course, task.assignment, task.student, grade)
    if not result["success"] or not grade.cells:
        grade.status = "flagged"
        grade.messages.append(_first_line("nbgrader autograde failed: " + _log_error(
            result.get("log") or ""), secret_lines))
        if not grade.cells:
            _zero_scores(template, task.assignment, grade)
        return
    graded = course.root / "autograded" / task.student / task.assignment
    for path in sorted(graded.glob("*.ipynb")):
        nb = notebooks.read(path)
        grade.messages.extend(_cell_messages(nb, grade, secret_lines))
        if task.assignment in competition_mod.COMPETITIONS:
            record = nb.metadata.get(competition_mod.METADATA_KEY)
            grade.competition = competition_mod.verified(record, task.competition_key)
            if record is not None and grade.competition is None:
                grade.messages.append("competition: the result is not signed by this grading "
                                      "run; ignored")
    target = out / "autograded" / task.student / task.assignment
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(graded, target)
    if task.feedback:
        from . import feedback as feedback_mod

        fb_target = out / "feedback" / task.student / task.assignment
        fb_target.mkdir(parents=True, exist_ok=True)
        for html in feedback_mod.generate(course, task.assignment, task.student):
            shutil.copy2(html, fb_target / html.name)


def grade_student(task: GradingTask) -> StudentGrade:
    """Autograde one student in a private copy of the template course (a worker's task)."""
    start = time.perf_counter()
    template = Path(task.template)
    grade = StudentGrade(task.student, "graded")
    try:
        with tempfile.TemporaryDirectory(prefix=f"grade-{task.student}-") as tmp:
            root = Path(tmp) / "course"
            shutil.copytree(template, root, ignore=shutil.ignore_patterns(
                "submitted", "autograded", "feedback"))
            dest = root / "submitted" / task.student / task.assignment
            dest.mkdir(parents=True)
            files = _student_files(Path(task.folder), task.assignment)
            if not intake(files, template, task.assignment, dest, grade):
                _zero_scores(template, task.assignment, grade)
                if grade.status == "graded":
                    grade.status = "missing"
                return grade
            course = Course(root, task.course_root or None, timeout=task.timeout,
                            sandbox=task.sandbox,
                            settings=_settings(task))
            autograde(course, task, grade)
    except Exception as exc:  # never let one student stop the class run
        grade.status = "flagged"
        secret_lines = redact.secrets_for_assignment(template, task.assignment)
        grade.messages.append(_first_line(f"grading crashed: {type(exc).__name__}: {exc}",
                                          secret_lines))
        grade.messages.append(_first_line(traceback.format_exc().splitlines()[-1], secret_lines))
        if not grade.cells:
            _zero_scores(template, task.assignment, grade)
    finally:
        grade.seconds = time.perf_counter() - start
    return grade


def _settings(task: GradingTask) -> dict:
    """The ``GuardedExecute`` settings of a task; its reference values go into this process's
    cache, so that the worker does not compute them again."""
    from . import verdicts

    settings = {"competition_seed": task.competition_seed, "competition_key": task.competition_key,
                "fixture_seed": task.fixture_seed}
    if task.submission_timeout is not None:
        settings["submission_timeout"] = int(task.submission_timeout)
    settings.update(task.guard_settings)
    for key, values in task.references.items():
        verdicts.REFERENCES.setdefault(key, values)
    return settings


def _context():
    """``fork`` where available (fast; the parent holds no kernels or threads), else ``spawn``."""
    import multiprocessing

    return get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def _task(task: GradingTask) -> StudentGrade:
    return grade_student(task)


# -- the class run -------------------------------------------------------------------------------
@dataclass
class ClassResult:
    assignment: str
    grades: list[StudentGrade]
    seconds: float
    workers: int
    #: the report's line about the competition seed (never the seed itself)
    competition: str = ""

    @property
    def per_minute(self) -> float:
        return 60.0 * len(self.grades) / self.seconds if self.seconds else 0.0

    def scores(self) -> dict[str, dict[str, float | None]]:
        """``{student: {grade id: score}}`` (for determinism checks)."""
        return {g.student: {k: v.score for k, v in sorted(g.cells.items())} for g in self.grades}


def find_students(submitted: Path) -> list[str]:
    return sorted(p.name for p in Path(submitted).iterdir() if p.is_dir() and not p.name.startswith("."))


def award_competition(assignment: str, grades: list[StudentGrade],
                      fingerprint: str | None = None) -> list[str]:
    """Give the competition's bonus (as extra credit) to the students with the lowest held-out
    error; return their names. Each student gets a message with their result.

    Parameters
    ----------
    assignment : str
        The assignment; one without a competition awards nothing.
    grades : list of StudentGrade
        The class's grades, with their verified competition records.
    fingerprint : str, optional
        Seed fingerprint (:func:`nmautils.course.competition.fingerprint`) of the held-out set
        to rank on; by default the one most results were made on. Results made on another
        held-out set are not ranked, and their students are told so.

    Returns
    -------
    list of str
        The winners (all of them on a tie; none when nobody has a result on that set).
    """
    spec = competition_mod.COMPETITIONS.get(assignment)
    if spec is None:
        return []
    ok = [g.competition for g in grades if (g.competition or {}).get("status") == "ok"]
    if fingerprint is None and ok:
        counts = Counter(r.get("fingerprint") for r in ok)
        fingerprint = max(sorted(counts, key=str), key=counts.__getitem__)
    errors = {}
    for g in grades:
        record = g.competition or {}
        same_set = record.get("fingerprint") == fingerprint
        errors[g.student] = record.get("mse") if record.get("status") == "ok" and same_set else None
    best = competition_mod.winners(errors)
    for g in grades:
        record = g.competition or {}
        if g.student in best:
            g.extra_credit = spec.bonus
            g.messages.append(f"competition: held-out MSE {errors[g.student]:.6g}, the lowest of "
                              f"the class: +{spec.bonus:g} extra credit on {spec.cell}")
        elif errors[g.student] is not None:
            g.messages.append(f"competition: held-out MSE {errors[g.student]:.6g} (lowest "
                              f"{errors[best[0]]:.6g})")
        elif record.get("status") == "ok":
            g.messages.append(f"competition: not ranked (scored on another held-out set: seed "
                              f"fingerprint {record.get('fingerprint')}, not {fingerprint})")
        elif record:
            g.messages.append(_first_line(f"competition: not ranked ({record.get('status')}"
                                          f"{': ' + record['error'] if record.get('error') else ''})"))
        elif g.status == "graded":
            g.messages.append("competition: no result (the notebook did not run to the end)")
    return best


def record_competition(assignment: str, seed: int, drawn: bool, winners: list[str],
                       out: Path) -> str:
    """Write the class run's competition seed to ``out/competition.json`` (readable by its owner
    only) and return the report's line about it, which names the seed's fingerprint only."""
    path = Path(out) / "competition.json"
    fingerprint = competition_mod.fingerprint(seed)
    record = {"assignment": assignment, "seed": str(seed), "fingerprint": fingerprint,
              "drawn": drawn, "winners": winners}
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh, indent=1)
    origin = "drawn for this run" if drawn else "given (--competition-seed)"
    return (f"competition seed: {origin} (recorded in {path.name} and in the autograded "
            f"notebooks' metadata '{competition_mod.METADATA_KEY}'), fingerprint {fingerprint}")


def grade_class(assignment: str, submitted: Path, out: Path, workers: int = 2,
                timeout: int | None = None, feedback: bool = False, sandbox: bool = True,
                repo_root: Path | None = None, students: list[str] | None = None,
                competition_seed: int | None = None,
                submission_timeout: int | None = None,
                guard_settings: dict | None = None) -> ClassResult:
    """Grade every student folder of ``submitted``; write the gradebook, CSV and report to ``out``.

    For an assignment with a competition (:mod:`nmautils.course.competition`) every submission's
    function is scored on one held-out set made from ``competition_seed`` (a private number of
    at least 2**64; None: one drawn here, for this run), and the lowest error(s) get the bonus
    as extra credit in the gradebook. The seed goes to ``out/competition.json``.
    """
    submitted, out = Path(submitted), Path(out)
    repo_root = resolve_root(repo_root)
    spec = competition_mod.COMPETITIONS.get(assignment)
    drawn = competition_seed is None
    # drawn here, before the workers start, so that every student meets the same held-out set
    seed = competition_mod.draw_seed() if drawn else competition_mod.check_seed(competition_seed)
    if sandbox:
        from .sandbox import check_available

        check_available()  # refuse before anything is written, with what to do
    out.mkdir(parents=True, exist_ok=True)
    students = students or find_students(submitted)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="classgrade-") as tmp:
        template = make_template(assignment, Path(tmp) / "template", repo_root)
        secret_lines = redact.secrets_for_assignment(template, assignment)
        key = secrets.token_hex(16)
        fixture_seed = secrets.randbelow(2**31)
        references = prime_references(template, assignment, fixture_seed, timeout, sandbox,
                                      repo_root)
        tasks = [GradingTask(assignment=assignment, student=s, folder=str(submitted / s),
                             template=str(template), out=str(out), timeout=timeout,
                             feedback=feedback, sandbox=sandbox, course_root=str(repo_root),
                             competition_seed=seed, competition_key=key,
                             fixture_seed=fixture_seed, references=references,
                             submission_timeout=submission_timeout,
                             guard_settings=dict(guard_settings or {}))
                 for s in students]
        if workers <= 1:
            grades = [_task(t) for t in tasks]
        else:
            # kernels graded side by side share the cores instead of each taking them all
            with environment(thread_budget(workers)), \
                    ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
                grades = list(pool.map(_task, tasks, chunksize=1))
        best = award_competition(assignment, grades, competition_mod.fingerprint(seed))
        write_gradebook(assignment, template, grades, out / "gradebook.db")
    seconds = time.perf_counter() - start
    result = ClassResult(assignment, grades, seconds, workers)
    if spec is not None:
        result.competition = record_competition(assignment, seed, drawn, best, out)
    for g in grades:  # every message, whatever produced it, once more
        g.messages = [redact.redact_text(m, secret_lines) for m in g.messages]
    write_csv(result, out / "grades.csv")
    (out / "report.txt").write_text(report(result))
    return result


def write_gradebook(assignment: str, template: Path, grades: list[StudentGrade], path: Path) -> None:
    """Merge the students' scores into one nbgrader gradebook (a copy of the template's)."""
    from nbgrader.api import Gradebook, MissingEntry

    if path.exists():
        path.unlink()
    shutil.copy2(template / "gradebook.db", path)
    with Gradebook(f"sqlite:///{path}") as gb:
        nb_of = {}
        for nb in gb.find_assignment(assignment).notebooks:
            for cell in nb.grade_cells:
                nb_of[cell.name] = nb.name
        for g in grades:
            gb.update_or_create_student(g.student)
            gb.update_or_create_submission(assignment, g.student)
            for gid, cell in g.cells.items():
                if gid not in nb_of or cell.kind != "autograded":
                    continue
                try:
                    grade = gb.find_grade(gid, nb_of[gid], assignment, g.student)
                except MissingEntry:
                    continue
                grade.auto_score = cell.score
                grade.needs_manual_grade = False
            spec = competition_mod.COMPETITIONS.get(assignment)
            if spec is not None and spec.cell in nb_of:
                try:
                    grade = gb.find_grade(spec.cell, nb_of[spec.cell], assignment, g.student)
                except MissingEntry:
                    pass
                else:
                    # nbgrader counts a cell's extra credit only once the cell has a score: the
                    # class grader grades this 0-point cell itself
                    grade.manual_score = 0.0
                    grade.extra_credit = g.extra_credit
                    grade.needs_manual_grade = False
            gb.db.commit()


def write_csv(result: ClassResult, path: Path) -> None:
    cells = sorted({gid for g in result.grades for gid, v in g.cells.items() if v.kind == "autograded"})
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "status", "score", "max_score", "extra_credit", *cells,
                         "messages"])
        for g in result.grades:
            row = [g.student, g.status, f"{g.score:g}", f"{g.max_score:g}", f"{g.extra_credit:g}"]
            row += ["" if c not in g.cells or g.cells[c].score is None else f"{g.cells[c].score:g}"
                    for c in cells]
            row.append(" | ".join(g.messages))
            writer.writerow(row)


def report(result: ClassResult) -> str:
    lines = [f"{result.assignment}: {len(result.grades)} submissions in {result.seconds:.1f} s "
             f"with {result.workers} worker(s): {result.per_minute:.1f} submissions/minute"]
    if result.competition:
        lines.append(result.competition)
    for g in result.grades:
        bonus = f" +{g.extra_credit:g} extra credit" if g.extra_credit else ""
        lines.append(f"{g.student:24s} {g.status:8s} {g.score:g}/{g.max_score:g}{bonus}  "
                     f"({g.seconds:.1f} s)")
        lines += [f"    - {m}" for m in g.messages]
    return "\n".join(lines) + "\n"


def main(assignment: str, submitted: str, out: str, workers: int, timeout: int | None,
         feedback: bool, sandbox: bool = True, root: str | None = None,
         competition_seed: int | None = None, submission_timeout: int | None = None) -> int:
    from .grading import CourseNotFound, find_course_root
    from .sandbox import SandboxUnavailable

    if competition_seed is not None:
        try:
            competition_mod.check_seed(competition_seed)
        except (TypeError, ValueError) as exc:
            print(f"error: {exc}")
            return 2
    try:
        course_root = find_course_root(root)
        result = grade_class(assignment, Path(submitted), Path(out), workers=workers,
                             timeout=timeout, feedback=feedback, sandbox=sandbox,
                             repo_root=course_root, competition_seed=competition_seed,
                             submission_timeout=submission_timeout)
    except (SandboxUnavailable, CourseNotFound) as exc:
        print(f"error: {exc}")
        return 2
    if not sandbox:
        print("WARNING: graded WITHOUT a sandbox (--no-sandbox): student code ran with your rights.")
    print(report(result), end="")
    print(f"wrote {Path(out) / 'gradebook.db'}, {Path(out) / 'grades.csv'}, {Path(out) / 'report.txt'}")
    return 0
