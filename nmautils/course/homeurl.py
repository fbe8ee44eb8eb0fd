"""The course's one home URL, written into every notebook's Colab badge and install cell.

The repository URL lives in one place, ``[project.urls] Homepage`` of ``pyproject.toml``. The
notebooks carry it twice: the "Open in Colab" badge of the first cell
(``https://colab.research.google.com/github/<owner>/<repo>/blob/main/release/<a>/<a>.ipynb``)
and the set-up cell's ``%pip install "nmautils @ git+<home>"``. :func:`write_home_url` (called by
the build) rewrites both in ``source/`` when they differ, so ``release/`` and ``solutions/``
follow; the test suite fails while any notebook carries another URL.
"""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
from nbformat import NotebookNode

from . import notebooks
from .grading import REPO_ROOT

__all__ = ["BRANCH", "apply_home_url", "badge_url", "home_url", "install_spec", "write_home_url"]

#: The branch the badges open (students get the release notebooks of this branch).
BRANCH = "main"

_GITHUB = re.compile(r"^https://github\.com/(?P<slug>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")
_BADGE = re.compile(
    r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w./-]+?"
    r"/release/(?P<name>[\w-]+)/(?P=name)\.ipynb"
)
_INSTALL = re.compile(r"nmautils @ git\+[^\"'\s]+")


def home_url(repo_root: Path = REPO_ROOT) -> str:
    """The repository URL: ``[project.urls] Homepage`` of ``pyproject.toml``.

    Raises
    ------
    ValueError
        If it is missing or not a ``https://github.com/<owner>/<repo>`` address (Colab opens
        notebooks from GitHub only).
    """
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    url = project.get("urls", {}).get("Homepage", "")
    match = _GITHUB.match(url)
    if not match:
        raise ValueError(
            f"pyproject.toml [project.urls] Homepage must be https://github.com/<owner>/<repo> "
            f"(Colab opens notebooks from GitHub), got {url!r}"
        )
    return f"https://github.com/{match['slug']}"


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


def write_home_url(names: list[str], repo_root: Path = REPO_ROOT) -> list[str]:
    """Rewrite the source notebooks of ``names`` whose URLs are not the home URL.

    Returns
    -------
    list of str
        The assignments whose source notebook was rewritten.
    """
    home = home_url(repo_root)
    changed = []
    for name in names:
        path = repo_root / "source" / name / f"{name}.ipynb"
        nb = notebooks.read(path)
        if apply_home_url(nb, home):
            notebooks.write(nb, path)
            changed.append(name)
    return changed
