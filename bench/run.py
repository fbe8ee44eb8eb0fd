"""The one benchmark command: ``python bench/run.py [--quick] [--only NAME] [--device DEV]``.

Runs every benchmark script of this folder, each in its own process, and prints one line per
figure::

    name value unit goal status  # note

``status`` is ``ok`` (goal met), ``FAIL`` (goal missed), ``info`` (no goal), ``skip`` (not
measurable here). Every goal is a ratio of two timings taken side by side in the same run;
seconds are ``info``. Scripts, in order (:data:`SCRIPTS`): bench_data.py, bench_train.py,
bench_runtime.py, bench_notebooks.py, bench_gpu.py, bench_classgrade.py. Their figure lines are passed through;
their other output is shown only when a script fails.

Options: ``--quick`` fewer repetitions; ``--only NAME`` only the figures whose name is NAME or
starts with it; ``--device cuda`` trains on the GPU (the training figures print ``skip`` when
CUDA is not available). Exit status 1 when a goal is missed or a script fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from common import parse_line, wanted

HERE = Path(__file__).resolve().parent

#: The scripts, in order, and the figure names (or name prefixes) each produces.
SCRIPTS = {
    "bench_data.py": ("surrogate", "load_cached"),
    "bench_train.py": ("train_overhead", "train_overhead_minibatch", "vs_course_loop",
                       "flop_efficiency", "flop_efficiency_shapes"),
    "bench_runtime.py": ("runtime_tune",),
    "bench_notebooks.py": ("notebook_", "ci"),
    "bench_gpu.py": ("gpu_",),  # CPU vs GPU ratios; all skip without CUDA
    "bench_classgrade.py": ("classgrade_",),
}


def selects(figures: tuple[str, ...], only: str | None) -> bool:
    """Whether ``--only`` can select one of these figure names (or name prefixes)."""
    return only is None or any(f.startswith(only) or only.startswith(f) for f in figures)


def run_script(script: str, args: list[str], only: str | None) -> tuple[list[dict], bool]:
    """Run one script, stream its figure lines; return the parsed lines and whether it worked."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)}
    cmd = [sys.executable, str(HERE / script)]
    proc = subprocess.run(cmd + args, capture_output=True, text=True, env=env, cwd=HERE.parent)
    figures = []
    for line in proc.stdout.splitlines():
        parsed = parse_line(line)
        if parsed is not None and wanted(parsed["name"], only):
            print(line, flush=True)
            figures.append(parsed)
    ok = proc.returncode == 0
    if not ok:
        print(f"# {script} failed (exit status {proc.returncode}); its output:", flush=True)
        for line in (proc.stdout + proc.stderr).splitlines()[-30:]:
            print(f"#   {line}", flush=True)
    return figures, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", help="run only this figure (name or name prefix)")
    parser.add_argument("--device", default="cpu", help="device for training: cpu or cuda")
    args = parser.parse_args(argv)

    passed = (["--quick"] if args.quick else []) + ["--device", args.device]
    if args.only:
        passed += ["--only", args.only]
    scripts = [s for s, figs in SCRIPTS.items() if selects(figs, args.only)]
    start = time.perf_counter()
    figures, failed_scripts = [], []
    for script in scripts:
        lines, ok = run_script(script, passed, args.only)
        figures += lines
        if not ok:
            failed_scripts.append(script)
    missed = [f["name"] for f in figures if f["status"] == "FAIL"]
    counts = {s: sum(f["status"] == s for f in figures) for s in ("ok", "FAIL", "info", "skip")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    print(f"# {len(figures)} figures in {time.perf_counter() - start:.0f} s: {summary}"
          + (f"; missed: {' '.join(missed)}" if missed else "")
          + (f"; failed scripts: {' '.join(failed_scripts)}" if failed_scripts else ""))
    return 1 if missed or failed_scripts else 0


if __name__ == "__main__":
    sys.exit(main())
