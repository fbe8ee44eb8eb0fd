"""Recording: the class run's output folder, written by the grader process alone, durably.

Layout of ``<out>``::

    records/<student>.json              the result record (the source of truth, written last)
    autograded/<student>/<assignment>/  the autograded notebooks
    feedback/<student>/<assignment>/    the sanitised HTML feedback (with --feedback)
    gradebook.db                        nbgrader's gradebook of the class
    grades.csv, report.txt              made from the records
    competition.json                    the competition's private seed (assignments with one)
    nbgrader_config.py, source/<assignment>/   the course's, so that the folder is an nbgrader
                                        course: formgrader, ``nbgrader export`` and
                                        ``nbgrader generate_feedback`` work in it

The gradebook keeps what graders enter in formgrader (manual scores, extra credit, comments)
when a later run rebuilds it, for every student whose submission was not graded again.

Each result is recorded as it arrives: its files are put in place, then its record is written
(to a temporary file, then ``os.replace``), then its gradebook entry (the gradebook is rebuilt
from the records at the start of every run);
``grades.csv`` and ``report.txt`` are replaced whenever no other result is waiting. A record
carries the key it was graded under (:class:`ResumeKey`); a later run skips a student whose
key is unchanged, so killing the grader loses at most the submissions in flight.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import competition, redact
from ..grading import CellScore, SubmissionResult

#: Version of the record format (a record of another version is graded again).
RECORD_VERSION = 1


class OutputBusy(RuntimeError):
    """Another grader is writing the same output folder."""


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers (and a killed writer) see the old or the new
    content, never a part: a temporary file beside it, then ``os.replace``.

    Not synced to the disk: after a machine crash a record may read as damaged, and a damaged
    record only means that the student is graded again.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_course_files(out: Path, template: Path, assignment: str) -> None:
    """Make ``out`` an nbgrader course folder: the course's ``nbgrader_config.py`` and the
    assignment's source notebooks (formgrader shows their model answers and rubrics)."""
    out = Path(out)
    atomic_write(out / "nbgrader_config.py", (Path(template) / "nbgrader_config.py").read_bytes())
    source = Path(template) / "source" / assignment
    _replace_folder(out / "source" / assignment,
                    {str(p.relative_to(source)): p.read_bytes()
                     for p in sorted(source.rglob("*")) if p.is_file()})


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def assignment_version(template: Path, assignment: str) -> str:
    """SHA-256 of the assignment's source notebooks (names and contents)."""
    paths = sorted((Path(template) / "source" / assignment).glob("*.ipynb"))
    return _digest(*(p.name.encode() + b"\0" + p.read_bytes() for p in paths))


def settings_hash(settings: dict) -> str:
    """SHA-256 of the grading settings (JSON with sorted keys)."""
    return _digest(json.dumps(settings, sort_keys=True, default=str).encode())


@dataclass(frozen=True)
class ResumeKey:
    """What a recorded result was graded from: equal keys mean grading again gives nothing new.

    Attributes
    ----------
    submission : str
        :func:`nmautils.course.classgrade.intake.content_hash` of the student's files.
    assignment : str
        :func:`assignment_version` of the assignment.
    settings : str
        :func:`settings_hash` of the grading settings.
    """

    submission: str
    assignment: str
    settings: str


def to_record(result: SubmissionResult, key: ResumeKey, run: str) -> dict:
    """The JSON record of ``result`` (its nbgrader log and extra credit are not kept: the
    bonus is awarded from all records at the end of every run)."""
    return {"version": RECORD_VERSION, "student": result.student, "status": result.status,
            "cells": {gid: asdict(cell) for gid, cell in result.cells.items()},
            "messages": list(result.messages), "seconds": result.seconds,
            "competition": result.competition, "worker": result.worker,
            "key": asdict(key), "run": run, "recorded": time.time()}


def from_record(record: dict) -> tuple[SubmissionResult, ResumeKey]:
    """The result and key of a JSON record (:func:`to_record`)."""
    if record.get("version") != RECORD_VERSION:
        raise ValueError(f"record version {record.get('version')!r}, not {RECORD_VERSION}")
    result = SubmissionResult(
        record["student"], record["status"],
        cells={gid: CellScore(**cell) for gid, cell in record["cells"].items()},
        messages=list(record["messages"]), seconds=float(record["seconds"]),
        competition=record.get("competition"), worker=record.get("worker", ""))
    return result, ResumeKey(**record["key"])


