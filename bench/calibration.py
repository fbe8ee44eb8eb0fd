"""How fast this machine is at the work the notebooks do: the calibration of goals in reference
seconds.

A notebook's run time depends on several kinds of speed, and machines differ in each by
different factors: a large matrix product rewards wide vector units, the encoding model's
products (60 rows against 23,589 x 1,152 weights) and the decoders' (216 rows of 23,589 inputs
against 20 hidden units) are partly limited by memory, the weight updates stream 100 MB arrays,
tutorial 3's small networks spend their time in Python and in the dispatch of tiny
operations, and every notebook pays for a kernel start, imports and figures. One square product
alone over-rated a machine with AVX-512 by 1.4x (this file's reference machine: tutorial 2 took
about as long as on the AMD machine the goals were first set on, while its square product was
1.4x faster), and it predicted the generic configuration below 3-4x slower where the notebooks
ran 1.0-1.7x slower.

So eight short probes, each timed best-of-N (load from other processes only slows a run down, so
the fastest repetition is the steadiest estimate). On the shared reference VM they still vary
from one minute to the next: the products by about 20 %, and the one-thread probes
(``small_steps``, ``numpy_small``, ``python``) jump between two levels 1.5x apart, together,
as if the core's other hyper-thread were busy or not; a single bench run therefore carries
that much uncertainty:

=================  =========  ===============================================================
probe              unit       stands for
=================  =========  ===============================================================
gemm_square        GFLOP/s    2048 x 2048 float32 product (compute-bound BLAS)
gemm_encoder       GFLOP/s    (60 x 1152) @ (1152 x 23589): tutorial 2's encoding model
gemm_decoder       GFLOP/s    (216 x 23589) @ (23589 x 20): the decoders of tutorials 1 and 2
stream             GB/s       ``out = x + 0.5 * y`` over 2**24 float32 (64 MB each)
small_steps        steps/s    SGD steps of a 25-64-64-2 ReLU network on 48 samples, 1 thread
numpy_small        GFLOP/s    float64 (200 x 201) @ (201 x 48) products, one thread (tutorial 3)
conv_step          steps/s    7 x 7 convolution, 6 filters, 100 images of 48 x 64 (assignment 3)
python             Mop/s      dict and list work in the interpreter (start-up, imports, figures)
=================  =========  ===============================================================

The **speed index** of a workload says how many times faster than the reference machine
(:data:`REFERENCE_RATES`) this machine runs it: each notebook has the shares of its time that go
to work like each probe (:data:`SHARES`, measured on the reference machine), and its time here
is predicted as ``sum(share * reference_rate / rate)`` times its time there. A time measured here
is expressed in reference seconds as ``seconds * index``. Checked by running the notebooks
under the build's generic numeric configuration (one thread, AVX2: tutorial 2 1.7x slower,
tutorial 3 1.2x, tutorial 1 unchanged), where the reference seconds should come out as in a
plain run.

Run alone: ``python bench/calibration.py`` prints the rates and the index as JSON. The probes
run in the process that calls :func:`measure`, with its threads and instruction sets; use
:func:`measure_in_subprocess` to measure under one of the build's numeric configurations.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Probe rates on the reference machine: a 2-vCPU VM (Intel Xeon with AVX-512, torch 2.13.0,
#: 2 threads), the median of 5 quiet runs on 2026-11-27. Re-measure with
#: ``python bench/calibration.py`` (several times, on a quiet machine) when the reference changes.
REFERENCE_RATES: dict[str, float] = {
    "gemm_square": 234.8,
    "gemm_encoder": 142.5,
    "gemm_decoder": 81.8,
    "stream": 23.9,
    "small_steps": 1584.0,
    "numpy_small": 36.0,
    "conv_step": 92.4,
    "python": 5.0,
}

#: What each notebook spends its time on, as shares of its run time on the reference machine
#: (per-cell timings of the solution notebooks, 2026-11-27, rounded): tutorial 2's encoding
#: model (24 of 62 s: its three products and its passes over the 27 M weights), its decoders
#: (19 s) and the rest (kernel start, imports, figures, data); tutorial 3's hand-written
#: network (5 of 27 s), its two PyTorch networks (9 s) and the rest; the assignment's CNN
#: (7.6 of 20 s); tutorial 1 is nearly all start-up, imports and figures. Any other notebook
#: gets equal shares of every probe.
SHARES: dict[str, dict[str, float]] = {
    "tutorial1_decoding": {"python": 0.9, "gemm_decoder": 0.1},
    "tutorial2_encoding": {"gemm_encoder": 0.27, "stream": 0.12, "gemm_decoder": 0.31,
                           "python": 0.30},
    "tutorial3_backprop": {"numpy_small": 0.19, "small_steps": 0.33, "python": 0.48},
    "assignment3_interpret": {"conv_step": 0.38, "python": 0.62},
    # bench_encoding.py's training step: three products, then the update's passes
    "encoding_step": {"gemm_encoder": 0.65, "stream": 0.35},
}

#: Units of the probe rates.
UNITS = {"gemm_square": "GFLOP/s", "gemm_encoder": "GFLOP/s", "gemm_decoder": "GFLOP/s",
         "stream": "GB/s", "small_steps": "steps/s", "numpy_small": "GFLOP/s",
         "conv_step": "steps/s", "python": "Mop/s"}


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls, after one warm-up call."""
    fn()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _gemm_rate(m: int, k: int, n: int, repeats: int) -> float:
    """GFLOP/s of ``(m x k) @ (k x n)`` with the right factor stored as an (n x k) weight
    matrix, as ``nn.Linear`` does."""
    import torch

    g = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=g)
    w = torch.randn(n, k, generator=g)
    out = torch.empty(m, n)
    seconds = best_seconds(lambda: torch.mm(a, w.t(), out=out), repeats)
    return 2 * m * k * n / seconds / 1e9


