"""CPU vs GPU: what a Colab GPU runtime buys the course's training, and that it computes the same.

Figures (one line each, see bench/common.py; all ``skip`` without CUDA):

- ``gpu_speedup_encoding``: seconds per step on the CPU / on the GPU, tutorial 2's encoding model
  (ConvFC, full-size surrogate, 23,589 neurons) with :func:`nmautils.train.train_full_batch`.
- ``gpu_speedup_encoding_per_step``: the same from the *slope* between a short and a long run
  (the marginal cost of one step), without the one-time moves of the 27 M weights to the GPU and
  back that dominate a few-step run; ``gpu_fixed_cost_encoding`` reports that one-time cost.
  Goal >= 2: tutorial 2's model is the course's one reason to choose a GPU runtime.
- ``gpu_speedup_classifier``: the same for tutorial 2's regularised classifier (small model).
- ``gpu_speedup_cnn``: the same per epoch for the assignment's CNN with
  :func:`nmautils.train.train_minibatch` (batch 100).
- ``gpu_loss_agreement``: largest relative difference between the CPU's and the GPU's training
  losses of the encoding model after the same steps (cuDNN and TF32 make the last digits differ;
  the notebooks therefore claim no exact equality). Goal <= 0.01.
- ``gpu_h2d_copies_per_step``: host-to-device copies per training step seen by the profiler
  when CPU tensors are passed to ``train_full_batch(..., device="cuda")``: the data and the
  network are moved once, so this stays below 1. Goal < 1.

Needs only torch (a CUDA build) and numpy besides this checkout (nmautils is imported from it).
Run alone: ``python bench/bench_gpu.py [--quick] [--only NAME]``; ``python bench/run.py --device
cuda --quick --only gpu_`` runs it through the common entry point.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from bench_train import CNN, ConvFC, DeepNetSoftmax, encoding_problem
from common import emit, interleaved, standard_main, wanted
from torch import nn

from nmautils import surrogate
from nmautils.stimuli import filters
from nmautils.train import train_full_batch, train_minibatch

FIGURES = ("gpu_speedup_encoding", "gpu_speedup_encoding_per_step", "gpu_fixed_cost_encoding",
           "gpu_speedup_classifier", "gpu_speedup_cnn", "gpu_loss_agreement",
           "gpu_h2d_copies_per_step")
GPU_GOAL = ">=2"


def _encoding(n_iter: int):
    """A function training the encoding model for ``n_iter`` steps on a device; its losses."""
    x, y, y_test = encoding_problem()
    torch.manual_seed(0)
    start = ConvFC(y.shape[1], filters=filters(6, 7, subtract_mean=True))

    def train(device: str) -> list[float]:
        net = copy.deepcopy(start)
        losses, _ = train_full_batch(
            net, nn.MSELoss(), x, y, n_epochs=n_iter, learning_rate=2.0, momentum=0.9,
            L2_penalty=5e-4, L1_penalty=1e-6, penalized=[net.out_layer.weight], test_data=x,
            test_labels=y_test, device=device, progress=False)
        return list(losses)

    return train


def _classifier(n_iter: int):
    data = surrogate.make_surrogate(surrogate.FILE_1DEG, size="full", seed=0)
    x = torch.tensor(data["resp"], dtype=torch.float32)
    labels = torch.tensor((data["stimuli"] // 10).astype(np.int64) % 36)
    torch.manual_seed(0)
    start = DeepNetSoftmax(x.shape[1], 20, 36)

    def train(device: str) -> list[float]:
        net = copy.deepcopy(start)
        losses, _ = train_full_batch(
            net, nn.NLLLoss(), x, labels, n_epochs=n_iter, learning_rate=1e-4, L2_penalty=1e-4,
            L1_penalty=1e-4, penalized=[net.in_layer.weight], test_data=x, test_labels=labels,
            device=device, progress=False)
        return list(losses)

    return train


def _cnn(n_epochs: int):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1000, 1, 48, 64, generator=g)  # the assignment's image size; content is free
    y = (torch.rand(1000, 1, generator=g) > 0.5).float()
    torch.manual_seed(0)
    start = CNN(48, 64)

    def train(device: str):
        net = copy.deepcopy(start)
        return train_minibatch(net, nn.BCELoss(), x, y, n_epochs=n_epochs, batch_size=100,
                               learning_rate=5e-4, momentum=0.99, seed=0, device=device,
                               progress=False)

    return train


def _speedup(name: str, train, repeats: int, per: str, n: int) -> list:
    """Interleaved CPU and GPU runs (after a warm-up of each); emit CPU time / GPU time."""
    outputs = {"cpu": train("cpu"), "cuda": train("cuda")}  # warm-up (cuDNN autotuning, ...)
    t, ratio = interleaved({"cpu": lambda: train("cpu"), "cuda": lambda: train("cuda")}, repeats)
    emit(name, ratio["cuda"], "x", note=f"cpu {t['cpu'] / n:.3g} s/{per}, cuda "
         f"{t['cuda'] / n:.3g} s/{per} ({torch.cuda.get_device_name()}, "
         f"{torch.get_num_threads()} CPU threads)")
    return [outputs["cpu"], outputs["cuda"]]


def _per_step(make, short: int, long: int, repeats: int) -> None:
    """Marginal seconds per step (slope between ``short`` and ``long`` steps) on both devices."""
    import time

    def timed(train, device):
        torch.cuda.synchronize()
        start = time.perf_counter()
        train(device)
        torch.cuda.synchronize()
        return time.perf_counter() - start

    a, b = make(short), make(long)
    slope, fixed = {}, {}
    for device in ("cpu", "cuda"):
        timed(a, device)  # warm-up
        t_short = min(timed(a, device) for _ in range(repeats))
        t_long = min(timed(b, device) for _ in range(repeats))
        slope[device] = (t_long - t_short) / (long - short)
        fixed[device] = t_short - short * slope[device]
    emit("gpu_speedup_encoding_per_step", slope["cpu"] / slope["cuda"], "x", GPU_GOAL,
         note=f"cpu {slope['cpu'] * 1e3:.3g} ms/step, cuda {slope['cuda'] * 1e3:.3g} ms/step "
         f"(slope {short}->{long} steps; {torch.get_num_threads()} CPU threads)")
    emit("gpu_fixed_cost_encoding", fixed["cuda"], "s",
         note="one-time cost of a GPU run (moving the network and data there and back)")


def _h2d_copies_per_step(n_iter: int) -> tuple[float, int]:
    """Host-to-device copies per step of a profiled GPU run fed with CPU tensors."""
    from torch.profiler import ProfilerActivity, profile

    train = _classifier(n_iter)
    train("cuda")  # warm-up outside the profile
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        train("cuda")
        torch.cuda.synchronize()
    copies = sum(e.count for e in prof.key_averages() if "HtoD" in e.key)
    return copies / n_iter, copies


def run(quick: bool = False, only: str | None = None, device: str = "cuda") -> None:
    if not torch.cuda.is_available():
        for name in FIGURES:
            if wanted(name, only):
                emit(name, None, "x", note=f"no CUDA here (torch {torch.__version__})")
        return
    steps, repeats = (3, 3) if quick else (5, 5)
    encoding = None
    if wanted("gpu_speedup_encoding", only) or wanted("gpu_loss_agreement", only):
        encoding = _speedup("gpu_speedup_encoding", _encoding(steps), repeats, "step", steps)
    if wanted("gpu_speedup_encoding_per_step", only) or wanted("gpu_fixed_cost_encoding", only):
        _per_step(_encoding, 10, 40 if quick else 60, repeats)
    if wanted("gpu_speedup_classifier", only):
        _speedup("gpu_speedup_classifier", _classifier(10 * steps), repeats, "step", 10 * steps)
    if wanted("gpu_speedup_cnn", only):
        _speedup("gpu_speedup_cnn", _cnn(steps), repeats, "epoch", steps)
    if encoding is not None and wanted("gpu_loss_agreement", only):
        a, b = np.asarray(encoding[0]), np.asarray(encoding[1])
        rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12)))
        emit("gpu_loss_agreement", rel, "rel", "<=0.01",
             note=f"{len(a)} steps of the encoding model; last loss cpu {a[-1]:.6g}, "
             f"cuda {b[-1]:.6g}")
    if wanted("gpu_h2d_copies_per_step", only):
        per_step, total = _h2d_copies_per_step(20)
        if total == 0:
            emit("gpu_h2d_copies_per_step", None, "copies",
                 note="the profiler saw no host-to-device copies (CUPTI unavailable?)")
        else:
            emit("gpu_h2d_copies_per_step", per_step, "copies", "<1",
                 note=f"{total} copies in 20 steps of train_full_batch fed CPU tensors")


def main(argv=None) -> None:
    standard_main(run, __doc__, argv, device_help="ignored: always compares cpu with cuda")


if __name__ == "__main__":
    main()
