"""Shared helpers of the benchmark scripts: the output line format, timing, the command line.

Every figure is printed as one line of five space-separated fields, optionally followed by a
note after ``#``::

    name value unit goal status  # note

``status`` is ``ok`` (goal met), ``FAIL`` (goal missed), ``info`` (a figure without a goal),
``skip`` (not measurable here, e.g. no CUDA; the value is ``n/a``). Goals are ratios measured
side by side in the same run; seconds are printed as ``info``, since they depend on the machine
and on whatever else runs on it.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing nmautils
    sys.path.insert(0, str(REPO_ROOT))

STATUSES = ("ok", "FAIL", "info", "skip")


def check_goal(value: float, goal: str) -> str:
    """Return ``"ok"`` or ``"FAIL"`` for ``value`` against a goal like ``"<=1.05"``/``">=1.5"``."""
    for op in ("<=", ">=", "<", ">"):
        if goal.startswith(op):
            limit = float(goal[len(op):])
            met = {
                "<=": value <= limit,
                ">=": value >= limit,
                "<": value < limit,
                ">": value > limit,
            }[op]
            return "ok" if met else "FAIL"
    raise ValueError(f"goal should start with <=, >=, < or >, but got {goal!r}")


def format_line(
    name: str,
    value: float | None,
    unit: str,
    goal: str = "-",
    status: str | None = None,
    note: str = "",
    digits: int = 3,
) -> str:
    """One output line. ``status`` defaults to the goal check (``info`` without a goal)."""
    if status is None:
        if value is None:
            status = "skip"
        elif goal == "-":
            status = "info"
        else:
            status = check_goal(value, goal)
    if status not in STATUSES:
        raise ValueError(f"status should be one of {STATUSES}, but got {status!r}")
    shown = "n/a" if value is None else f"{value:.{digits}g}"
    for field in (name, unit, goal):
        if not field or any(c.isspace() for c in field):
            raise ValueError(f"line fields may not be empty or contain spaces: {field!r}")
    line = f"{name} {shown} {unit} {goal} {status}"
    return f"{line}  # {note}" if note else line


def emit(*args, **kwargs) -> str:
    """Print :func:`format_line` at once (flushed, so run.py can stream it) and return it."""
    line = format_line(*args, **kwargs)
    print(line, flush=True)
    return line


def parse_line(line: str) -> dict | None:
    """Split an output line into its fields; None for anything that is not a figure line."""
    body, _, note = line.partition("#")
    fields = body.split()
    if len(fields) != 5 or fields[4] not in STATUSES:
        return None
    name, value, unit, goal, status = fields
    return {"name": name, "value": value, "unit": unit, "goal": goal, "status": status,
            "note": note.strip()}


def alternated(fns: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Call each function ``repeats`` times, alternating them (A B, B A, A B, ...), so that
    neighbouring calls see the same machine load; return each function's results in order."""
    keys = list(fns)
    results: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(repeats):
        for key in keys if i % 2 == 0 else reversed(keys):
            results[key].append(fns[key]())
    return results


def median_ratios(values: dict[str, list[float]]) -> dict[str, float]:
    """For each key after the first, the median over repetitions of ``first / that`` within
    the same repetition (steadier than a ratio of medians on a busy machine)."""
    keys = list(values)
    first = values[keys[0]]
    return {k: statistics.median(a / b for a, b in zip(first, values[k])) for k in keys[1:]}


def interleaved(
    fns: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Time each function ``repeats`` times, alternating them (:func:`alternated`).

    Returns
    -------
    seconds : dict
        Median wall time of each function.
    ratios : dict
        For each function after the first, the median over repetitions of
        ``time(first) / time(that function)`` within the same repetition
        (:func:`median_ratios`). Call the functions once before (warm-up).
    """
    def timed(fn: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start
        return run

    times = alternated({k: timed(fn) for k, fn in fns.items()}, repeats)
    return {k: statistics.median(v) for k, v in times.items()}, median_ratios(times)


def wanted(name: str, only: str | None) -> bool:
    """Whether figure ``name`` is selected by ``--only`` (exact name or name prefix)."""
    return only is None or name == only or name.startswith(only)


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up call: other processes only ever slow
    a call down, so the fastest is the steadiest estimate of the work itself."""
    fn()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def standard_main(run: Callable, doc: str, argv=None, *, quick_help: str = "fewer repetitions",
                  device_help: str | None = None) -> None:
    """The command line every bench script shares: ``--quick``, ``--only NAME``, ``--device``.

    ``run`` is called as ``run(quick, only)``, or ``run(quick, only, device)`` when the script
    trains on a device (``device_help`` given).
    """
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--only", help="run only this figure (name or name prefix)")
    parser.add_argument("--device", default="cpu", help=device_help or "ignored: runs on the CPU")
    args = parser.parse_args(argv)
    if device_help:
        run(args.quick, args.only, args.device)
    else:
        run(args.quick, args.only)