def _safe_parts(relative: str) -> tuple[str, str]:
    """``(kind, file)`` of a result file's name ``autograded/<file>`` or ``feedback/<file>``;
    anything else (absolute, ``..``, another folder) is refused."""
    kind, _, rest = relative.partition("/")
    parts = Path(rest).parts
    if kind not in ("autograded", "feedback") or not parts or Path(rest).is_absolute() \
            or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a result file: {relative!r}")
    return kind, rest


def _replace_folder(final: Path, files: dict[str, bytes]) -> None:
    """Make ``final`` hold exactly ``files`` (``{relative path: content}``; none: removed),
    built beside it and swapped in by renames."""
    if not files and not final.exists():
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    staging, old = final.parent / f".{final.name}.new", final.parent / f".{final.name}.old"
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    for relative, data in files.items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if final.exists():
        os.replace(final, old)
    if files:
        os.replace(staging, final)
    if old.exists():
        shutil.rmtree(old)


def _without_sync(gradebook) -> None:
    """Let SQLite commit ``gradebook``'s transactions without waiting for the disk: a killed
    grader still leaves every committed one (only a machine crash could lose the last ones, and
    each run rebuilds the gradebook from the records)."""
    from sqlalchemy import event

    @event.listens_for(gradebook.engine, "connect")
    def _no_sync(connection, _record) -> None:
        connection.execute("PRAGMA synchronous=OFF")

    gradebook.engine.dispose()  # connections made before get the setting too


class ClassGradebook:
    """nbgrader's gradebook of the class at ``path``: built from the template course's and the
    recorded results at the start of a run (the records are the source of truth), then updated
    student by student."""

    def __init__(self, path: Path, template: Path, assignment: str,
                 results: list[SubmissionResult]):
        from nbgrader.api import Gradebook

        self.assignment = assignment
        self.path = Path(path)
        # built aside and swapped in: a crash leaves the previous gradebook, never half of one
        fd, tmp = tempfile.mkstemp(prefix=".gradebook.", suffix=".db", dir=self.path.parent)
        os.close(fd)
        shutil.copy2(Path(template) / "gradebook.db", tmp)
        kept = self._manual_grading({r.student for r in results})
        with Gradebook(f"sqlite:///{tmp}") as gb:
            _without_sync(gb)
            for result in results:
                self._put(gb, result)
            self._restore_manual_grading(gb, kept)
        os.replace(tmp, self.path)
        self._gb = Gradebook(f"sqlite:///{self.path}")
        _without_sync(self._gb)

    def _manual_grading(self, students: set[str]) -> dict[tuple[str, str, str, str], tuple]:
        """What graders entered (formgrader) in the previous gradebook for ``students``:
        ``{(student, notebook, "grade" | "comment", cell): values}``. A student graded again
        (a changed submission) is not among them: their written answers need a new look."""
        from nbgrader.api import Gradebook, MissingEntry

        kept: dict[tuple[str, str, str, str], tuple] = {}
        if not self.path.is_file() or not students:
            return kept
        spec = competition.COMPETITIONS.get(self.assignment)
        with Gradebook(f"sqlite:///{self.path}") as gb:
            for student in students:
                try:
                    submission = gb.find_submission(self.assignment, student)
                except MissingEntry:
                    continue
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.manual_score is not None and \
                                (spec is None or grade.name != spec.cell):
                            kept[student, notebook.name, "grade", grade.name] = (
                                grade.manual_score, grade.extra_credit)
                    for comment in notebook.comments:
                        if comment.manual_comment:
                            kept[student, notebook.name, "comment", comment.name] = (
                                comment.manual_comment,)
        return kept

    def _restore_manual_grading(self, gb, kept: dict[tuple[str, str, str, str], tuple]) -> None:
        """Put :meth:`_manual_grading`'s scores and comments back into the rebuilt gradebook."""
        from nbgrader.api import MissingEntry

        for (student, notebook, kind, cell), values in kept.items():
            try:
                if kind == "grade":
                    grade = gb.find_grade(cell, notebook, self.assignment, student)
                    grade.manual_score, grade.extra_credit = values
                    grade.needs_manual_grade = False
                else:
                    gb.find_comment(cell, notebook, self.assignment, student).manual_comment = \
                        values[0]
            except MissingEntry:  # the assignment changed since: that cell is gone
                continue
        gb.db.commit()

    def _put(self, gb, result: SubmissionResult) -> None:
        gb.update_or_create_student(result.student)
        submission = gb.update_or_create_submission(self.assignment, result.student)
        spec = competition.COMPETITIONS.get(self.assignment)
        # the submission's grades in one query (find_grade would make one per cell)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cell = result.cells.get(grade.name)
                if cell is not None and cell.kind == "autograded":
                    grade.auto_score = cell.score
                    grade.needs_manual_grade = False
                if spec is not None and grade.name == spec.cell:
                    # nbgrader counts a cell's extra credit only once the cell has a score: the
                    # class grader grades this 0-point cell itself
                    grade.manual_score = 0.0
                    grade.extra_credit = result.extra_credit
                    grade.needs_manual_grade = False
        gb.db.commit()

    def put(self, result: SubmissionResult) -> None:
        """Write one student's scores (and extra credit)."""
        self._put(self._gb, result)

    def close(self) -> None:
        self._gb.close()


