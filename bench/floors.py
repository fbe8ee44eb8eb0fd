"""How fast a notebook could run at best: the kernels its science fixes, timed alone.

The work a notebook's content fixes (the data, the iterations, the hyper-parameters) takes a
least time on any machine. For the notebooks whose time goes mostly into training,
:func:`floor_seconds` times that work's kernels here, one at a time and best-of-N, with
preallocated outputs and without the Python around them, and ``bench_notebooks.py`` adds the
measured time of everything else in the notebook (the other cells, the kernel start) and
reports the notebook's time as a multiple of that floor, measured in the same run.

=====================  ======================================================================
notebook               kernels its training cells cannot do without
=====================  ======================================================================
tutorial2_encoding     all threads or one, whichever is faster: encoding model, 200 steps: its
                       three products (forward, weight and input gradients of 60 images
                       against 23,589 x 1,152 weights) and one pass of the fused update (the L1
                       sign and its addition left out, as if fused too); the decoders' first
                       layers: the ReLU decoder's 50 steps (forward and weight gradient, 216
                       stimuli) and the two classifiers' 2 x 1000 steps (forward, test forward
                       of 144 stimuli, weight gradient)
tutorial3_backprop     one thread, as the notebook: the hand-written network's 5,000 steps of
                       products (batches of 48), its per-epoch errors left out; the PyTorch
                       network of 5 x 200 units: 1,500 steps on batches of 480 (1,000 SGD + 500
                       Adam) and 300 on batches of 48 (grid cells), each timed as an SGD step
                       (Adam's are dearer)
=====================  ======================================================================

The cells these kernels belong to are :data:`TRAINING_CELLS` (by cell id).

Run alone: ``python bench/floors.py [name]`` prints the floors' kernel seconds as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from common import best_seconds

#: The cells (ids) of each notebook whose time :func:`floor_seconds` replaces by its kernels.
TRAINING_CELLS: dict[str, tuple[str, ...]] = {
    "tutorial2_encoding": ("deepnet-relu", "decode-run", "reg-run", "train-encoding"),
    "tutorial3_backprop": ("cell-048", "cell-052", "cell-056", "written-gridcells-code"),
}

N_NEURONS = 23589  # tutorial 2's neurons (surrogate and real data)
CONV_UNITS = 6 * 12 * 16  # the encoding model's conv units


def _encoding_step(timed) -> float:
    """Seconds of one encoding-model step's kernels: three products and one update pass."""
    import torch

    g = torch.Generator().manual_seed(0)
    # 60 images' conv units against the output weights (n_neurons x conv units)
    a, w = torch.randn(60, CONV_UNITS, generator=g), torch.randn(N_NEURONS, CONV_UNITS, generator=g)
    r = torch.randn(60, N_NEURONS, generator=g)
    out, grad_w, grad_a = torch.empty(60, N_NEURONS), torch.empty_like(w), torch.empty(60, CONV_UNITS)
    weight = torch.nn.Parameter(w)  # the update moves w by about 1e-9: the products don't mind
    weight.grad = grad_w
    sgd = torch.optim.SGD([weight], lr=1e-9, momentum=0.9, weight_decay=1e-3, fused=True)
    sgd.step()  # creates the momentum buffer: later steps are one pass over all three
    return (timed(lambda: torch.mm(a, w.t(), out=out))
            + timed(lambda: torch.mm(r.t(), a, out=grad_w))
            + timed(lambda: torch.mm(r, w, out=grad_a))
            + timed(sgd.step))


def _decoder_steps(timed) -> float:
    """Seconds of the decoders' first-layer products over all their steps."""
    import torch

    g = torch.Generator().manual_seed(0)
    # responses (stimuli x neurons) against 20 hidden units
    x, x_test = torch.randn(216, N_NEURONS, generator=g), torch.randn(144, N_NEURONS, generator=g)
    w_in, grad_h = torch.randn(20, N_NEURONS, generator=g), torch.randn(216, 20, generator=g)
    h, h_test, grad_in = torch.empty(216, 20), torch.empty(144, 20), torch.empty_like(w_in)
    forward = timed(lambda: torch.mm(x, w_in.t(), out=h))
    test = timed(lambda: torch.mm(x_test, w_in.t(), out=h_test))
    weight_grad = timed(lambda: torch.mm(grad_h.t(), x, out=grad_in))
    return 50 * (forward + weight_grad) + 2000 * (forward + test + weight_grad)