def probe_gemm_square(quick: bool = False) -> float:
    return _gemm_rate(2048, 2048, 2048, 3 if quick else 5)


def probe_gemm_encoder(quick: bool = False) -> float:
    return _gemm_rate(60, 1152, 23589, 3 if quick else 7)


def probe_gemm_decoder(quick: bool = False) -> float:
    return _gemm_rate(216, 23589, 20, 10 if quick else 30)


def probe_stream(quick: bool = False) -> float:
    import torch

    n = 2**24
    x, y, out = torch.ones(n), torch.ones(n), torch.empty(n)
    seconds = best_seconds(lambda: torch.add(x, y, alpha=0.5, out=out), 4 if quick else 9)
    return 3 * 4 * n / seconds / 1e9


def mlp_step_seconds(widths: Sequence[int], repeats: int, n_steps: int = 200,
                     batch: int = 48) -> float:
    """Seconds per SGD step (``foreach``, mean squared error) of a ReLU network with layer
    ``widths`` (inputs first) on ``batch`` samples, on one torch thread, as tutorial 3 trains
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


def probe_small_steps(quick: bool = False) -> float:
    """On one torch thread, as tutorial 3 trains its small networks."""
    return 1 / mlp_step_seconds((25, 64, 64, 2), 2 if quick else 4)


def probe_python(quick: bool = False) -> float:
    """Millions of simple Python operations per second (dict and list work in the
    interpreter): kernel start, imports, plotting and the cells' own Python."""
    n = 200_000

    def work():
        table: dict[int, int] = {}
        for i in range(n):
            table[i & 1023] = table.get(i & 1023, 0) + i
        return sorted(table.values())

    return n / best_seconds(work, 4 if quick else 9) / 1e6


def probe_numpy_small(quick: bool = False) -> float:
    """On one BLAS thread, as tutorial 3 runs its hand-written network."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((200, 201)), rng.standard_normal((201, 48))
    n_products = 500

    def products():
        for _ in range(n_products):
            a @ b

    with threadpool_limits(limits=1):
        seconds = best_seconds(products, 2 if quick else 4)
    return 2 * 200 * 201 * 48 * n_products / seconds / 1e9


def probe_conv_step(quick: bool = False) -> float:
    """Training steps per second of a 7 x 7 convolution with 6 filters on 100 images of
    48 x 64 pixels (forward and backward): the assignment's CNN."""
    import torch

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 6, kernel_size=7, padding=3)
    x = torch.randn(100, 1, 48, 64)
    n_steps = 10

    def steps():
        for _ in range(n_steps):
            conv.zero_grad()
            torch.relu(conv(x)).sum().backward()

    return n_steps / best_seconds(steps, 2 if quick else 4)


