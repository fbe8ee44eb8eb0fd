"""Benchmark: what the grading sandbox costs per submission.

    python bench/bench_sandbox.py [--quick] [--only NAME]

Grades the same small class of tutorial 1 submissions (full solutions and untouched releases,
on the small surrogate) with one worker, alternately with and without the bubblewrap sandbox
(``classgrade.grade_class(..., sandbox=True/False)``), and prints the seconds per submission of
both and their ratio measured side by side (goal: sandboxed <= 1.15 x unsandboxed).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import emit, interleaved, standard_main, wanted  # noqa: E402

from nmautils.course import build, classgrade, notebooks, sandbox  # noqa: E402
from nmautils.course.grading import ensure_tools_on_path, generated_release  # noqa: E402

ASSIGNMENT = "tutorial1_decoding"
ENV = {**build.EXECUTION_ENV, "NMAUTILS_SURROGATE_SIZE": "small"}


def make_class(folder: Path, n: int) -> None:
    source = notebooks.read(build.source_path(ASSIGNMENT))
    release = generated_release(ASSIGNMENT)
    full = notebooks.fill_submission(release, source)
    for i in range(n):
        nb = full if i % 2 == 0 else release
        notebooks.write(nb, folder / f"s{i:02d}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def run(quick: bool, only: str | None) -> None:
    names = ("sandbox_overhead", "sandbox_s_per_submission", "plain_s_per_submission")
    if not any(wanted(n, only) for n in names):
        return
    if not sandbox.sandbox_available():
        for name in names:
            emit(name, None, "x" if name == "sandbox_overhead" else "s", note="no sandbox here")
        return
    ensure_tools_on_path()
    os.environ.update(ENV)
    n, repeats = (2, 3) if quick else (4, 5)
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        tmp = Path(tmp)
        make_class(tmp / "submitted", n)

        def grade(flag: bool):
            return lambda: classgrade.grade_class(ASSIGNMENT, tmp / "submitted",
                                                  tmp / f"out-{flag}", workers=1, sandbox=flag,
                                                  regrade=True)

        grade(True)()  # warm-up: imports, page cache
        seconds, ratios = interleaved({"plain": grade(False), "sandboxed": grade(True)}, repeats)
    overhead = 1.0 / ratios["sandboxed"]
    emit("sandbox_overhead", overhead, "x", "<=1.15",
         note=f"{n} submissions, {repeats} alternating runs; sandboxed / unsandboxed time")
    emit("sandbox_s_per_submission", seconds["sandboxed"] / n, "s")
    emit("plain_s_per_submission", seconds["plain"] / n, "s")


if __name__ == "__main__":
    standard_main(run, __doc__)
