"""The allocator tuning of :func:`nmautils.runtime.tune`, measured where it acts.

Figure (one line, see bench/common.py):

- ``runtime_tune``: seconds per training step of tutorial 2's encoding model (ConvFC, 23,589
  neurons, full batch, test loss every step) in a process started without the variables of
  :data:`nmautils.runtime.ALLOCATOR_ENV` / in one started with them. glibc and PyTorch read
  those variables when a process starts, so each side is a fresh process; the two alternate
  (A B, B A, ...) and the figure is the median ratio of neighbouring runs. ``info``: the tuning
  is worth keeping only while this stays above 1.

Run alone: ``python bench/bench_runtime.py [--quick] [--only NAME]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import alternated, emit, median_ratios, standard_main, wanted

from nmautils.runtime import ALLOCATOR_ENV, tune

HERE = Path(__file__).resolve().parent

#: Run in each child: a warm-up step, then the timed steps; prints seconds per step.
CHILD = """
import sys, time
import torch
from torch import nn
from bench_train import ConvFC, encoding_problem
from nmautils.stimuli import filters
from nmautils.train import train_full_batch

n_steps = int(sys.argv[1])
x, y, y_test = encoding_problem()
torch.manual_seed(0)
net = ConvFC(y.shape[1], filters=filters(6, 7, subtract_mean=True))

def steps(n):
    train_full_batch(net, nn.MSELoss(), x, y, n_epochs=n, learning_rate=2.0, momentum=0.9,
                     L2_penalty=5e-4, L1_penalty=1e-6, penalized=[net.out_layer.weight],
                     test_data=x, test_labels=y_test, device="cpu", progress=False)

steps(1)
start = time.perf_counter()
steps(n_steps)
print((time.perf_counter() - start) / n_steps)
"""


def step_seconds(env: dict[str, str], n_steps: int) -> float:
    """Seconds per encoding-model step in a new process started with ``env``."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(n_steps)], env=env, cwd=HERE,
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def run(quick: bool = False, only: str | None = None) -> None:
    if not wanted("runtime_tune", only):
        return
    base = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENV}
    base["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), base.get("PYTHONPATH", "")) if p)
    sides = {"untuned": base, "tuned": tune(dict(base))}
    n_steps, repeats = (2, 2) if quick else (4, 4)
    times = alternated({side: (lambda env=env: step_seconds(env, n_steps))
                        for side, env in sides.items()}, repeats)
    ratio = median_ratios(times)["tuned"]
    emit("runtime_tune", ratio, "x", note=f"untuned {statistics.median(times['untuned']):.2f} "
         f"s/step, tuned {statistics.median(times['tuned']):.2f} s/step (tutorial 2's encoding "
         "model; above 1: the tuning pays)")


def main(argv=None) -> None:
    standard_main(run, __doc__, argv)


if __name__ == "__main__":
    main()