PROBES: dict[str, Callable[[bool], float]] = {
    "gemm_square": probe_gemm_square,
    "gemm_encoder": probe_gemm_encoder,
    "gemm_decoder": probe_gemm_decoder,
    "stream": probe_stream,
    "small_steps": probe_small_steps,
    "numpy_small": probe_numpy_small,
    "conv_step": probe_conv_step,
    "python": probe_python,
}


def measure(quick: bool = False, probes: Iterable[str] | None = None) -> dict[str, float]:
    """The rates of ``probes`` (names of :data:`PROBES`; default all of them, about 3 s) in this
    process; a workload's index needs only the probes it has shares in."""
    names = list(PROBES) if probes is None else list(probes)
    unknown = sorted(set(names) - set(PROBES))
    if unknown:
        raise ValueError(f"probes should be names of calibration.PROBES, but got {unknown}.")
    return {name: PROBES[name](quick) for name in names}


def shares_for(work: str | None) -> dict[str, float]:
    """The probe shares of a notebook or workload (:data:`SHARES`); equal shares otherwise."""
    if work in SHARES:
        return SHARES[work]
    return {name: 1 / len(PROBES) for name in PROBES}


def speed_index(rates: dict[str, float], shares: dict[str, float] | None = None,
                reference: dict[str, float] | None = None) -> float:
    """How many times faster than the reference machine this machine runs a workload.

    A workload that spends the share ``s_p`` of its time on the reference machine on work like
    probe ``p`` takes ``sum_p s_p * reference[p] / rates[p]`` times as long here, so the index
    is the inverse of that sum (a weighted harmonic mean of the rate ratios): 1 on the
    reference machine, 0.5 where everything runs at half speed.

    Parameters
    ----------
    rates : dict
        Probe rates measured here (:func:`measure`).
    shares : dict, optional
        Shares of the workload's time per probe, summing to 1; default equal shares.
    reference : dict, optional
        Probe rates of the reference machine; default :data:`REFERENCE_RATES`.
    """
    reference = REFERENCE_RATES if reference is None else reference
    shares = shares_for(None) if shares is None else shares
    if not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-6):
        raise ValueError(f"shares should sum to 1, but they sum to {sum(shares.values())}.")
    missing = sorted(set(shares) - set(rates) | set(shares) - set(reference))
    if missing:
        raise ValueError(f"rates and reference should hold every probe of shares, but {missing} "
                         "are missing.")
    slowdown = 0.0
    for name, share in shares.items():
        if not (rates[name] > 0 and reference[name] > 0):
            raise ValueError(f"rates should be positive, but got {name}: {rates[name]} "
                             f"against the reference {reference[name]}.")
        slowdown += share * reference[name] / rates[name]
    return 1 / slowdown


def reference_seconds(seconds: float, index: float) -> float:
    """``seconds`` measured on a machine of speed ``index``, expressed on the reference machine."""
    return seconds * index


def measure_in_subprocess(env: dict[str, str] | None = None, quick: bool = False,
                          probes: Iterable[str] | None = None) -> dict[str, float]:
    """:func:`measure` in a fresh Python process with ``env`` added to this process's
    environment (e.g. one of the build's numeric configurations, whose thread counts and
    instruction sets take effect only when set before torch is imported)."""
    cmd = [sys.executable, str(HERE / "calibration.py")] + (["--quick"] if quick else [])
    if probes is not None:
        cmd += ["--probes", ",".join(probes)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True,
                          env={**os.environ, **(env or {})})
    return json.loads(proc.stdout)["rates"]


def describe(rates: dict[str, float]) -> str:
    """The rates in one short line, for a figure's note."""
    return ", ".join(f"{name} {rate:.3g} {UNITS[name]}" for name, rate in rates.items())


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--probes", help="comma-separated probe names (default: all; the index "
                        "is then printed for equal shares of them)")
    args = parser.parse_args(argv)
    rates = measure(args.quick, args.probes.split(",") if args.probes else None)
    equal = {name: 1 / len(rates) for name in rates}
    print(json.dumps({"rates": rates, "index": speed_index(rates, equal)}))


if __name__ == "__main__":
    main()