class Recorder:
    """The output folder of a class run; holds its lock while open.

    Parameters
    ----------
    out : Path
        The output folder (created).
    assignment : str
        The assignment graded.
    run : str
        This run's id (kept in the records it writes).
    secret_lines : redact.Secrets, optional
        Lines redacted from every message before it is recorded.

    Raises
    ------
    OutputBusy
        When another grader holds the folder.
    """

    def __init__(self, out: Path, assignment: str, run: str,
                 secret_lines: redact.Secrets | None = None):
        self.out, self.assignment, self.run = Path(out), assignment, run
        self.secret_lines = secret_lines
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.out / ".classgrade.lock", "a")  # noqa: SIM115 - held while open
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise OutputBusy(f"another grader is writing {self.out}; wait for it to finish "
                             "or choose another --out folder") from None
        self.records = self.out / "records"
        self.records.mkdir(exist_ok=True)
        self.recorded: set[str] = set()  # students recorded by this run
        self.gradebook: ClassGradebook | None = None

    def record_path(self, student: str) -> Path:
        return self.records / f"{student}.json"

    def load(self, student: str) -> tuple[SubmissionResult, ResumeKey] | None:
        """The recorded result of ``student`` and its key (None: none, or unreadable)."""
        try:
            return from_record(json.loads(self.record_path(student).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def open_gradebook(self, template: Path, results: list[SubmissionResult]) -> None:
        """(Re)build ``gradebook.db`` from the template's and ``results``; keep it open."""
        self.gradebook = ClassGradebook(self.out / "gradebook.db", template, self.assignment,
                                        results)

    def record(self, result: SubmissionResult, files: dict[str, bytes], key: ResumeKey) -> bool:
        """Record one result: its files, its record, its gradebook entry.

        Returns
        -------
        bool
            False when this run has recorded ``result.student`` already: a second result for
            the same student (a task run twice) is ignored.
        """
        if result.student in self.recorded:
            return False
        result.messages = [redact.redact_text(m, self.secret_lines) for m in result.messages]
        by_kind: dict[str, dict[str, bytes]] = {"autograded": {}, "feedback": {}}
        for relative, data in files.items():
            kind, name = _safe_parts(relative)
            by_kind[kind][name] = data
        # the old record goes first: until the new one is written, the student counts as not
        # graded, whatever state the files were left in
        self.record_path(result.student).unlink(missing_ok=True)
        for kind, found in by_kind.items():
            _replace_folder(self.out / kind / result.student / self.assignment, found)
        atomic_write(self.record_path(result.student),
                     json.dumps(to_record(result, key, self.run), indent=1).encode())
        self.recorded.add(result.student)
        if self.gradebook is not None:
            self.gradebook.put(result)
        return True

    def close(self) -> None:
        if self.gradebook is not None:
            self.gradebook.close()
            self.gradebook = None
        self._lock.close()


def recorded_seed(out: Path, assignment: str) -> tuple[int, bool] | None:
    """The competition seed an earlier run of ``assignment`` recorded in ``out`` and whether it
    was drawn (None: none recorded)."""
    try:
        record = json.loads((Path(out) / "competition.json").read_text())
        if record.get("assignment") != assignment:
            return None
        return competition.check_seed(int(record["seed"])), bool(record.get("drawn"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_competition(assignment: str, seed: int, drawn: bool, winners: list[str],
                       out: Path) -> Path:
    """Write the run's competition seed (and its winners) to ``out/competition.json``, readable
    by its owner only; return the file."""
    path = Path(out) / "competition.json"
    record = {"assignment": assignment, "seed": str(seed),
              "fingerprint": competition.fingerprint(seed), "drawn": drawn,
              "winners": winners}
    atomic_write(path, json.dumps(record, indent=1).encode(), mode=0o600)
    return path
