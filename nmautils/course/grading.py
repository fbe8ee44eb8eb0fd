"""A throw-away nbgrader course folder: generate the release, autograde submissions, read scores.

nbgrader's Python API shells out to ``alembic``, so the interpreter's ``bin`` folder is put on
``PATH`` here; the one question it asks alembic for every new gradebook (the newest database
revision) is answered in this process instead (:func:`use_in_process_alembic_head`). The
project's ``nbgrader_config.py`` is loaded, so tests and the main job grade exactly as an
instructor would.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from . import notebooks


class CourseNotFound(RuntimeError):
    """No nbgrader course folder (``nbgrader_config.py`` beside ``source/``) was found."""


def is_course_root(folder: Path) -> bool:
    """Whether ``folder`` is a course folder: ``nbgrader_config.py`` beside ``source/``."""
    return (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir()


def find_course_root(course_root: str | Path | None = None,
                     start: str | Path | None = None) -> Path:
    """The course folder: ``course_root`` when given, else the current folder or the nearest
    parent that holds ``nbgrader_config.py`` and ``source/`` (as nbgrader's CourseDirectory, which
    takes the folder it is run in).

    Raises
    ------
    CourseNotFound
        With what to do, when ``course_root`` is not a course folder or none is found.
    """
    if course_root is not None:
        folder = Path(course_root).expanduser().resolve()
        if not is_course_root(folder):
            raise CourseNotFound(f"{folder} is not a course folder: it needs nbgrader_config.py "
                                 "and a source/ folder with one folder per assignment.")
        return folder
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_course_root(folder):
            return folder
    raise CourseNotFound(f"No course folder at or above {here}: run the command in your course "
                         "folder (nbgrader_config.py + source/) or pass --root FOLDER.")


def resolve_root(course_root: str | Path | None = None) -> Path:
    """The course folder a function works on: ``course_root`` as given, else
    :func:`find_course_root`.

    Parameters
    ----------
    course_root : str or Path, optional
        The course folder (not checked: tests pass folders holding only what they need).

    Returns
    -------
    Path
        ``course_root``, or the current folder or its nearest parent that holds
        ``nbgrader_config.py`` and ``source/``.

    Raises
    ------
    CourseNotFound
        When ``course_root`` is None and no course folder is found.
    """
    return Path(course_root) if course_root is not None else find_course_root()


def __getattr__(name: str) -> Path:
    # The repository's tests still import ``REPO_ROOT`` (the checkout they run in); it is found
    # like every command's course folder, never from where this package is installed.
    if name == "REPO_ROOT":
        return find_course_root()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def ensure_tools_on_path() -> None:
    """Put the running interpreter's ``bin`` folder first on PATH (nbgrader calls alembic)."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != bindir:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read from its migration scripts.

    Returns
    -------
    str
        The revision id alembic's ``heads`` command prints, e.g. ``'e43177bfe90b'``.

    Raises
    ------
    RuntimeError
        If nbgrader's migration scripts do not have exactly one head.
    """
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    heads = ScriptDirectory.from_config(config).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"nbgrader's gradebook schema should have one newest revision, but "
                           f"its migration scripts have {len(heads)}: {heads}.")
    return heads[0]


def use_in_process_alembic_head() -> str:
    """Make nbgrader read its schema revision in this process, once; return the revision.

    nbgrader's ``Gradebook`` stamps every database it creates with that revision, which it gets
    by running ``alembic heads`` in a new process. That process imports nbgrader, about 4-5 s of
    CPU on the 2-core CI machine, and it runs for every new gradebook: once per graded student
    in the class grader, whose workers each write their own. The answer never changes, so
    ``nbgrader.api.get_alembic_version`` is replaced by a function returning :func:`alembic_head`
    computed here once (forked workers inherit it). Idempotent.
    """
    import nbgrader.api

    current = nbgrader.api.get_alembic_version
    head = getattr(current, "nmautils_head", None)
    if head is None:
        head = alembic_head()

        def get_alembic_version() -> str:
            return head

        get_alembic_version.nmautils_head = head  # type: ignore[attr-defined]
        get_alembic_version.__doc__ = "nbgrader's schema revision (read once by nmautils)."
        nbgrader.api.get_alembic_version = get_alembic_version
    return head


def load_config(root: Path, course_root: Path | None = None, timeout: int | None = None,
                sandbox: bool | None = None,
                settings: Mapping[str, Mapping[str, object]] | None = None):
    """The course's nbgrader configuration with ``CourseDirectory.root`` set to ``root``.

    ``course_root`` is the course folder whose ``nbgrader_config.py`` is read (default:
    :func:`resolve_root`).
    ``timeout`` (seconds per cell) overrides ``Execute.timeout`` (tests use a few seconds so that
    an endless loop is cheap). ``sandbox`` overrides ``GuardedExecute.sandbox`` (False: grade
    without the bubblewrap sandbox, an explicit opt-out). ``settings`` maps configurable classes
    to further traits and values (``{"ScoreCompetition": {"seed": ..., "key": ...}}``: the
    class grader's competition seed and key).
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg_file = resolve_root(course_root) / "nbgrader_config.py"
    config = PyFileConfigLoader(cfg_file.name, path=str(cfg_file.parent)).load_config()
    override = Config()
    override.CourseDirectory.root = str(root)
    if timeout is not None:
        override.Execute.timeout = int(timeout)
    if sandbox is not None:
        override.GuardedExecute.sandbox = bool(sandbox)
    for section, values in (settings or {}).items():
        override[section].update(values)
    config.merge(override)
    return config


@dataclass
class CellScore:
    """Score of one graded cell of one submission."""

    grade_id: str
    score: float | None
    max_score: float
    kind: str  # "autograded" or "manual"


def autograded_total(cells: Mapping[str, CellScore]) -> tuple[float, float]:
    """(score, maximum) summed over the autograded cells (a missing score counts 0)."""
    auto = [c for c in cells.values() if c.kind == "autograded"]
    return sum(c.score or 0.0 for c in auto), sum(c.max_score for c in auto)


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set environment variables for the block (kernels started inside inherit them; a value of
    None unsets the variable), then restore the previous values."""
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


#: Environment variables that set how many threads a kernel's numeric libraries start.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def thread_budget(parallel: int) -> dict[str, str]:
    """Thread settings for kernels of which ``parallel`` run at the same time.

    Each kernel gets ``available_cores() // parallel`` threads (at least one), so that kernels
    running side by side never ask for more threads than there are cores: on a 2-core machine,
    two kernels with two threads each spend most of their time waiting for each other. Stored
    outputs do not depend on the thread count (CI checks them under one thread and under all
    cores). A value the user set in the environment wins.

    Parameters
    ----------
    parallel : int
        How many kernels run at once (>= 1).

    Returns
    -------
    dict
        ``{"OMP_NUM_THREADS": "1", ...}``, for :func:`environment`.
    """
    if isinstance(parallel, bool) or not isinstance(parallel, int):
        raise TypeError(f"parallel should be an int, but got {type(parallel).__name__}.")
    if parallel < 1:
        raise ValueError(f"parallel should be >= 1, but got {parallel}.")
    threads = str(max(1, available_cores() // parallel))
    return {k: os.environ.get(k, threads) for k in THREAD_VARIABLES}


@dataclass
class SubmissionResult:
    """Everything grading one student's submission produced: the one result record of a
    submission, made by :meth:`GradingFolder.autograde` for a single autograde and for the class
    grader (:mod:`nmautils.course.classgrade`) alike. Plain data: it crosses process boundaries and is
    recorded as JSON.

    Attributes
    ----------
    student : str
        The student id (nbgrader's).
    status : str
        ``"graded"``, ``"missing"`` (no notebook), ``"flagged"`` (unreadable files, grading
        crashed) or ``"failed"`` (the class grader gave up: it killed its workers again and again).
    cells : dict
        ``{grade id: CellScore}`` of every graded cell.
    messages : list of str
        What the instructor should know (redacted; one line each).
    seconds : float
        Time spent grading it.
    competition : dict or None
        The signed competition result of the graded notebook (:mod:`nmautils.course.competition`).
    extra_credit : float
        Extra credit the class run awarded (the competition's bonus for the winners).
    worker : str
        Where it was graded (a Dask worker's address, or ``"local"``).
    log : str
        nbgrader's log of the autograde (kept in memory only, never recorded).
    """

    student: str
    status: str = "graded"
    cells: dict[str, CellScore] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0
    competition: dict | None = None
    extra_credit: float = 0.0
    worker: str = ""
    log: str = ""

    @property
    def score(self) -> float:
        """Points of the autograded cells (a cell without a score counts 0)."""
        return autograded_total(self.cells)[0]

    @property
    def max_score(self) -> float:
        """Points the autograded cells are worth."""
        return autograded_total(self.cells)[1]


class GradingFolder:
    """A scratch nbgrader course folder where assignments of a course are generated and graded.

    It holds copies of the course's source notebooks, its own gradebook and nbgrader's
    per-student folders; the instructor's course folder is only read.

    ``course_root`` is that course's folder (its ``nbgrader_config.py`` and ``source/``; default:
    :func:`resolve_root`). ``warmed`` names assignments whose caches the caller has already made
    (:meth:`warm_caches`), so that :meth:`autograde` does not make them again.
    """

    def __init__(self, root: Path, course_root: Path | None = None, timeout: int | None = None,
                 sandbox: bool | None = None,
                 settings: Mapping[str, Mapping[str, object]] | None = None,
                 warmed: Iterable[str] = ()):
        self.root = Path(root)
        self.course_root = resolve_root(course_root)
        ensure_tools_on_path()
        use_in_process_alembic_head()
        # nbgrader 0.9.6's gradebook triggers harmless SQLAlchemy "not in session" warnings on
        # every autograde; they bury the messages instructors need.
        warnings.filterwarnings("ignore", message=r"Object of type <Submitted")
        from nbgrader.apps import NbGraderAPI

        self.config = load_config(self.root, self.course_root, timeout, sandbox, settings)
        self.api = NbGraderAPI(config=self.config)
        self._warmed: set[str] = set(warmed)

    # -- set-up -----------------------------------------------------------------------------
    def add_source(self, assignment: str) -> None:
        """Copy ``source/<assignment>`` of the course folder into this course."""
        dst = self.root / "source" / assignment
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(self.course_root / "source" / assignment, dst)

    def generate(self, assignment: str) -> Path:
        """Run nbgrader generate_assignment; return the release folder of the assignment."""
        result = self.api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result['log']}")
        return self.root / "release" / assignment

    def submit(self, assignment: str, student: str, files: Mapping[str, NotebookNode]) -> None:
        """Place a student's notebooks (file name -> notebook) in ``submitted/``."""
        folder = self.root / "submitted" / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, nb in files.items():
            notebooks.write(nb, folder / name)

    def warm_caches(self, assignment: str) -> int:
        """Make, on this machine, the cached data that the assignment's notebooks compute with
        literal arguments (see :func:`warm_caches`), so that grading kernels, whose view of the
        data cache is read-only, restore them instead of recomputing them for every student."""
        return sum(warm_caches(notebooks.read(path))
                   for path in sorted((self.root / "source" / assignment).glob("*.ipynb")))

    # -- grading ----------------------------------------------------------------------------
    def autograde(self, assignment: str, student: str) -> SubmissionResult:
        """Autograde one submission in ``submitted/`` and read its per-cell scores.

        Single autogrades and the class grader's workers alike grade through here.

        Returns
        -------
        SubmissionResult
            The per-cell scores and nbgrader's log; ``status`` is ``"flagged"`` when nbgrader
            failed or recorded no score (its log says why), else ``"graded"``.
        """
        if assignment not in self._warmed:
            self.warm_caches(assignment)
            self._warmed.add(assignment)
        result = self.api.autograde(assignment, student, force=True, create=True)
        scores = self.scores(assignment, student)
        scores.log = result.get("log", "") or ""
        if not result["success"] or not scores.cells:
            scores.status = "flagged"
        return scores

    def scores(self, assignment: str, student: str) -> SubmissionResult:
        """Per-cell scores of one student's submission of ``assignment``."""
        from nbgrader.api import Gradebook, MissingEntry

        out = SubmissionResult(student)
        with Gradebook(self.api.coursedir.db_url) as gb:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                return out
            for nb in submission.notebooks:
                for grade in nb.grades:
                    kind = "autograded" if grade.cell.cell_type == "code" else "manual"
                    score = grade.auto_score if kind == "autograded" else grade.manual_score
                    out.cells[grade.name] = CellScore(grade.name, score, grade.max_score, kind)
        return out


#: Functions whose results the data cache keeps, by name: calls of them with literal arguments
#: are made once on the host before grading.
CACHED_FUNCTIONS = ("simulate_place_cells",)
_WARM: set[str] = set()  # calls made in this process


def warm_caches(nb: NotebookNode) -> int:
    """Call, on this machine, every :data:`CACHED_FUNCTIONS` call of the notebook's code cells
    whose arguments are literals (``simulate_place_cells(duration=600.0, n_cells=25)``), so that
    their results are in the data cache; return how many calls were made.

    Grading kernels see the data cache read-only (a student must not be able to change what the
    next student's kernel reads), so without this every graded notebook simulates tutorial 3's
    walks again. Only literal calls of the instructor's functions
    are made; a call that fails is skipped (the kernel will then report it).
    """
    import ast

    made = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # IPython syntax: no literal call to find here
        for node in ast.walk(tree):
            name = getattr(node, "func", None)
            name = getattr(name, "id", None) or getattr(name, "attr", None)
            if not isinstance(node, ast.Call) or name not in CACHED_FUNCTIONS:
                continue
            try:
                args = [ast.literal_eval(a) for a in node.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            except (ValueError, TypeError, SyntaxError):
                continue  # not literal: depends on the notebook's state
            key = f"{name}{args!r}{sorted(kwargs.items())!r}"
            if key in _WARM:
                continue
            try:
                from nmautils import placecells

                getattr(placecells, name)(*args, **kwargs)
            except Exception:  # noqa: BLE001 - only a missed speed-up
                continue
            _WARM.add(key)
            made += 1
    return made


@contextmanager
def temporary_grading_folder(course_root: Path | None = None, timeout: int | None = None,
                             sandbox: bool | None = None) -> Iterator[GradingFolder]:
    """A :class:`GradingFolder` in a fresh temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="nmautils-course-") as tmp:
        yield GradingFolder(Path(tmp), course_root, timeout, sandbox)


def generated_release(assignment: str, course_root: Path | None = None) -> NotebookNode:
    """The student notebook of ``assignment`` exactly as nbgrader generates it (in a throw-away
    course), for building sample submissions."""
    with temporary_grading_folder(course_root) as course:
        course.add_source(assignment)
        return notebooks.read(course.generate(assignment) / f"{assignment}.ipynb")