def _tutorial2(quick: bool) -> float:
    """The faster of this process's torch threads and one thread: on shared cores, threads
    that wait for each other can make the kernels slower than one thread does."""
    import torch

    repeats = 3 if quick else 7

    def timed(fn) -> float:
        return best_seconds(fn, repeats)

    threads = torch.get_num_threads()
    best = 200 * _encoding_step(timed) + _decoder_steps(timed)
    if threads > 1:
        torch.set_num_threads(1)
        try:
            best = min(best, 200 * _encoding_step(timed) + _decoder_steps(timed))
        finally:
            torch.set_num_threads(threads)
    return best


def mlp_step_seconds(widths: Sequence[int], repeats: int, n_steps: int = 200,
                     batch: int = 48) -> float:
    """Seconds per SGD step (``foreach``, mean squared error) of a ReLU network with layer
    ``widths`` (inputs first) on ``batch`` samples, on one torch thread as tutorial 3 trains
    its networks: best of ``repeats`` runs of ``n_steps`` steps."""
    import torch

    torch.manual_seed(0)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])  # no ReLU after the output layer
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, foreach=True)
    x, y = torch.randn(batch, widths[0]), torch.randn(batch, widths[-1])

    def steps():
        for _ in range(n_steps):
            opt.zero_grad()
            torch.mean((net(x) - y) ** 2).backward()
            opt.step()

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return best_seconds(steps, repeats) / n_steps
    finally:
        torch.set_num_threads(saved)


def _tutorial3(quick: bool) -> float:
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    n_in, hidden, batch = 26, 200, 48  # 25 place cells + bias row, as the notebook
    x, c3 = rng.standard_normal((n_in, batch)), rng.standard_normal((2, batch))
    w1, w2 = rng.standard_normal((hidden, n_in)), rng.standard_normal((hidden, hidden + 1))
    w3, h = rng.standard_normal((2, hidden + 1)), rng.standard_normal((hidden + 1, batch))
    c = rng.standard_normal((hidden, batch))

    def hand_step():  # the products of one forward pass and one backward pass
        w1 @ x, w2 @ h, w3 @ h  # forward
        c3 @ h.T, w3[:, :-1].T @ c3, c @ h.T, w2[:, :-1].T @ c, c @ x.T  # gradients

    with threadpool_limits(limits=1):
        hand = best_seconds(lambda: [hand_step() for _ in range(50)], 3 if quick else 5) / 50
    # the notebook's PyTorch network: 25 place cells, five hidden layers of 200, two outputs,
    # batches of 480 (10 % of the training data)
    widths = (25, 200, 200, 200, 200, 200, 2)
    big = mlp_step_seconds(widths, 3 if quick else 5, n_steps=20, batch=480)
    small = mlp_step_seconds(widths, 3 if quick else 5, n_steps=50)  # grid cells: batches of 48
    return 5000 * hand + 1500 * big + 300 * small


FLOORS = {"tutorial2_encoding": _tutorial2, "tutorial3_backprop": _tutorial3}


def floor_seconds(name: str, quick: bool = False) -> float | None:
    """Seconds the kernels of ``name``'s :data:`TRAINING_CELLS` need at least here (in this
    process, with its threads); None for a notebook without a floor."""
    return FLOORS[name](quick) if name in FLOORS else None


def main(argv: list[str] | None = None) -> None:
    names = (sys.argv[1:] if argv is None else argv) or sorted(FLOORS)
    print(json.dumps({name: floor_seconds(name) for name in names}, indent=1))


if __name__ == "__main__":
    main()
