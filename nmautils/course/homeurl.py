"""The course's URLs, written into every notebook's Colab badge and install cell.

Each URL lives in one place, the course folder's ``pyproject.toml``:

- the home URL, ``[project.urls] Homepage``: the instructor's repository (where instructors
  install the tools from);
- the students' URL, ``[tool.nmautils] students-url``: the public repository of the students'
  edition that ``python -m nmautils.course publish`` writes (:mod:`nmautils.course.publish`).

The notebooks carry :func:`notebook_url` - the students' URL, or the home URL in a course
without one - twice: the "Open in Colab" badge of the first cell
(``https://colab.research.google.com/github/<owner>/<repo>/blob/main/release/<a>/<a>.ipynb``)
and the set-up cell's ``%pip install "nmautils @ git+<url>"``. Both are read-only cells, so the
release that students receive must carry exactly the URLs of ``source/``, from which the
grader restores and compares them: :func:`write_home_url` (called by the build) rewrites them in
``source/`` when they differ, ``release/`` and ``solutions/`` follow, and the test suite fails
while any notebook carries another URL. A course folder without ``pyproject.toml`` has no URLs,
and the build leaves its notebooks' URLs alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
from nbformat import NotebookNode

from . import notebooks
from .grading import resolve_root

__all__ = ["BRANCH", "apply_home_url", "badge_url", "github_url", "home_url", "install_spec",
           "notebook_url", "students_url", "write_home_url"]

#: The branch the badges open (students get the release notebooks of this branch).
BRANCH = "main"

_GITHUB = re.compile(r"^https://github\.com/(?P<slug>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")
_BADGE = re.compile(
    r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w./-]+?"
    r"/release/(?P<name>[\w-]+)/(?P=name)\.ipynb"
)
_INSTALL = re.compile(r"nmautils @ git\+[^\"'\s]+")


def github_url(url: str, what: str = "the URL") -> str:
    """``url`` in the form ``https://github.com/<owner>/<repo>`` (no ``.git``, no slash).

    Parameters
    ----------
    url : str
        A repository address.
    what : str
        Where it was set, for the error message.

    Raises
    ------
    ValueError
        If it is not a ``https://github.com/<owner>/<repo>`` address (Colab opens notebooks from
        GitHub only).
    """
    match = _GITHUB.match(url or "")
    if not match:
        raise ValueError(f"{what} must be https://github.com/<owner>/<repo> (Colab opens "
                         f"notebooks from GitHub), got {url!r}")
    return f"https://github.com/{match['slug']}"


def _pyproject(course_root: Path | None) -> dict:
    path = resolve_root(course_root) / "pyproject.toml"
    return tomllib.loads(path.read_text()) if path.is_file() else {}


def _pyproject_setting(course_root: Path | None, table: str, key: str) -> str:
    """``key`` of the dotted ``table`` in the course's ``pyproject.toml`` ('' when unset)."""
    section = _pyproject(course_root)
    for name in table.split("."):
        section = section.get(name, {})
    return section.get(key, "")


def home_url(course_root: Path | None = None) -> str:
    """The course's repository URL: ``[project.urls] Homepage`` of ``pyproject.toml``.

    Parameters
    ----------
    course_root : Path, optional
        The course folder (default: :func:`~nmautils.course.grading.resolve_root`).

    Raises
    ------
    ValueError
        If it is missing or not a ``https://github.com/<owner>/<repo>`` address.
    """
    url = _pyproject_setting(course_root, "project.urls", "Homepage")
    return github_url(url, "pyproject.toml [project.urls] Homepage")


def students_url(course_root: Path | None = None) -> str:
    """The public repository of the students' edition: ``[tool.nmautils] students-url``.

    Parameters
    ----------
    course_root : Path, optional
        The course folder, whose ``pyproject.toml`` is read (found as by :func:`home_url`).

    Raises
    ------
    ValueError
        If it is missing (then ``publish`` needs ``--url``) or not a GitHub address.
    """
    url = _pyproject_setting(course_root, "tool.nmautils", "students-url")
    if not url:
        raise ValueError("no students' URL: set [tool.nmautils] students-url in the course's "
                         "pyproject.toml or pass --url https://github.com/<owner>/<repo>")
    return github_url(url, "pyproject.toml [tool.nmautils] students-url")


def notebook_url(course_root: Path | None = None) -> str:
    """The URL the notebooks carry: :func:`students_url` when the course has one, else
    :func:`home_url` (a course whose students use the instructor's repository itself).

    Raises
    ------
    ValueError
        If the one it takes is not a GitHub address, or neither is set.
    """
    has_students_url = bool(_pyproject_setting(course_root, "tool.nmautils", "students-url"))
    return students_url(course_root) if has_students_url else home_url(course_root)


def badge_url(home: str, assignment: str) -> str:
    """The Colab address of an assignment's release notebook."""
    slug = _GITHUB.match(home)["slug"]
    return (f"https://colab.research.google.com/github/{slug}/blob/{BRANCH}/release/"
            f"{assignment}/{assignment}.ipynb")


def install_spec(home: str) -> str:
    """The pip requirement of the install cell: ``nmautils @ git+<home>``."""
    return f"nmautils @ git+{home}"


def apply_home_url(nb: NotebookNode, home: str) -> bool:
    """Point the notebook's badges and install lines at ``home``; True when anything changed."""
    changed = False
    for cell in nb.cells:
        new = _BADGE.sub(lambda m: badge_url(home, m["name"]), cell.source)
        new = _INSTALL.sub(install_spec(home), new)
        if new != cell.source:
            cell.source, changed = new, True
    return changed


def write_home_url(names: list[str], course_root: Path | None = None) -> list[str]:
    """Rewrite the source notebooks of ``names`` whose URLs are not :func:`notebook_url`.

    Parameters
    ----------
    names : list of str
        Assignments of the course folder.
    course_root : Path, optional
        The course folder (default: :func:`~nmautils.course.grading.resolve_root`). Without a
        ``pyproject.toml`` there it has no URLs and nothing is rewritten.

    Returns
    -------
    list of str
        The assignments whose source notebook was rewritten.
    """
    course_root = resolve_root(course_root)
    if not (course_root / "pyproject.toml").is_file():
        return []
    home = notebook_url(course_root)
    changed = []
    for name in names:
        path = course_root / "source" / name / f"{name}.ipynb"
        nb = notebooks.read(path)
        if apply_home_url(nb, home):
            notebooks.write(nb, path)
            changed.append(name)
    return changed
