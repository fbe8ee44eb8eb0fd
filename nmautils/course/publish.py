"""The students' edition of a course: what its public repository holds.

A graded course lives in two repositories: the instructor's private one (this package's layout:
``source/`` with solutions, hidden tests and model answers, the tests, the instructor tools) and
a public one for students, written by::

    python -m nmautils.course publish OUT [ASSIGNMENT ...] [--url URL] [--with-solutions A ...]

``OUT`` then holds, and nothing else::

    README.md                      how students open, install and update the notebooks
    pyproject.toml                 the student package: nmautils without nmautils.course
    nmautils/                      its modules and data (the matplotlib style)
    release/<assignment>/          nbgrader's student version of each published assignment
    solutions/<assignment>/        the executed solution, only of practice tutorials named
                                   with --with-solutions (never by default, never of a graded one)
    .nmautils-edition.json         what publish wrote there (publishing again replaces it)

The notebooks' Colab badges open ``URL``'s ``release/`` and their set-up cell installs
``nmautils @ git+URL``: students need nothing else. ``URL`` is the course's
``[tool.nmautils] students-url`` (:func:`nmautils.course.homeurl.students_url`) unless given.

Before anything reaches ``OUT`` the edition is assembled in a temporary folder and every file of
it (notebook sources and outputs, the package, README, pyproject) is scanned for the *secret
lines* of every assignment of the course (:func:`course_secrets`, from
:func:`nmautils.course.redact.secrets_from_notebooks`: lines of solutions, hidden tests, mark
schemes and model answers that no release notebook of the course shows, less the lines the
course declares public). One found refuses the whole edition; the one exception is a published
practice solution showing lines of another practice tutorial's solution, which is reported.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
from nbformat import NotebookNode

from . import build, homeurl, notebooks, redact
from .grading import resolve_root, temporary_grading_folder

__all__ = ["MARKER", "Edition", "LeakFound", "PublishError", "course_secrets",
           "graded_assignments", "is_graded", "public_lines", "publish", "scan",
           "student_package"]

#: The file in which publish records what it wrote into the edition's folder.
MARKER = ".nmautils-edition.json"
#: Files a new repository may already hold (GitHub's first commit) that publish leaves alone.
FOREIGN_OK = ("README", "LICENSE", ".gitignore", ".gitattributes", ".github", ".git")
#: The instructor part of the package, never published.
INSTRUCTOR_PACKAGE = "course"
# a student module importing the instructor tools would fail where students install the package
_IMPORTS_COURSE = re.compile(r"^\s*(?:from\s+(?:nmautils|\.)?\.?course\b|import\s+nmautils\.course\b"
                             r"|from\s+(?:nmautils|\.)\s+import\s+[^#\n]*\bcourse\b)", re.M)


class PublishError(RuntimeError):
    """The edition cannot be written as asked (what to do is in the message)."""


class LeakFound(PublishError):
    """A secret line of the course stands in a file of the edition; nothing was written."""


@dataclass
class Edition:
    """What :func:`publish` wrote."""

    folder: Path
    url: str
    assignments: list[str]
    solutions: list[str]
    files: list[str] = field(default_factory=list)  # relative to ``folder``
    #: assignments whose source notebooks carry other URLs than ``url`` (rewritten here)
    rewritten: list[str] = field(default_factory=list)
    #: (file, assignment, line): lines of other practice assignments' solutions or tests that a
    #: published solution shows too
    shared: list[tuple[str, str, str]] = field(default_factory=list)


# -- which assignments are graded ---------------------------------------------------------------
def is_graded(nb: NotebookNode) -> bool:
    """Whether a source notebook is a graded assignment rather than practice.

    The notebook says so itself: a graded assignment has manually graded cells worth points
    (written answers or tasks with points > 0) or extra-credit cells (grade id containing
    ``extracredit``). Practice tutorials have autograded checks and unmarked (0-point) written
    questions only. In this course ``assignment3_interpret`` is graded.

    Parameters
    ----------
    nb : NotebookNode
        A source notebook (with nbgrader metadata).

    Returns
    -------
    bool
    """
    return any((c.kind in ("written", "task") and c.points > 0) or "extracredit" in c.grade_id
               for c in notebooks.graded_cells(nb))


def graded_assignments(course_root: Path | None = None) -> list[str]:
    """The assignments of the course folder whose source notebook :func:`is_graded`."""
    course_root = resolve_root(course_root)
    return [a for a in build.assignments(course_root)
            if any(is_graded(notebooks.read(p))
                   for p in (course_root / "source" / a).glob("*.ipynb"))]


# -- the student package ------------------------------------------------------------------------
@dataclass(frozen=True)
class StudentPackage:
    """The package students install: where its files are and its ``[project]`` table."""

    folder: Path  # the ``nmautils`` package folder (its ``course/`` is left out)
    project: dict


def _project_from_pyproject(data: Mapping) -> dict:
    project = data["project"]
    keep = ("name", "version", "description", "requires-python", "license", "classifiers",
            "dependencies")
    return {k: project[k] for k in keep if k in project}


def _project_from_metadata() -> dict:
    from importlib.metadata import distribution

    meta = distribution("nmautils").metadata
    # a requirement with an "extra" marker belongs to the instructor or dev extras
    deps = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    project = {"name": meta["Name"], "version": meta["Version"], "dependencies": deps}
    if meta.get("Summary"):
        project["description"] = meta["Summary"]
    if meta.get("Requires-Python"):
        project["requires-python"] = meta["Requires-Python"]
    if meta.get("License"):
        project["license"] = {"text": meta["License"]}
    if meta.get_all("Classifier"):
        project["classifiers"] = list(meta.get_all("Classifier"))
    return project


def student_package(course_root: Path | None = None) -> StudentPackage:
    """The package to publish: the course folder's own ``nmautils`` when it has this package's
    layout (``pyproject.toml`` of project ``nmautils`` beside ``nmautils/``), else the installed
    ``nmautils`` that runs these tools, with its installed metadata.

    Returns
    -------
    StudentPackage
        Its ``project`` keeps name, version, description, Python and licence, classifiers and
        dependencies; the optional (instructor and dev) dependencies are dropped.
    """
    course_root = resolve_root(course_root)
    pyproject = course_root / "pyproject.toml"
    if pyproject.is_file() and (course_root / "nmautils" / "__init__.py").is_file():
        data = tomllib.loads(pyproject.read_text())
        if data.get("project", {}).get("name") == "nmautils":
            return StudentPackage(course_root / "nmautils", _project_from_pyproject(data))
    import nmautils

    return StudentPackage(Path(nmautils.__file__).resolve().parent, _project_from_metadata())


def package_files(folder: Path) -> list[Path]:
    """The student part of the package folder: every file but the instructor tools
    (``course/``), caches and compiled files, as paths relative to ``folder``."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (not path.is_file() or rel.parts[0] == INSTRUCTOR_PACKAGE or "__pycache__" in rel.parts
                or path.suffix in (".pyc", ".pyo") or rel.name.startswith(".")):
            continue
        out.append(rel)
    return out


