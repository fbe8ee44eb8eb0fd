"""Notebook and CI wall times.

Figures (one line each, see bench/common.py):

- ``notebook_<name>``: seconds to execute ``solutions/<name>/<name>.ipynb`` top to bottom with
  nbclient (kernel start included), under the build's environment
  (:data:`nmautils.course.build.EXECUTION_ENV`: surrogate data, no progress bars, CPU), in a
  temporary copy of its folder so nothing in the repository changes, expressed in reference
  seconds (``calibration.reference_seconds``: multiplied by this machine's speed index for that
  notebook's mix of work, measured right before it under the same numeric configuration with
  the probes it has shares in, see ``bench/calibration.py``), so the goals mean the same on any
  machine; the note gives the seconds measured here and the index. Goals (reference seconds): tutorial 2 <= 40, tutorial 3 <= 20 (so that the slowest
  2-vCPU machine seen, about 1.5-2x slower, stays under a minute), other tutorials <= 60,
  assignments (``assignment*``) <= 90.
  The note also names the three slowest cells (by cell id) with their seconds.
- ``notebook_<name>_floor`` (tutorials 2 and 3, native configuration): the least the notebook
  can take with its data, iterations and hyper-parameters fixed and its other cells as they
  are, in reference seconds: the
  kernels of its training cells timed alone (``bench/floors.py``) plus the measured time of
  everything else (its other cells, the kernel start). Reported, no goal: above the notebook's
  goal, that goal needs less work rather than faster code. The note also gives the notebook's
  time as a multiple of its floor, a ratio measured in one run (so free of the calibration).
- ``calibration_index``: the speed index of this run for equal shares of every probe (1 on the
  reference machine) and, in the note, the probe rates (each notebook's own index uses its
  shares, ``calibration.SHARES``).
- ``ci``: seconds of the last ``make test`` on this checkout, read from ``build/ci_seconds.txt``
  (the Makefile writes it; the note says when); ``n/a`` when it has never run here.

``--config generic`` executes the notebooks and the calibration under the build's generic
numeric configuration (one thread, AVX2 kernels: a machine about 2x slower): the reference
seconds should then come out close to those of a plain run, which checks the calibration.

Run alone: ``python bench/bench_notebooks.py [--quick] [--only NAME] [--config generic]``
(``--quick``: a shorter calibration; a notebook is executed once either way).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import nbformat
from calibration import describe, measure_in_subprocess, reference_seconds, shares_for, speed_index
from common import REPO_ROOT, emit, standard_main, wanted
from floors import TRAINING_CELLS, floor_seconds

from nmautils.course.build import NUMERIC_CONFIGS, execute

FIGURES = ("notebook_", "calibration_index", "ci")

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
    return execute_with_cell_times(path, config)[0]


def execute_with_cell_times(path: Path, config: str = "native") -> tuple[float, dict[str, float]]:
    """:func:`execute_in_copy`, also returning the seconds of each code cell by cell id (from the
    execution times nbclient records: from the kernel's start of the cell to its reply)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / path.parent.name
        shutil.copytree(path.parent, work)
        nb = nbformat.read(work / path.name, as_version=4)
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


def calibrate(config: str = "native", quick: bool = False,
              probes: Iterable[str] | None = None) -> dict[str, float]:
    """The rates of ``probes`` (default all) measured now in a fresh process under the numeric
    ``config``."""
    return measure_in_subprocess(NUMERIC_CONFIGS[config], quick=quick, probes=probes)


def bench_notebook(path: Path, config: str = "native", quick: bool = False) -> None:
    """Calibrate with the notebook's own probes, then execute it; one ``notebook_<name>`` line."""
    name = path.stem
    shares = shares_for(name)
    index = speed_index(calibrate(config, quick, shares), shares)
    try:
        seconds, times = execute_with_cell_times(path, config)
    except Exception as exc:  # a broken notebook is reported, the others still run
        emit(f"notebook_{name}", None, "s", goal_for(name), status="FAIL",
             note=f"execution failed: {type(exc).__name__}")
        return
    where = "" if config == "native" else f", {config} configuration"
    emit(f"notebook_{name}", reference_seconds(seconds, index), "ref_s", goal_for(name),
         note=f"{seconds:.1f} s here at speed index {index:.2f}{where}; kernel start included; "
              f"slowest cells: {slowest(times)}")
    if name in TRAINING_CELLS and config == "native":
        emit_floor(name, seconds, times, index, quick)


def emit_floor(name: str, seconds: float, times: dict[str, float], index: float,
               quick: bool = False) -> str:
    """The ``notebook_<name>_floor`` line: the kernels of the notebook's training cells timed
    alone (``floors.py``) plus the measured time of everything else, in reference seconds."""
    training = [times[cell] for cell in TRAINING_CELLS[name] if cell in times]
    if len(training) != len(TRAINING_CELLS[name]):
        return emit(f"notebook_{name}_floor", None, "ref_s",
                    note=f"the training cells {TRAINING_CELLS[name]} were not all executed")
    kernels = floor_seconds(name, quick)
    rest = seconds - sum(training)
    return emit(f"notebook_{name}_floor", reference_seconds(kernels + rest, index), "ref_s",
                note=f"the least this notebook can take with its work fixed, against its goal "
                     f"{goal_for(name)}: here {kernels:.1f} s for its training cells' kernels "
                     f"timed alone (the cells took {sum(training):.1f} s) + {rest:.1f} s for "
                     f"everything else (other cells, kernel start); the notebook took "
                     f"{seconds / (kernels + rest):.2f}x this floor")


def ci_line(record: Path = CI_RECORD) -> str:
    """The ``ci`` figure from the Makefile's record: ``<seconds> <UTC time>`` on one line."""
    try:
        fields = record.read_text().split()
        seconds, when = float(fields[0]), " ".join(fields[1:]) or "unknown time"
    except (OSError, ValueError, IndexError):
        shown = record.relative_to(REPO_ROOT) if record.is_relative_to(REPO_ROOT) else record
        return emit("ci", None, "s", note=f"no record in {shown}: run `make test` first")
    return emit("ci", seconds, "s", note=f"recorded by `make test` at {when}, not measured now")


def run(quick: bool = False, only: str | None = None, config: str = "native") -> None:
    paths = [p for p in solution_notebooks() if wanted(f"notebook_{p.stem}", only)]
    if wanted("calibration_index", only):
        rates = calibrate(config, quick)
        emit("calibration_index", speed_index(rates), "x",
             note=f"{config}, equal shares: {describe(rates)}")
    for path in paths:  # calibrated right before each notebook: the same machine load
        bench_notebook(path, config, quick)
    if wanted("ci", only) and config == "native":
        ci_line()


def main(argv=None) -> None:
    standard_main(run, __doc__, argv, quick_help="a shorter calibration",
                  config_choices=NUMERIC_CONFIGS)


if __name__ == "__main__":
    main()
