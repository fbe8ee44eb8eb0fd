"""Notebook and CI wall times.

Figures (one line each, see bench/common.py):

- ``notebook_<name>``: seconds to execute ``solutions/<name>/<name>.ipynb`` top to bottom with
  nbclient (kernel start included), under the build's environment
  (:data:`nmautils.course.build.EXECUTION_ENV`: surrogate data, no progress bars, CPU), in a
  temporary copy of its folder so nothing in the repository changes, expressed in reference
  seconds (``common.reference_seconds``: scaled by this machine's square-matmul rate, measured
  in the same run, against the reference machine's), so the goals mean the same on any
  machine; the note gives the seconds measured here. Goals (reference seconds): tutorial 2
  <= 40, tutorial 3 <= 20 (so that the slowest 2-vCPU machine seen, about 1.5-2x slower, stays
  under a minute), other tutorials <= 60, assignments (``assignment*``) <= 90.
- ``calibration_matmul``: the square-matmul GFLOP/s of this run (``common.matmul_gflops``).
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
from common import REPO_ROOT, emit, matmul_gflops, reference_seconds, standard_main, wanted

from nmautils.course.build import execute

FIGURES = ("notebook_", "calibration_matmul", "ci")

#: Goals in reference seconds (see the module docstring); others: 60 (tutorials), 90.
GOALS = {"tutorial2_encoding": "<=40", "tutorial3_backprop": "<=20"}
CI_RECORD = REPO_ROOT / "build" / "ci_seconds.txt"


def solution_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    """``solutions/<name>/<name>.ipynb`` for every built assignment, sorted by name."""
    folder = root / "solutions"
    if not folder.is_dir():
        return []
    return sorted(p / f"{p.name}.ipynb" for p in folder.iterdir() if (p / f"{p.name}.ipynb").is_file())


def goal_for(name: str) -> str:
    return GOALS.get(name, "<=90" if name.startswith("assignment") else "<=60")


def execute_in_copy(path: Path, config: str = "native") -> float:
    """Execute a solution notebook in a temporary copy of its folder (nothing in the repository
    changes) under the build's environment and the numeric ``config``; return the seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / path.parent.name
        shutil.copytree(path.parent, work)
        return execute(nbformat.read(work / path.name, as_version=4), work, config=config)


def bench_notebook(path: Path, gflops: float) -> None:
    name = path.stem
    try:
        seconds = execute_in_copy(path)
    except Exception as exc:  # a broken notebook is reported, the others still run
        emit(f"notebook_{name}", None, "s", goal_for(name), status="FAIL",
             note=f"execution failed: {type(exc).__name__}")
        return
    emit(f"notebook_{name}", reference_seconds(seconds, gflops), "ref_s", goal_for(name),
         note=f"{seconds:.1f} s here at {gflops:.0f} GFLOP/s; kernel start included")


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
    paths = [p for p in solution_notebooks() if wanted(f"notebook_{p.stem}", only)]
    if wanted("calibration_matmul", only):
        emit("calibration_matmul", matmul_gflops(), "GFLOP/s",
             note="2048 x 2048 float32, torch threads")
    for path in paths:  # calibrated right before each notebook: the same machine load
        bench_notebook(path, matmul_gflops())
    if wanted("ci", only):
        ci_line()


def main(argv=None) -> None:
    standard_main(run, __doc__, argv, quick_help="accepted; changes nothing here")


if __name__ == "__main__":
    main()
