"""Benchmark: one training step of tutorial 2's encoding model, naive loop vs train_full_batch.

The encoding model (``ConvFC``: Conv2d(1, 6, 7, padding 3) on 12 x 16 gratings, flattened into a
Linear(1152, n_neurons)) has 1152 x 23,589 = 27 M output weights. Tutorial 2 trains it for 200
full-batch iterations of SGD (learning rate 2, momentum 0.9) on MSE + 5e-4 * sum(w^2) +
1e-6 * sum(|w|) over the output weights, tracking the test loss after every step.

Two ways of running one iteration are measured side by side, in the same process, on the same
data (the full-size surrogate unless NMAUTILS_DATA says otherwise), interleaved in rounds so that
load from other processes affects both alike:

- ``naive``: what one writes first - the penalties built into the loss (autograd computes
  ``w ** 2`` and ``|w|`` over 27 M weights, keeps them for the backward pass and adds two more
  27 M gradients), the test loss computed with autograd on (a graph that is never used), and
  ``loss.item()`` every iteration;
- ``train_full_batch``: :func:`nmautils.train.train_full_batch` - penalty gradients
  ``2 * L2 * w + L1 * sign(w)`` added to ``w.grad`` in place, the test loss under
  ``torch.no_grad()``, losses kept on the device until the end.

It also times the pieces of a step (forward + backward, penalty, test evaluation, optimizer step)
and the whole update after the backward pass in two forms, alternated
(``update_speedup_fused_vs_step_by_step``, goal >= 1.3): step by step (``2 * L2 * w`` and
``L1 * sign(w)`` added to the gradient, then plain SGD: momentum buffer, then update; seven passes
over the 27 M weights) against ``train_full_batch``'s form (``L1 * sign(w)`` in place, then one
fused SGD kernel doing the L2 weight decay, momentum and update; three passes). Absolute goals are
in reference milliseconds/seconds (``bench/calibration.py``: scaled by the speed index measured
in the same run). It checks that both ways produce the same weights, and prints one line per
measurement::

    name value unit goal status

Usage: ``python bench/bench_encoding.py`` (about a minute on 2 CPU cores). Set
``NMAUTILS_DEVICE=cuda`` to measure on a GPU.

Recorded results, 2-core AMD EPYC VM (CPU, torch 2.13.0, 2 threads, load average ~0.7 from
other jobs), full-size surrogate, 27.2 M output weights:

    part_forward_backward_ms 108 ms          part_penalty_autograd_ms 221 ms
    part_penalty_inplace_ms 18.2 ms          (in place vs autograd: 12.1x)
    part_test_eval_autograd_ms 36 ms         part_test_eval_no_grad_ms 35.3 ms
    part_optimizer_step_ms 16.6 ms
    naive_ms_per_iter 414 ms  -> 200 iterations 82.7 s     (before)
    train_full_batch_ms_per_iter 197 ms -> 200 iterations 39.4 s  (after; 2.14x faster)
    train_full_batch_1_thread_ms_per_iter 340 ms
    max_abs_weight_diff_after_5_iter 2.98e-08 (same result both ways)

The three matrix products of a step (forward, weight gradient, input gradient; 3.3 GFLOP each)
take about 110 ms of the 197; the test loss repeats the forward (35 ms) on the same images. On a
busy machine (load 6-7) every figure grew 5-10x: two OpenMP threads spin-waiting on two shared
cores; OMP_WAIT_POLICY=PASSIVE or one thread avoids most of that.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

os.environ.setdefault("NMAUTILS_DATA", "surrogate")
os.environ.setdefault("NMAUTILS_PROGRESS", "off")

import torch  # noqa: E402
from calibration import SHARES, measure, reference_seconds, speed_index  # noqa: E402
from common import emit  # noqa: E402  (bench/common.py: line format, repo root on sys.path)
from torch import nn  # noqa: E402

from nmautils.data import load_data_split  # noqa: E402
from nmautils.stimuli import filters, grating  # noqa: E402
from nmautils.train import pick_device, set_seed, train_full_batch  # noqa: E402

L2, L1, LR, MOMENTUM, N_ITER_TUTORIAL = 5e-4, 1e-6, 2.0, 0.9, 200
ROUNDS, ITERS_PER_ROUND = 3, 4


class ConvFC(nn.Module):
    """The tutorial's encoding model (reference copy; the notebook's is an exercise)."""

    def __init__(self, n_neurons: int, c_out: int = 6, K: int = 7, b: int = 12 * 16):
        super().__init__()
        self.conv = nn.Conv2d(1, c_out, kernel_size=K, padding=K // 2)
        self.conv.weight = nn.Parameter(filters(c_out, K, subtract_mean=True))
        self.out_layer = nn.Linear(c_out * b, n_neurons)
        nn.init.normal_(self.out_layer.weight, std=0.01)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.out_layer(self.conv(s).flatten(start_dim=1))


def naive_train(net, images, resp_train, resp_test, n_iter):
    """The straightforward loop: penalties and test loss through autograd, .item() each step."""
    optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.MSELoss()
    w = net.out_layer.weight
    train_losses, test_losses = [], []
    for _ in range(n_iter):
        optimizer.zero_grad()
        data_loss = loss_fn(net(images), resp_train)
        loss = data_loss + L2 * (w**2).sum() + L1 * w.abs().sum()
        loss.backward()
        optimizer.step()
        train_losses.append(data_loss.item())
        test_losses.append(loss_fn(net(images), resp_test).item())  # autograd graph built, unused
    return train_losses, test_losses


def fast_train(net, images, resp_train, resp_test, n_iter, device):
    return train_full_batch(
        net, nn.MSELoss(), images, resp_train, n_iter=n_iter, learning_rate=LR,
        momentum=MOMENTUM, L2_penalty=L2, L1_penalty=L1, penalized=[net.out_layer.weight],
        test_data=images, test_labels=resp_test, device=device, progress=False)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeat: int = 5) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    fn()
    sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def line(name: str, value: float, unit: str, goal: str = "-", note: str = "") -> None:
    """One figure line in the shared format of bench/common.py (status from the goal)."""
    emit(name, value, unit, goal, note=note)


def main() -> None:
    global ROUNDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing rounds")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: pick_device())")
    parser.add_argument("--only", default=None, help="ignored (run.py filters the lines)")
    args = parser.parse_args()
    if args.quick:
        ROUNDS = 2
    device = pick_device(args.device)
    resp_train, resp_test, _ = load_data_split()
    angles = torch.linspace(0, 360, 61)[:-1] - 180
    images = torch.stack([grating(float(a), res=0.025, centred=True) for a in angles]).unsqueeze(1)
    n_neurons = resp_train.shape[1]
    print(f"# bench_encoding: device {device.type}, torch threads {torch.get_num_threads()}, "
          f"{n_neurons} neurons, {1152 * n_neurons / 1e6:.1f} M output weights", flush=True)

    set_seed(0)
    start_net = ConvFC(n_neurons)

    # ---- the pieces of one iteration (on the device) -------------------------------------
    net = copy.deepcopy(start_net).to(device)
    x, y, y_test = images.to(device), resp_train.to(device), resp_test.to(device)
    w = net.out_layer.weight
    loss_fn = nn.MSELoss()
    opt = torch.optim.SGD(net.parameters(), lr=1e-12, momentum=MOMENTUM)  # tiny steps: state only

    def fwd_bwd():
        opt.zero_grad()
        loss_fn(net(x), y).backward()

    def penalty_autograd():
        opt.zero_grad()
        (L2 * (w**2).sum() + L1 * w.abs().sum()).backward()

    sign_buf = torch.empty_like(w)

    def penalty_inplace():
        with torch.no_grad():
            w.grad.add_(w, alpha=2 * L2).add_(torch.sign(w, out=sign_buf), alpha=L1)

    def test_autograd():
        loss_fn(net(x), y_test).item()

    def test_no_grad():
        with torch.no_grad():
            loss_fn(net(x), y_test).item()

    fwd_bwd()
    parts = {
        "part_forward_backward_ms": timed(fwd_bwd, device),
        "part_penalty_autograd_ms": timed(penalty_autograd, device),
        "part_penalty_inplace_ms": timed(penalty_inplace, device),
        "part_test_eval_autograd_ms": timed(test_autograd, device),
        "part_test_eval_no_grad_ms": timed(test_no_grad, device),
        "part_optimizer_step_ms": timed(opt.step, device),
    }
    # The whole update after backward, step by step (penalty gradient in two passes, then
    # plain SGD: momentum buffer, update) vs train_full_batch's form (L1 sign in place, then
    # one fused kernel for L2 weight decay, momentum and update), alternated.
    others = [p for p in net.parameters() if p is not w]
    opt_fused = torch.optim.SGD([{"params": [w], "weight_decay": 2 * L2},
                                 {"params": others, "weight_decay": 0.0}],
                                lr=1e-12, momentum=MOMENTUM, fused=device.type in ("cpu", "cuda"))
    opt_plain = torch.optim.SGD(net.parameters(), lr=1e-12, momentum=MOMENTUM, foreach=False)

    def update_step_by_step():
        penalty_inplace()
        opt_plain.step()

    def update_fused():
        with torch.no_grad():
            w.grad.add_(torch.sign(w, out=sign_buf), alpha=L1)
        opt_fused.step()

    by_step, fused = [], []
    update_step_by_step(), update_fused()  # warm-up: momentum buffers exist
    for _ in range(5):
        by_step.append(timed(update_step_by_step, device, repeat=1))
        fused.append(timed(update_fused, device, repeat=1))
    parts["part_update_step_by_step_ms"] = statistics.median(by_step)
    parts["part_update_fused_ms"] = statistics.median(fused)
    for name, value in parts.items():
        line(name, value, "ms")
    line("update_speedup_fused_vs_step_by_step",
         statistics.median(a / b for a, b in zip(by_step, fused)), "x", ">=1.3",
         note="penalty + momentum + update of the 27 M output weights, alternated")
    net = opt = opt_fused = opt_plain = w = sign_buf = others = None  # free the 27 M copies
    line("penalty_speedup_inplace_vs_autograd",
         parts["part_penalty_autograd_ms"] / parts["part_penalty_inplace_ms"], "x", ">=2")

    # ---- whole iterations, interleaved rounds ------------------------------------------------
    naive_net = copy.deepcopy(start_net).to(device)
    naive_train(naive_net, x, y, y_test, 1)  # warm-up
    fast_net = copy.deepcopy(start_net)
    fast_train(fast_net, images, resp_train, resp_test, 1, device)
    naive_ms, fast_ms = [], []
    for _ in range(ROUNDS):
        sync(device)
        t0 = time.perf_counter()
        naive_train(naive_net, x, y, y_test, ITERS_PER_ROUND)
        sync(device)
        t1 = time.perf_counter()
        fast_train(fast_net, images, resp_train, resp_test, ITERS_PER_ROUND, device)
        sync(device)
        t2 = time.perf_counter()
        naive_ms.append(1000 * (t1 - t0) / ITERS_PER_ROUND)
        fast_ms.append(1000 * (t2 - t1) / ITERS_PER_ROUND)
    naive, fast = statistics.median(naive_ms), statistics.median(fast_ms)
    ratio = statistics.median(a / b for a, b in zip(naive_ms, fast_ms))
    line("naive_ms_per_iter", naive, "ms")
    shares = SHARES["encoding_step"]
    index = speed_index(measure(True, shares), shares) if device.type == "cpu" else None
    if index is None:
        line("train_full_batch_ms_per_iter", fast, "ms")
    else:  # the goal in reference milliseconds (bench/calibration.py), the same anywhere
        line("train_full_batch_ms_per_iter", reference_seconds(fast, index), "ref_ms", "<150",
             note=f"{fast:.0f} ms here at speed index {index:.2f}")
    line("speedup_train_full_batch_vs_naive", ratio, "x", ">=1.5",
         note="median of per-round ratios")
    line("naive_200_iter_projected", naive * N_ITER_TUTORIAL / 1000, "s")
    projected = fast * N_ITER_TUTORIAL / 1000
    if index is None:
        line("train_full_batch_200_iter_projected", projected, "s")
    else:
        line("train_full_batch_200_iter_projected", reference_seconds(projected, index), "ref_s",
             "<30", note=f"{projected:.1f} s here")

    # ---- threads (CPU only): one thread avoids OpenMP spin-waiting when cores are shared ----
    if device.type == "cpu" and torch.get_num_threads() > 1:
        saved = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            one = timed(lambda: fast_train(copy.deepcopy(start_net), images, resp_train, resp_test,
                                           ITERS_PER_ROUND, device), device, repeat=2)
        finally:
            torch.set_num_threads(saved)
        line("train_full_batch_1_thread_ms_per_iter", one / ITERS_PER_ROUND, "ms",
             note=f"vs {fast:.0f} ms with {saved} threads")

    # ---- same result -------------------------------------------------------------------
    a, b = copy.deepcopy(start_net).to(device), copy.deepcopy(start_net)
    naive_losses, _ = naive_train(a, x, y, y_test, 5)
    fast_losses, _ = fast_train(b, images, resp_train, resp_test, 5, device)
    diff = max((p.detach().cpu() - q.detach()).abs().max().item()
               for p, q in zip(a.parameters(), b.parameters()))
    line("max_abs_weight_diff_after_5_iter", diff, "-", "<1e-5",
         note="naive and train_full_batch from the same start")
    loss_gap = max(abs(u - v) / abs(u) for u, v in zip(naive_losses, fast_losses))
    line("max_rel_train_loss_diff", loss_gap, "-", "<1e-4")


if __name__ == "__main__":
    main()
