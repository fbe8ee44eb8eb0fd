"""Fresh copies for tests that must not see this checkout: a clone of its files, and a virtual
environment that has this checkout's dependencies but not its ``nmautils``.

- :func:`fresh_clone` copies what a new user's clone holds (tracked files plus uncommitted, not
  ignored ones) into a new git repository with one commit, so uncommitted work is tested too.
- :func:`venv_with_checkout_deps` makes a venv whose ``site-packages`` gets this venv's through a
  ``.pth`` line (that folder's own ``.pth`` files, such as the editable install of nmautils, are
  not run), so the dependencies - torch from the local CPU wheel included - need no network and
  only the package under test is installed. Its pip is Colab's version: the pip bundled with
  Python 3.11 (23.2) rejects ``git+file:///`` requirements, which newer ones accept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

#: Colab's pip (its freeze of 2026-08-19).
COLAB_PIP = "pip==24.1.2"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; return its standard output."""
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def commit_all(repo: Path, message: str = "clone") -> None:
    """``git init`` (when needed), add every file and commit, as a throw-away identity."""
    if not (repo / ".git").exists():
        git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "--quiet",
        "-m", message)


def fresh_clone(dest: Path, repo: Path) -> Path:
    """A new git repository at ``dest`` holding ``repo``'s files as a clone would (tracked and
    untracked-but-not-ignored files, one commit)."""
    files = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, files):
        src = repo / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    commit_all(dest)
    return dest


@dataclass
class Venv:
    """A fresh virtual environment: its interpreter, its ``site-packages`` and an environment
    for its processes (no ``PYTHONPATH``)."""

    python: Path
    purelib: Path
    env: dict

    def pip_install(self, *args: str, cwd: Path) -> None:
        """``pip install --quiet ARGS`` into this venv."""
        subprocess.run([str(self.python), "-m", "pip", "install", "--quiet", *args],
                       check=True, env=self.env, cwd=cwd)


def venv_with_checkout_deps(path: Path, pip: str = COLAB_PIP) -> Venv:
    """A new venv at ``path`` that imports this venv's packages but not this checkout's
    ``nmautils``, with ``pip`` installed (a requirement, from the package index)."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", pip], check=True, env=env)
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "checkout_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return Venv(python, purelib, env)
