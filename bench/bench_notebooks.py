"""Notebook and CI wall times, and each training-heavy notebook against its floor.

Figures (one line each, see bench/common.py):

- ``notebook_<name>``: seconds to execute ``solutions/<name>/<name>.ipynb`` top to bottom with
  nbclient (kernel start included), under the build's environment
  (:data:`nmautils.course.build.EXECUTION_ENV`: surrogate data, no progress bars, CPU), in a
  temporary copy of its folder so nothing in the repository changes. Information only: seconds
  depend on the machine and its load. The note names the three slowest cells.
- ``notebook_<name>_vs_floor`` (tutorials 2 and 3): the notebook's seconds / its floor, the least
  it can take with its data, iterations and hyper-parameters fixed and its other cells as they
  are: the kernels of its training cells timed alone (``bench/floors.py``) right after the
  notebook, plus the measured time of everything else (its other cells, the kernel start).
  Goal <= 1.3: the training cells cost at most 30 % more than their kernels need.
- ``ci``: seconds of the last ``make test`` on this checkout, read from ``build/ci_seconds.txt``
  (the Makefile writes it; the note says when); ``n/a`` when it has never run here.

Run alone: ``python bench/bench_notebooks.py [--quick] [--only NAME]`` (``--quick``: fewer
repetitions of the floors' kernels; a notebook is executed once either way).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import nbformat
from common import REPO_ROOT, emit, standard_main, wanted
from floors import TRAINING_CELLS, floor_seconds

from nmautils.course.build import execute

FLOOR_GOAL = "<=1.3"
CI_RECORD = REPO_ROOT / "build" / "ci_seconds.txt"


def solution_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    """``solutions/<name>/<name>.ipynb`` for every built assignment, sorted by name."""
    folder = root / "solutions"
    if not folder.is_dir():
        return []
    return sorted(p / f"{p.name}.ipynb" for p in folder.iterdir() if (p / f"{p.name}.ipynb").is_file())


def execute_in_copy(path: Path, config: str = "native", first_cell: str = "") -> float:
    """Execute a solution notebook in a temporary copy of its folder (nothing in the repository
    changes) under the build's environment and the numeric ``config``; return the seconds.
    ``first_cell``, if given, is the source of a code cell run before the notebook's own."""
    return execute_with_cell_times(path, config, first_cell)[0]


def execute_with_cell_times(path: Path, config: str = "native", first_cell: str = ""
                            ) -> tuple[float, dict[str, float]]:
    """:func:`execute_in_copy`, also returning the seconds of each code cell by cell id (from the
    execution times nbclient records: from the kernel's start of the cell to its reply)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / path.parent.name
        shutil.copytree(path.parent, work)
        nb = nbformat.read(work / path.name, as_version=4)
        if first_cell:
            nb.cells.insert(0, nbformat.v4.new_code_cell(first_cell))
        seconds = execute(nb, work, config=config)
    return seconds, cell_seconds(nb)


def cell_seconds(nb) -> dict[str, float]:
    """Seconds of each executed code cell of ``nb`` by cell id (``cell <index>`` without an id)."""
    times = {}
    for index, cell in enumerate(nb.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
        if cell.cell_type == "code" and start and end:  # ISO 8601 stamps, "Z" for UTC
            elapsed = datetime.fromisoformat(end) - datetime.fromisoformat(start)
            times[cell.get("id") or f"cell {index}"] = elapsed.total_seconds()
    return times


def slowest(times: dict[str, float], n: int = 3) -> str:
    """The ``n`` slowest cells, e.g. ``train-encoding 24.3 s, decode-run 8.5 s``."""
    ranked = sorted(times.items(), key=lambda item: -item[1])[:n]
    return ", ".join(f"{cell} {seconds:.1f} s" for cell, seconds in ranked)


def bench_notebook(path: Path, quick: bool = False) -> None:
    """Execute one solution notebook: its ``notebook_<name>`` line and, for a notebook with a
    floor, its ``notebook_<name>_vs_floor`` line."""
    name = path.stem
    try:
        seconds, times = execute_with_cell_times(path)
    except Exception as exc:  # a broken notebook is reported, the others still run
        last = [line for line in str(exc).splitlines() if line.strip()][-1:] or [""]
        emit(f"notebook_{name}", None, "s", status="FAIL",
             note=f"execution failed: {type(exc).__name__}: {last[0].strip()[:160]}")
        return
    emit(f"notebook_{name}", seconds, "s",
         note=f"kernel start included; slowest cells: {slowest(times)}")
    if name in TRAINING_CELLS:
        emit_floor(name, seconds, times, quick)


def emit_floor(name: str, seconds: float, times: dict[str, float], quick: bool = False) -> str:
    """The ``notebook_<name>_vs_floor`` line: the notebook's ``seconds`` / (the kernels of its
    training cells timed alone, ``floors.py``, + the measured time of everything else)."""
    training = [times[cell] for cell in TRAINING_CELLS[name] if cell in times]
    if len(training) != len(TRAINING_CELLS[name]):
        return emit(f"notebook_{name}_vs_floor", None, "x",
                    note=f"the training cells {TRAINING_CELLS[name]} were not all executed")
    kernels = floor_seconds(name, quick)
    rest = seconds - sum(training)
    return emit(f"notebook_{name}_vs_floor", seconds / (kernels + rest), "x", FLOOR_GOAL,
                note=f"{seconds:.1f} s / floor {kernels + rest:.1f} s: its training cells took "
                     f"{sum(training):.1f} s, their kernels alone {kernels:.1f} s; everything "
                     f"else (other cells, kernel start) {rest:.1f} s")


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
            bench_notebook(path, quick)
    if wanted("ci", only):
        ci_line()


def main(argv=None) -> None:
    standard_main(run, __doc__, argv, quick_help="fewer repetitions of the floors' kernels")


if __name__ == "__main__":
    main()
