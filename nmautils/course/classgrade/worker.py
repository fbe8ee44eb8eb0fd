"""Grading one student on a worker: what a task carries, and what comes back.

A task is plain data: the class run's :class:`ClassContext` (the template course as a tar.gz,
the hidden tests' reference values, the settings; shipped to each worker once) and one
:class:`SubmissionTask` (the student's notebooks as bytes). :func:`grade_submission` unpacks the
template once per worker process, grades the student in a private copy of it with the course's
nbgrader configuration (:mod:`nmautils.course.guard`, every kernel sandboxed) and returns the
:class:`~nmautils.course.grading.SubmissionResult` with the autograded notebooks and feedback
as bytes. A worker needs ``nmautils[instructor]`` and bubblewrap; no file system shared with
the grader, which alone writes the output folder.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tarfile
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .. import competition, notebooks, redact
from ..grading import GradingFolder, SubmissionResult, environment
from .intake import first_line, intake, zero_scores

#: Folders of the template course a task never needs (nbgrader's per-student folders).
_PER_STUDENT = ("submitted", "autograded", "feedback")


@dataclass(frozen=True)
class ClassContext:
    """What every task of a class run shares (shipped to each worker once).

    Attributes
    ----------
    assignment : str
        The assignment graded.
    template : bytes
        The template course (:func:`pack_template`): the generated assignment, its gradebook and
        the course's ``nbgrader_config.py``.
    template_hash : str
        SHA-256 of ``template`` (names the worker's unpacked copy).
    references : dict
        The model answer's hidden-test values on ``fixture_seed``
        (:func:`nmautils.course.classgrade.prime_references`).
    fixture_seed : int
        Seed of the hidden tests' fixtures in this run.
    timeout : int or None
        Seconds per cell (None: the course's ``Execute.timeout``).
    submission_timeout : int or None
        Seconds for a whole submission (None: ``GuardedExecute.submission_timeout``).
    feedback : bool
        Also make sanitised HTML feedback.
    sandbox : bool
        Run kernels in the sandbox; a worker that cannot make one refuses the task.
    competition_seed : int or None
        The competition's held-out set (assignments with a competition).
    competition_key : str
        Signs this run's competition results.
    guard_settings : dict
        Further ``GuardedExecute`` traits.
    environment : dict
        Environment variables that decide what the notebooks compute (set on the worker while it
        grades; :data:`nmautils.course.classgrade.GRADING_VARIABLES`).
    """

    assignment: str
    template: bytes
    template_hash: str
    references: dict = field(default_factory=dict)
    fixture_seed: int = -1
    timeout: int | None = None
    submission_timeout: int | None = None
    feedback: bool = False
    sandbox: bool = True
    competition_seed: int | None = None
    competition_key: str = ""
    guard_settings: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SubmissionTask:
    """One student's part of a task: their notebooks, ``{file name: content}``."""

    student: str
    files: dict[str, bytes] = field(default_factory=dict)


# -- the template course ------------------------------------------------------------------------
def pack_template(folder: Path) -> bytes:
    """The template course ``folder`` as tar.gz bytes (per-student folders left out)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for path in sorted(Path(folder).iterdir()):
            if path.name not in _PER_STUDENT:
                tar.add(path, arcname=path.name)
    return buffer.getvalue()


_UNPACKED: dict[str, Path] = {}  # template hash -> this process's unpacked copy


def _scratch() -> Path:
    """Where this process keeps unpacked templates: the Dask worker's local directory (Dask
    clears those of dead workers), else a temporary folder."""
    try:
        from distributed import get_worker

        return Path(get_worker().local_directory)
    except (ImportError, ValueError):  # not running in a Dask worker
        return Path(tempfile.gettempdir())


def unpack_template(context: ClassContext) -> Path:
    """The template course of ``context``, unpacked once per process; the data the assignment's
    notebooks compute with literal arguments is made here then (read-only for the kernels)."""
    found = _UNPACKED.get(context.template_hash)
    if found is not None and found.is_dir():
        return found
    if hashlib.sha256(context.template).hexdigest() != context.template_hash:
        raise ValueError("the template course's bytes do not match their hash")
    folder = Path(tempfile.mkdtemp(prefix=f"classgrade-template-{context.template_hash[:12]}-",
                                   dir=_scratch()))
    with tarfile.open(fileobj=io.BytesIO(context.template), mode="r:gz") as tar:
        # the grader's own archive; the "data" filter (Python >= 3.11.4) refuses links out anyway
        tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    GradingFolder(folder, folder).warm_caches(context.assignment)
    _UNPACKED[context.template_hash] = folder
    return folder


def _where() -> str:
    """This process's name for the report: its Dask worker address, or ``local``."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


# -- grading ------------------------------------------------------------------------------------
def _settings(context: ClassContext) -> dict[str, dict]:
    """The ``GuardedExecute`` and ``ScoreCompetition`` settings of the run; its reference values
    go into this process's cache, so that the worker does not compute them again."""
    from .. import verdicts

    guard = {"fixture_seed": context.fixture_seed}
    if context.submission_timeout is not None:
        guard["submission_timeout"] = int(context.submission_timeout)
    guard.update(context.guard_settings)
    for key, values in context.references.items():
        verdicts.REFERENCES.setdefault(key, values)
    return {"GuardedExecute": guard,
            "ScoreCompetition": {"seed": context.competition_seed, "key": context.competition_key}}


def _cell_messages(nb: notebooks.NotebookNode, grade: SubmissionResult,
                   secret_lines: redact.Secrets | None = None) -> list[str]:
    """One message per test cell that lost points, plus every message the guard wrote."""
    from ..guard import MARK

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
                out.append(first_line(f"{gid}: {score or 0:g}/{max_score:g} - {reason}",
                                      secret_lines))
                continue
        for note in guard_notes:
            out.append(first_line(f"{gid or 'cell'}: {note.get('evalue')}", secret_lines))
    return out


def _log_error(log: str) -> str:
    """The last exception line of an nbgrader log (``SomeError: message``)."""
    errors = [line.strip() for line in log.splitlines()
              if re.match(r"^\s*[\w.]+(Error|Exception|Exit)\b.*:", line) and "[ERROR]" not in line]
    return errors[-1] if errors else " | ".join(log.strip().splitlines()[-2:])


def _files_under(folder: Path, prefix: str) -> dict[str, bytes]:
    """``{prefix/relative path: content}`` of the regular files under ``folder``."""
    return {f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def autograde(folder: GradingFolder, context: ClassContext, student: str,
              grade: SubmissionResult) -> dict[str, bytes]:
    """Autograde the intake of ``student`` in ``folder`` (:meth:`GradingFolder.autograde`);
    scores, messages and the competition's verified result go into ``grade``.

    Returns
    -------
    dict
        ``{"autograded/<file>": bytes, "feedback/<file>": bytes}``: the autograded notebooks and
        (with ``context.feedback``) the sanitised HTML feedback.
    """
    assignment = context.assignment
    secret_lines = redact.secrets_for_assignment(folder.root, assignment)
    result = folder.autograde(assignment, student)
    grade.cells.update(result.cells)
    if result.status != "graded" or not grade.cells:
        grade.status = "flagged"
        grade.messages.append(first_line("nbgrader autograde failed: " + _log_error(result.log),
                                         secret_lines))
        if not grade.cells:
            zero_scores(folder.root, assignment, grade)
        return {}
    graded = folder.root / "autograded" / student / assignment
    for path in sorted(graded.glob("*.ipynb")):
        nb = notebooks.read(path)
        grade.messages.extend(_cell_messages(nb, grade, secret_lines))
        if assignment in competition.COMPETITIONS:
            record = nb.metadata.get(competition.METADATA_KEY)
            grade.competition = competition.verified(record, context.competition_key)
            if record is not None and grade.competition is None:
                grade.messages.append("competition: the result is not signed by this grading "
                                      "run; ignored")
    files = _files_under(graded, "autograded")
    if context.feedback:
        from .. import feedback

        for html in feedback.generate(folder, assignment, student):
            files[f"feedback/{html.name}"] = html.read_bytes()
    return files


def grade_submission(context: ClassContext, task: SubmissionTask
                     ) -> tuple[SubmissionResult, dict[str, bytes]]:
    """Grade one student in a private copy of the template course (a worker's task).

    Returns
    -------
    tuple
        The student's :class:`~nmautils.course.grading.SubmissionResult` and their files
        (:func:`autograde`). Any failure of grading itself flags the submission; the run goes on.

    Raises
    ------
    nmautils.course.sandbox.SandboxUnavailable
        When ``context.sandbox`` is set and this machine cannot make a sandbox: the task fails
        with what to do, nothing is graded unsandboxed.
    """
    if context.sandbox:
        from ..sandbox import check_available

        check_available()
    start = time.perf_counter()
    grade = SubmissionResult(task.student, "graded", worker=_where())
    files: dict[str, bytes] = {}
    assignment = context.assignment
    template = unpack_template(context)
    try:
        with environment(context.environment), \
                tempfile.TemporaryDirectory(prefix=f"grade-{task.student}-") as tmp:
            received = Path(tmp) / "received"
            received.mkdir()
            for name, data in task.files.items():
                if Path(name).name != name or name.startswith("."):
                    raise ValueError(f"not a plain file name: {name!r}")
                (received / name).write_bytes(data)
            root = Path(tmp) / "course"
            shutil.copytree(template, root, ignore=shutil.ignore_patterns(*_PER_STUDENT))
            dest = root / "submitted" / task.student / assignment
            dest.mkdir(parents=True)
            if not intake(received, template, assignment, dest, grade):
                zero_scores(template, assignment, grade)
                if grade.status == "graded":
                    grade.status = "missing"
                return grade, files
            folder = GradingFolder(root, template, timeout=context.timeout,
                                   sandbox=context.sandbox, settings=_settings(context),
                                   warmed=[assignment])  # by unpack_template, once per worker
            files = autograde(folder, context, task.student, grade)
    except Exception as exc:  # never let one student stop the class run
        grade.status = "flagged"
        secret_lines = redact.secrets_for_assignment(template, assignment)
        grade.messages.append(first_line(f"grading crashed: {type(exc).__name__}: {exc}",
                                         secret_lines))
        grade.messages.append(first_line(traceback.format_exc().splitlines()[-1], secret_lines))
        if not grade.cells:
            zero_scores(template, assignment, grade)
    finally:
        grade.seconds = time.perf_counter() - start
    return grade, files
