"""bench/bench_gpu.py: the prepared CPU-vs-GPU script; here (no CUDA) every figure skips cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: run bench/run.py")
def test_gpu_figures_skip_without_cuda():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--device", "cuda", "--quick", "--only", "gpu_"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [x.split() for x in proc.stdout.splitlines() if not x.startswith("#")]
    assert [x[0] for x in lines] == ["gpu_speedup_encoding", "gpu_speedup_encoding_per_step",
                                     "gpu_fixed_cost_encoding", "gpu_speedup_classifier",
                                     "gpu_speedup_cnn", "gpu_loss_agreement",
                                     "gpu_h2d_copies_per_step"]
    assert all(x[4] == "skip" for x in lines)