def _toml(value) -> str:
    # JSON's strings and arrays are valid TOML for the plain values a [project] table holds
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[\n" + "".join(f"    {json.dumps(v)},\n" for v in value) + "]"
    return json.dumps(value)


def pyproject_text(project: Mapping, url: str, package_data: Mapping[str, list[str]]) -> str:
    """The edition's ``pyproject.toml``: ``project`` with ``url`` as its home and the README."""
    lines = ['[build-system]', 'requires = ["setuptools>=68", "wheel"]',
             'build-backend = "setuptools.build_meta"', "", "[project]"]
    for key, value in project.items():
        lines.append(f"{key} = {_toml(value)}")
        if key == "description":
            lines.append('readme = "README.md"')
    lines += ["", "[project.urls]", f"Homepage = {json.dumps(url)}", "",
              "[tool.setuptools.packages.find]", 'include = ["nmautils*"]', "",
              "[tool.setuptools.package-data]"]
    lines += [f"{json.dumps(pkg)} = {json.dumps(sorted(globs))}"
              for pkg, globs in sorted(package_data.items())]
    return "\n".join(lines) + "\n"


def _package_data(files: Iterable[Path]) -> dict[str, list[str]]:
    globs = {str(rel.parent / f"*{rel.suffix}") if rel.parent != Path(".") else f"*{rel.suffix}"
             for rel in files if rel.suffix != ".py"}
    return {"nmautils": sorted(globs)} if globs else {}


