"""Measured cross-configuration spread of every number the solutions print through ``approx``.

Executes every solution notebook (in a temporary copy) under the ``native`` and the ``generic``
numeric configuration (:data:`nmautils.course.build.NUMERIC_CONFIGS`) with
``NMAUTILS_RECORD_APPROX`` set, so that :func:`nmautils.report.approx` records each value before
rounding it, then prints one row per printed number: the notebook, its position, the grid
(``step``), the spread the notebook allows, the difference measured here, and the distance of
the value from the nearest rounding boundary. A number whose measured difference exceeds the
allowed spread is marked ``OVER``. Run: ``python bench/spreads.py [names...]`` (a few minutes).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from bench_notebooks import execute_in_copy
from common import REPO_ROOT


def record(name: str, config: str) -> list[dict]:
    """The values ``approx`` saw, in order, executing ``name``'s solution under ``config``."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "approx.jsonl"
        os.environ["NMAUTILS_RECORD_APPROX"] = str(log)
        try:
            execute_in_copy(REPO_ROOT / "solutions" / name / f"{name}.ipynb", config=config)
        finally:
            os.environ.pop("NMAUTILS_RECORD_APPROX", None)
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
