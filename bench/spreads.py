"""Measured cross-configuration spread of every number the solutions print through ``approx``.

Executes every solution notebook (in a temporary copy) under the ``native`` and the ``generic``
numeric configuration (:data:`nmautils.course.build.NUMERIC_CONFIGS`). A first cell, run in the
kernel before the notebook's own (:data:`RECORDER`), wraps :func:`nmautils.report.approx` so
that it appends each value to a log before rounding it; the library needs no hook for this.
Then prints one row per printed number: the notebook, its position, the grid (``step``), the
spread the notebook allows, the difference measured here, and the distance of the value from
the nearest rounding boundary. A number whose measured difference exceeds the allowed spread is
marked ``OVER``. Run: ``python bench/spreads.py [names...]`` (a few minutes).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench_notebooks import execute_in_copy
from common import REPO_ROOT

#: Kernel-side start-up: every holder of ``approx`` (the notebooks import it later, from
#: nmautils.report or through another nmautils module) gets the recording wrapper.
RECORDER = '''
import functools as _functools, inspect as _inspect, json as _json, sys as _sys
import nmautils.report as _report

_approx = _report.approx


@_functools.wraps(_approx)
def _recording_approx(*args, **kwargs):
    bound = _inspect.signature(_approx).bind(*args, **kwargs).arguments
    value = bound["value"]  # a float, or a one-element tensor or array
    value = float(value.item() if hasattr(value, "item") else value)
    with open({log!r}, "a") as log:
        log.write(_json.dumps({{"value": value, "step": bound["step"],
                               "spread": bound["spread"]}}) + "\\n")
    return _approx(*args, **kwargs)


for _module in list(_sys.modules.values()):
    if getattr(_module, "approx", None) is _approx:
        _module.approx = _recording_approx
'''


def record(name: str, config: str) -> list[dict]:
    """The values ``approx`` saw, in order, executing ``name``'s solution under ``config``."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "approx.jsonl"
        execute_in_copy(REPO_ROOT / "solutions" / name / f"{name}.ipynb", config=config,
                        first_cell=RECORDER.format(log=str(log)))
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def main(names: list[str]) -> int:
    names = names or sorted(p.name for p in (REPO_ROOT / "solutions").iterdir() if p.is_dir())
    over = 0
    print(f"{'notebook':24s} {'#':>3s} {'value':>12s} {'step':>8s} {'allowed':>9s} "
          f"{'measured':>9s} {'to boundary':>11s}")
    for name in names:
        native, generic = record(name, "native"), record(name, "generic")
        if len(native) != len(generic):
            print(f"{name}: {len(native)} numbers native, {len(generic)} generic - not comparable")
            over += 1
            continue
        for i, (a, b) in enumerate(zip(native, generic)):
            diff = abs(a["value"] - b["value"])
            step = a["step"]
            gap = step / 2 - abs(a["value"] - round(a["value"] / step) * step)
            flag = "  OVER" if diff > a["spread"] else ""
            over += bool(flag)
            print(f"{name:24s} {i:3d} {a['value']:12.6g} {step:8g} {a['spread']:9.2g} "
                  f"{diff:9.2g} {gap:11.3g}{flag}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
