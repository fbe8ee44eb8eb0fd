"""Notebook and CI wall times.

Figures (one line each, see bench/common.py):

- ``notebook_<name>``: seconds to execute ``solutions/<name>/<name>.ipynb`` top to bottom with
  nbclient (kernel start included), under the build's environment
  (:data:`nmautils.course.build.EXECUTION_ENV`: surrogate data, no progress bars, CPU), in a
  temporary copy of its folder so nothing in the repository changes. Goal <= 60 s for a
  tutorial, <= 90 s for an assignment (``assignment*``).
- ``ci``: seconds of the last ``make test`` on this checkout, read from ``build/ci_seconds.txt``
  (the Makefile writes it; the note says when); ``n/a`` when it has never run here.

Run alone: ``python bench/bench_notebooks.py [--quick] [--only NAME]`` (``--quick`` changes
nothing here: a notebook is executed once either way).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
from common import REPO_ROOT, emit, standard_main, wanted

from nmautils.course.build import execute

FIGURES = ("notebook_", "ci")
CI_RECORD = REPO_ROOT / "build" / "ci_seconds.txt"


def solution_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    """``solutions/<name>/<name>.ipynb`` for every built assignment, sorted by name."""
    folder = root / "solutions"
    if not folder.is_dir():
        return []
    return sorted(p / f"{p.name}.ipynb" for p in folder.iterdir() if (p / f"{p.name}.ipynb").is_file())


def goal_for(name: str) -> str:
    return "<=90" if name.startswith("assignment") else "<=60"


def bench_notebook(path: Path) -> None:
    name = path.stem
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / name
        shutil.copytree(path.parent, work)
        nb = nbformat.read(work / path.name, as_version=4)
        try:
            seconds = execute(nb, work)
        except Exception as exc:  # a broken notebook is reported, the others still run
            emit(f"notebook_{name}", None, "s", goal_for(name), status="FAIL",
                 note=f"execution failed: {type(exc).__name__}")
            return
    emit(f"notebook_{name}", seconds, "s", goal_for(name), note="2 threads, kernel start included")


def ci_line(record: Path = CI_RECORD) -> str:
    """The ``ci`` figure from the Makefile's record: ``<seconds> <UTC time>`` on one line."""
    try:
        fields = record.read_text().split()
        seconds, when = float(fields[0]), " ".join(fields[1:]) or "unknown time"
    except (OSError, ValueError, IndexError):
        shown = record.relative_to(REPO_ROOT) if record.is_relative_to(REPO_ROOT) else record
        return emit("ci", None, "s", note=f"no record in {shown}: run `make test` first")
    return emit("ci", seconds, "s", note=f"recorded by `make test` at {when}, not measured now")


def run(quick: bool = False, only: str | None = None) -> None:
    for path in solution_notebooks():
        if wanted(f"notebook_{path.stem}", only):
            bench_notebook(path)
    if wanted("ci", only):
        ci_line()


def main(argv=None) -> None:
    standard_main(run, __doc__, argv, quick_help="accepted; changes nothing here")


if __name__ == "__main__":
    main()
