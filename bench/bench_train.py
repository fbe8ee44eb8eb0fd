"""Training speed: nmautils' train functions vs a bare loop, vs the course's loop, vs the hardware.

Figures (one line each, see bench/common.py):

- ``train_overhead``: :func:`nmautils.train.train_full_batch` / a bare PyTorch loop doing exactly
  the same steps (same kernels, same losses - checked), on tutorial 2's regularised classifier
  (L2 + L1 on the input weights, test loss every step). A small model, so per-step overhead
  shows; goal <= 1.05.
- ``train_overhead_minibatch``: :func:`nmautils.train.train_minibatch` / a bare loop on the
  assignment's CNN (batch 100, momentum 0.99); goal <= 1.05.
- ``vs_course_loop``: time of the original course's style of loop / nmautils, on tutorial 2's
  encoding model (ConvFC, 23,589 neurons, SGD lr 2 momentum 0.9, MSE + L2 5e-4 + L1 1e-6 on the
  output weights, test loss every step). The course loop computes the test loss with autograd
  on, keeps data and model on the CPU and builds the penalties in the autograd graph; goal >= 1.5.
- ``flop_efficiency``: GFLOP/s achieved by nmautils training the encoding model (matmul and
  convolution FLOPs counted) / GFLOP/s of a large square matmul measured in the same run.
- ``flop_efficiency_shapes``: the same, but relative to the encoding model's own matrix products
  timed alone (same shapes): how much of each step is spent outside the unavoidable products.

Each ratio is measured interleaved (A B, B A, ...) in one process after a warm-up: the median
over repetitions of the ratio of neighbouring runs (steadier than a ratio of medians when other
work shares the machine).

Run alone: ``python bench/bench_train.py [--quick] [--only NAME] [--device cpu|cuda]``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from common import emit, interleaved, standard_main, wanted
from lessons import lesson_class
from torch import nn, optim

from nmautils import surrogate
from nmautils.stimuli import filters, grating
from nmautils.train import train_full_batch, train_minibatch

FIGURES = (
    "train_overhead",
    "train_overhead_minibatch",
    "vs_course_loop",
    "flop_efficiency",
    "flop_efficiency_shapes",
)


#: The lessons' models (bench/lessons.py: executed from their source notebooks).
DeepNetSoftmax = lesson_class("tutorial2_encoding", "DeepNetSoftmax")
ConvFC = lesson_class("tutorial2_encoding", "ConvFC")
CNN = lesson_class("assignment3_interpret", "CNN")


# ----------------------------------------------------------------------------- the loops


def bare_full_batch(net, loss_fn, x, y, n_iter, lr, momentum, L2, L1, weight, x_test, y_test):
    """The steps of train_full_batch written out by hand, nothing else (no checks, no moves)."""
    rest = [p for p in net.parameters() if p is not weight]
    optimizer = optim.SGD([{"params": [weight], "weight_decay": 2 * L2},
                           {"params": rest, "weight_decay": 0.0}],
                          lr=lr, momentum=momentum, fused=True)
    sign_buf = torch.empty_like(weight)
    train_losses, test_losses = [], []
    net.train()
    for _ in range(n_iter):
        optimizer.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        with torch.no_grad():  # L2 is the fused optimizer's weight decay
            weight.grad.add_(torch.sign(weight, out=sign_buf), alpha=L1)
        optimizer.step()
        train_losses.append(loss.detach())
        net.eval()
        with torch.no_grad():
            test_losses.append(loss_fn(net(x_test), y_test))
        net.train()
    return torch.stack(train_losses).tolist(), torch.stack(test_losses).tolist()


def bare_minibatch(net, loss_fn, x, y, n_epochs, batch_size, lr, momentum, seed):
    """The steps of train_minibatch written out by hand."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    n = x.shape[0]
    history = []
    net.train()
    for _ in range(n_epochs):
        order = torch.randperm(n, generator=generator).to(x.device)
        total = torch.zeros((), device=x.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total = total + loss.detach() * idx.numel()
        history.append(total / n)
    return torch.stack(history).tolist()


def course_loop(net, x, y, n_iter, lr, L2, L1, x_test, y_test):
    """The original course's style: everything on the CPU, penalties in the autograd graph,
    the test loss (with its penalty) computed with gradients on, a .item() per loss."""
    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.MSELoss()

    def regularized_loss(output, target, weights):
        return (loss_fn(output, target) + L2 * torch.sum(weights**2)
                + L1 * torch.sum(torch.abs(weights)))

    train_loss = np.full(n_iter, np.nan)
    test_loss = np.full(n_iter, np.nan)
    for i in range(n_iter):
        loss = regularized_loss(net(x), y, net.out_layer.weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss[i] = loss.item()
        test_loss[i] = regularized_loss(net(x_test), y_test, net.out_layer.weight).item()
    return train_loss, test_loss


# ----------------------------------------------------------------------------- workloads


def _device(name: str) -> torch.device | None:
    """The torch device, or None when it is not available here (the figures are skipped)."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        return None
    return torch.device(name)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def overhead_full_batch(device, quick: bool) -> float:
    g = torch.Generator().manual_seed(0)
    n_neurons, n_stimuli, n_classes = 1000, 360, 20
    x = torch.randn(n_stimuli, n_neurons, generator=g).to(device)
    y = torch.randint(0, n_classes, (n_stimuli,), generator=g).to(device)
    x_test, y_test = x[::4].clone(), y[::4].clone()
    n_iter, repeats = (50, 9) if quick else (100, 21)
    settings = dict(lr=0.1, momentum=0.0, L2=1e-2, L1=5e-4)

    def fresh():
        torch.manual_seed(1)
        return DeepNetSoftmax(n_neurons, 10, n_classes).to(device)

    def run_nmautils():
        net = fresh()
        return train_full_batch(
            net, nn.NLLLoss(), x, y, n_epochs=n_iter, learning_rate=settings["lr"],
            momentum=settings["momentum"], L2_penalty=settings["L2"],
            L1_penalty=settings["L1"], penalized=[net.in_layer.weight], test_data=x_test,
            test_labels=y_test, device=device, progress=False,
        )

    def run_bare():
        net = fresh()
        return bare_full_batch(net, nn.NLLLoss(), x, y, n_iter, settings["lr"],
                               settings["momentum"], settings["L2"], settings["L1"],
                               net.in_layer.weight, x_test, y_test)

    a, b = run_nmautils(), run_bare()  # warm-up, and proof that both do the same steps
    if a != b:
        raise AssertionError("train_full_batch and the bare loop gave different losses")
    _, ratio = interleaved({"nmautils": run_nmautils, "bare": run_bare}, repeats)
    return ratio["bare"]


def overhead_minibatch(device, quick: bool) -> float:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1000, 1, 48, 64, generator=g).to(device)  # content does not change the cost
    y = (torch.rand(1000, 1, generator=g) > 0.5).float().to(device)
    n_epochs, repeats = (1, 9) if quick else (1, 21)

    def fresh():
        torch.manual_seed(12)
        return CNN(48, 64).to(device)

    def run_nmautils():
        return train_minibatch(fresh(), nn.BCELoss(), x, y, n_epochs=n_epochs, batch_size=100,
                               learning_rate=5e-4, momentum=0.99, seed=0, device=device,
                               progress=False)

    def run_bare():
        return bare_minibatch(fresh(), nn.BCELoss(), x, y, n_epochs, 100, 5e-4, 0.99, 0)

    a, b = run_nmautils(), run_bare()
    if a != b:
        raise AssertionError("train_minibatch and the bare loop gave different losses")
    _, ratio = interleaved({"nmautils": run_nmautils, "bare": run_bare}, repeats)
    return ratio["bare"]


def encoding_problem():
    """Tutorial 2's encoding data: 60 centred gratings (12 x 16) and full-size responses."""
    split = surrogate.make_surrogate(surrogate.FILE_SPLIT, size="full", seed=0)
    y = torch.tensor(split["resp_train"])
    y_test = torch.tensor(split["resp_test"])
    angles = np.linspace(0, 360, 61)[:-1] - 180
    x = torch.stack([grating(a, res=0.025, centred=True) for a in angles]).unsqueeze(1)
    return x.float(), y, y_test


def encoding_flops(n_stimuli: int, n_neurons: int, h=12, w=16, c_out=6, K=7) -> float:
    """Matmul + convolution FLOPs of one training step with a test-loss evaluation.

    Linear layer: forward (train), forward (test), and the two backward products (weights and
    inputs), each 2 * B * F * N. Convolution: forward twice and the weight gradient."""
    features = c_out * h * w
    linear = 4 * 2 * n_stimuli * features * n_neurons
    conv = 3 * 2 * n_stimuli * c_out * h * w * K * K
    return float(linear + conv)


def peak_matmul_gflops(device, quick: bool) -> float:
    best = 0.0
    for n in (2048,) if quick else (2048, 3072):
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)
        out = torch.empty(n, n, device=device)
        torch.mm(a, b, out=out)
        _sync(device)
        times = []
        for _ in range(3 if quick else 5):
            start = time.perf_counter()
            torch.mm(a, b, out=out)
            _sync(device)
            times.append(time.perf_counter() - start)
        best = max(best, 2 * n**3 / min(times) / 1e9)
    return best


def shapes_gemm_seconds(device, n_stimuli, n_neurons, features, quick: bool) -> float:
    """Time of the four linear-layer products of one step, each run alone (best of a few)."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(n_neurons, features, generator=g).to(device)
    bias = torch.randn(n_neurons, generator=g).to(device)
    a = torch.randn(n_stimuli, features, generator=g).to(device)
    grad_out = torch.randn(n_stimuli, n_neurons, generator=g).to(device)

    def step():
        torch.addmm(bias, a, w.t())  # forward, train
        torch.addmm(bias, a, w.t())  # forward, test
        torch.mm(grad_out.t(), a)  # weight gradient
        torch.mm(grad_out, w)  # input gradient
        _sync(device)

    step()
    times = []
    for _ in range(3 if quick else 5):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def encoding_figures(device, quick: bool, only: str | None) -> None:
    x, y, y_test = encoding_problem()
    n_stimuli, n_neurons = y.shape
    kernels = filters(6, 7, subtract_mean=True)
    n_iter, repeats = (2, 2) if quick else (3, 3)
    L2, L1, lr = 5e-4, 1e-6, 2.0

    def fresh():
        torch.manual_seed(0)
        return ConvFC(n_neurons, filters=kernels)

    def run_nmautils():
        net = fresh()
        return train_full_batch(
            net, nn.MSELoss(), x, y, n_epochs=n_iter, learning_rate=lr, momentum=0.9,
            L2_penalty=L2, L1_penalty=L1, penalized=[net.out_layer.weight], test_data=x,
            test_labels=y_test, device=device, progress=False,
        )

    def run_course():
        return course_loop(fresh(), x, y, n_iter, lr, L2, L1, x, y_test)

    fns = {"course": run_course} if wanted("vs_course_loop", only) else {}
    fns["nmautils"] = run_nmautils
    for fn in fns.values():  # warm-up
        fn()
    t, ratio = interleaved(fns, repeats)
    if "course" in t:
        emit("vs_course_loop", ratio["nmautils"], "x", ">=1.5",
             note=f"course {t['course'] / n_iter:.2f} s/step, nmautils "
             f"{t['nmautils'] / n_iter:.2f} s/step ({device.type})")
    achieved = encoding_flops(n_stimuli, n_neurons) * n_iter / t["nmautils"] / 1e9
    if wanted("flop_efficiency", only) and not (only == "flop_efficiency_shapes"):
        peak = peak_matmul_gflops(device, quick)
        emit("flop_efficiency", achieved / peak, "fraction", note=f"{achieved:.1f} GFLOP/s "
             f"training vs {peak:.1f} GFLOP/s square matmul ({device.type})")
    if wanted("flop_efficiency_shapes", only):
        features = x.shape[-2] * x.shape[-1] * 6
        gemm = shapes_gemm_seconds(device, n_stimuli, n_neurons, features, quick)
        rate = 8 * n_stimuli * features * n_neurons / gemm / 1e9
        emit("flop_efficiency_shapes", achieved / rate, "fraction", note=f"the step's own "
             f"products alone run at {rate:.1f} GFLOP/s ({device.type})")


def run(quick: bool = False, only: str | None = None, device: str = "cpu") -> None:
    dev = _device(device)
    if dev is None:
        for name in FIGURES:
            if wanted(name, only):
                emit(name, None, "x", note=f"{device} is not available on this machine")
        return
    # warm-up: the first optimizer of a process imports torch._dynamo
    optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    if wanted("train_overhead", only) and only != "train_overhead_minibatch":
        emit("train_overhead", overhead_full_batch(dev, quick), "x", "<=1.05",
             note=f"tutorial-2 classifier, full batch ({dev.type})")
    if wanted("train_overhead_minibatch", only):
        emit("train_overhead_minibatch", overhead_minibatch(dev, quick), "x", "<=1.05",
             note=f"assignment CNN, batch 100 ({dev.type})")
    if any(wanted(n, only) for n in FIGURES[2:]):
        encoding_figures(dev, quick, only)


def main(argv=None) -> None:
    standard_main(run, __doc__, argv, device_help="cpu (default) or cuda")


if __name__ == "__main__":
    main()