# -- the README ---------------------------------------------------------------------------------
def _title(nb: NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def readme_text(url: str, titles: Mapping[str, str], solutions: Iterable[str]) -> str:
    """The students' README: the notebooks with their badges, how to start, install, update."""
    rows = "\n".join(
        f"| {title} | `release/{a}/{a}.ipynb` | [![Open In Colab]"
        f"(https://colab.research.google.com/assets/colab-badge.svg)]({homeurl.badge_url(url, a)}) |"
        for a, title in titles.items())
    solutions = list(solutions)
    solved = "".join(f"\n- `solutions/{a}/{a}.ipynb`" for a in solutions)
    return f"""# Deep Learning for Neural Data: the students' edition

The course's notebooks and `nmautils`, the helper package they import.

| notebook | file | open |
| --- | --- | --- |
{rows}

1. Open a notebook from its **Open in Colab** badge, then run its first code cell: on Colab it
   installs `nmautils` from this repository (about a minute) and prints the device your networks
   train on.
2. Work through the notebook top to bottom and run the check cell below each exercise: it says
   at once whether your answer works. Your submission is also graded by hidden tests.
3. New notebooks appear here during the course: open them from this page, or `git pull` your
   clone. Your own copies (Colab saves them in your Google Drive) are not touched.

To work on your own machine: `pip install "nmautils @ git+{url}"`, clone this repository and
open `release/<notebook>/<notebook>.ipynb` in Jupyter.
""" + (f"\nWorked solutions of practice tutorials:{solved}\n" if solutions else "")


# -- the leak scan ------------------------------------------------------------------------------
def _scan_text(path: Path) -> str:
    """A file's text as people can read it: a notebook without its binary outputs."""
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return text
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            for key in redact.BINARY_KEYS & set(output.get("data", {})):
                output["data"][key] = ""
    return json.dumps(nb, indent=1, ensure_ascii=False)


def public_lines(course_root: Path | None = None) -> list[str]:
    """Lines that the course declares public although a solution has them too:
    ``[tool.nmautils] public-lines`` of its ``pyproject.toml`` (none without one).

    They are lines that the student package shares with a solution by chance (plotting idioms
    such as ``if ax is None:``); the instructor lists them after reading them, so that the leak
    scan can stay strict about everything else.
    """
    path = resolve_root(course_root) / "pyproject.toml"
    if not path.is_file():
        return []
    lines = tomllib.loads(path.read_text()).get("tool", {}).get("nmautils", {}).get(
        "public-lines", [])
    return [str(line) for line in lines]


def course_secrets(course_root: Path | None, releases: Iterable[NotebookNode]
                   ) -> dict[str, redact.Secrets]:
    """The secret lines of every assignment of the course.

    A line of a solution, hidden test, mark scheme or model answer in ``source/`` is secret
    unless students see it anyway: in a release notebook of the course (any assignment's: the
    tutorials share code such as a network's layers) or in :func:`public_lines`.

    Parameters
    ----------
    course_root : Path or None
        The course folder (None: :func:`~nmautils.course.grading.resolve_root`).
    releases : iterable of NotebookNode
        nbgrader's release notebooks of every assignment of the course.

    Returns
    -------
    dict of str to Secrets
        For every assignment in ``source/``, published or not.
    """
    course_root = resolve_root(course_root)
    releases = list(releases)
    public = public_lines(course_root)
    out = {}
    for name in build.assignments(course_root):
        sources = [notebooks.read(p)
                   for p in sorted((course_root / "source" / name).glob("*.ipynb"))]
        out[name] = redact.secrets_from_notebooks(sources, releases).without(public)
    return out


def scan(folder: Path, secrets: Mapping[str, redact.Secrets],
         allowed: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """Every secret line that stands in a file of ``folder``.

    Parameters
    ----------
    folder : Path
        The edition (every file is read; ``.git`` is skipped).
    secrets : mapping of str to Secrets
        Each assignment's secret lines (:func:`nmautils.course.redact.secrets_from_notebooks`).
    allowed : mapping of str to str, optional
        Folders (relative, ``solutions/<a>``) mapped to the one assignment whose secrets may
        stand there (its published solution).

    Returns
    -------
    list of (str, str, str)
        ``(file, assignment, secret line)`` for each find, in file order.
    """
    allowed = dict(allowed or {})
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or ".git" in rel.parts:
            continue
        text = _scan_text(path)
        own = next((a for prefix, a in allowed.items()
                    if rel.as_posix().startswith(prefix.rstrip("/") + "/")), None)
        for assignment, lines in secrets.items():
            if assignment == own:
                continue
            found += [(rel.as_posix(), assignment, line) for line in lines.found_in(text)]
    return found


# -- publishing ---------------------------------------------------------------------------------
def _check_names(names: list[str], available: list[str], what: str) -> None:
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise PublishError(f"{what}: no such assignment in source/: {', '.join(unknown)} "
                           f"(there are: {', '.join(available)})")


def _prepare_out(out: Path, course_root: Path) -> list[str]:
    """Check that ``out`` may receive the edition; return the files a previous one left there."""
    out = out.resolve()
    if (out == course_root or course_root.is_relative_to(out)
            or out.is_relative_to(course_root / "source")):
        raise PublishError(f"{out} holds the course itself; publish into a folder of its own "
                           "(a clone of the students' repository)")
    if not out.exists():
        return []
    if not out.is_dir():
        raise PublishError(f"{out} is not a folder")
    marker = out / MARKER
    if marker.is_file():
        return list(json.loads(marker.read_text()).get("files", []))
    foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith(FOREIGN_OK))
    if foreign:
        raise PublishError(f"{out} holds files that publish did not write ({', '.join(foreign[:5])}"
                           f"{', ...' if len(foreign) > 5 else ''}); give an empty folder or a "
                           "clone of the students' repository")
    return []


def _release(course_root: Path, names: list[str], url: str, stage: Path, others: Path) -> list[str]:
    """nbgrader's release of every assignment, generated from copies of the sources that carry
    ``url``: ``names`` into ``stage/release``, the others into ``others`` (for the leak scan
    only); return the published assignments whose sources carried other URLs."""
    rewritten = []
    with temporary_grading_folder(course_root) as course:
        for name in build.assignments(course_root):
            course.add_source(name)
            for path in sorted((course.root / "source" / name).glob("*.ipynb")):
                nb = notebooks.read(path)
                if homeurl.apply_home_url(nb, url) and name in names:
                    rewritten.append(name)
                notebooks.write(nb, path)  # so that nbgrader's checksums cover the URLs
            dest = stage / "release" / name if name in names else others / name
            shutil.copytree(course.generate(name), dest)
    return sorted(set(rewritten))


def _solution(course_root: Path, name: str, url: str, stage: Path) -> None:
    """The built, executed solution of ``name`` into ``stage/solutions``; it must be current."""
    path = build.solution_path(name, course_root)
    if not build.solution_is_current(name, course_root):
        raise PublishError(f"solutions/{name} is missing or older than source/{name}: run "
                           "`python -m nmautils.course build` first")
    nb = notebooks.read(path)
    homeurl.apply_home_url(nb, url)
    notebooks.write(nb, stage / "solutions" / name / path.name)


def publish(out: str | Path, names: Iterable[str] | None = None, url: str | None = None,
            with_solutions: Iterable[str] = (), course_root: Path | None = None) -> Edition:
    """Write the students' edition of the course into ``out``.

    Parameters
    ----------
    out : str or Path
        An empty or new folder, a clone of the students' repository, or a folder publish wrote
        before (the files it wrote then are replaced; others, such as ``.git`` or a LICENSE,
        stay).
    names : iterable of str, optional
        The assignments to publish (default: every one in ``source/``). Publishing week by week
        means naming those released so far: the edition holds exactly these.
    url : str, optional
        The students' repository, ``https://github.com/<owner>/<repo>`` (default: the course's
        ``[tool.nmautils] students-url``).
    with_solutions : iterable of str
        Practice assignments (published ones) whose executed solution from ``solutions/`` is
        added; a graded assignment (:func:`is_graded`) is refused.
    course_root : Path, optional
        The course folder (default: :func:`~nmautils.course.grading.resolve_root`).

    Returns
    -------
    Edition
        What was written.

    Raises
    ------
    PublishError
        When an assignment is unknown, a solution is graded or stale, ``out`` holds the course or
        foreign files, or the package imports the instructor tools.
    LeakFound
        When a secret line of the course stands in the assembled edition (nothing is written).
    """
    course_root = resolve_root(course_root).resolve()
    available = build.assignments(course_root)
    names = list(dict.fromkeys(names or available))
    solved = list(dict.fromkeys(with_solutions))
    _check_names(names, available, "publish")
    _check_names(solved, available, "--with-solutions")
    if set(solved) - set(names):
        raise PublishError("--with-solutions names assignments that are not published: "
                           + ", ".join(sorted(set(solved) - set(names))))
    graded = set(graded_assignments(course_root))
    if graded & set(solved):
        raise PublishError("refusing to publish the solution of a graded assignment: "
                           + ", ".join(sorted(graded & set(solved))))
    url = homeurl.github_url(url, "--url") if url else homeurl.students_url(course_root)
    out = Path(out)
    previous = _prepare_out(out, course_root)

    package = student_package(course_root)
    with tempfile.TemporaryDirectory(prefix="nmautils-edition-") as tmp:
        stage, others = Path(tmp) / "edition", Path(tmp) / "unpublished"
        stage.mkdir()
        rewritten = _release(course_root, names, url, stage, others)
        for name in solved:
            _solution(course_root, name, url, stage)
        files = package_files(package.folder)
        for rel in files:
            text = (package.folder / rel).read_bytes()
            if rel.suffix == ".py" and _IMPORTS_COURSE.search(text.decode("utf-8", "replace")):
                raise PublishError(f"nmautils/{rel} imports nmautils.course, which students do "
                                   "not get")
            (stage / "nmautils" / rel).parent.mkdir(parents=True, exist_ok=True)
            (stage / "nmautils" / rel).write_bytes(text)
        (stage / "pyproject.toml").write_text(
            pyproject_text(package.project, url, _package_data(files)))
        titles = {name: _title(notebooks.read(build.release_path(name, stage)), name)
                  for name in names}
        (stage / "README.md").write_text(readme_text(url, titles, solved))

        releases = sorted([*(stage / "release").glob("*/*.ipynb"), *others.glob("*/*.ipynb")])
        secrets = course_secrets(course_root, [notebooks.read(p) for p in releases])
        found = scan(stage, secrets, {f"solutions/{a}": a for a in solved})
        # practice solutions share lines (a network's layers); a graded assignment's never show
        shared = [f for f in found if f[0].startswith("solutions/") and f[1] not in graded]
        leaks = [f for f in found if f not in shared]
        if leaks:
            shown = "\n".join(f"  {f}: {a}: {line}" for f, a, line in leaks[:10])
            raise LeakFound(f"the edition would show {len(leaks)} secret line(s) of the course; "
                            f"nothing was written:\n{shown}")

        written = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
        for rel in previous:
            old = out / rel
            # the record is read from the students' repository: nothing outside it is touched
            if (old.is_file() and ".git" not in Path(rel).parts
                    and old.resolve().is_relative_to(out.resolve())):
                old.unlink()
        _prune(out)
        for rel in written:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(stage / rel, out / rel)
    edition = Edition(out, url, names, solved, written + [MARKER], rewritten, shared)
    (out / MARKER).write_text(json.dumps(
        {"url": url, "assignments": names, "solutions": solved,
         "nmautils": package.project.get("version"), "files": edition.files}, indent=1) + "\n")
    return edition


def _prune(folder: Path) -> None:
    """Remove the empty folders below ``folder`` (not ``.git``)."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        if path.is_dir() and ".git" not in path.relative_to(folder).parts and not any(path.iterdir()):
            path.rmdir()
