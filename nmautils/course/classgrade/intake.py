"""Intake: what a student handed in, read on the grader as data and checked on the worker.

On the grader, :func:`pack_submission` reads a student's notebooks as bytes (the task carries
them: workers need no shared file system) and :func:`content_hash` names that content, so that a
later run knows whether it has graded exactly these files. On the worker, :func:`intake` checks
them before nbgrader sees them:

- no notebook at all -> every cell 0, status ``missing``;
- a notebook under another name (``Copy of x.ipynb``) when the expected one is absent -> graded
  as the expected notebook, with a message;
- a notebook that is not valid JSON -> every cell 0, status ``flagged``, the run goes on;
- deleted or edited test/read-only cells -> deleted ones are put back, nbgrader restores edited
  ones from the gradebook; the instructor is told which;
- answers that reach into function internals -> a message asking for a review by hand.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
from pathlib import Path

from .. import notebooks, redact
from ..grading import CellScore, SubmissionResult

#: Characters of one report message (longer ones are cut, after redaction).
MESSAGE_CHARS = 300


def find_students(submitted: Path) -> list[str]:
    """The student folders of ``submitted`` (hidden folders left out), sorted."""
    return sorted(p.name for p in Path(submitted).iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def student_files(folder: Path, assignment: str) -> Path:
    """The folder holding a student's notebooks: ``<student>/<assignment>/`` when it exists
    (nbgrader's layout), else ``<student>/``."""
    nested = Path(folder) / assignment
    return nested if nested.is_dir() else Path(folder)


def pack_submission(folder: Path, assignment: str) -> dict[str, bytes]:
    """The notebooks a student handed in, ``{file name: content}``.

    Only regular files named ``*.ipynb`` are read: a symbolic link is not followed (the grader
    may run as root and would send whatever it points to), so a linked notebook counts as absent.
    """
    files = student_files(folder, assignment)
    if not files.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(files.glob("*.ipynb"))
            if p.is_file() and not p.is_symlink()}


def content_hash(files: dict[str, bytes]) -> str:
    """SHA-256 of a submission's file names and contents (the order of ``files`` is ignored)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def expected_notebooks(template: Path, assignment: str) -> list[str]:
    """File names of the assignment's release notebooks in the template course."""
    return sorted(p.name for p in (Path(template) / "release" / assignment).glob("*.ipynb"))


def first_line(text: str, secret_lines: redact.Secrets | None = None) -> str:
    """``text`` redacted, on one line, cut to :data:`MESSAGE_CHARS`."""
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


def zero_scores(template: Path, assignment: str, grade: SubmissionResult) -> None:
    """Every graded cell at 0 (a submission nbgrader cannot grade)."""
    for name in expected_notebooks(template, assignment):
        nb = notebooks.read(Path(template) / "source" / assignment / name)
        for cell in notebooks.graded_cells(nb):
            if cell.kind in ("test", "written", "task"):
                kind = "autograded" if cell.cell_type == "code" else "manual"
                grade.cells[cell.grade_id] = CellScore(cell.grade_id, 0.0, cell.points, kind)


def intake(files: Path, template: Path, assignment: str, dest: Path,
           grade: SubmissionResult) -> int:
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
            grade.messages.append(first_line(
                f"{name}: cannot be read ({type(exc).__name__}: {exc}); its cells score 0"))
            continue
        release = notebooks.read(Path(template) / "release" / assignment / name)
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
