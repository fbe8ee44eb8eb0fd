"""Training loops, seeding and device selection (GPU-aware).

Notebooks define their own ``train`` function as an exercise, so this module deliberately
exports no function called ``train``; use :func:`train_full_batch` or :func:`train_minibatch`.

Device rules (:func:`pick_device`): an explicit ``device`` argument wins, then the environment
variable ``NMAUTILS_DEVICE``, then CUDA when available, else the CPU. The training functions move
the network and the data to that device once, train there, and move the network back to the
device it came from before returning (so later cells that use CPU tensors keep working on a GPU
machine).

Progress bars (``tqdm.auto``): ``progress=True`` always shows one, ``progress=False`` never;
``progress=None`` (default) shows one when the run has at least 100 optimisation steps and the
environment variable ``NMAUTILS_PROGRESS`` is not ``"off"``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn, optim

from . import settings
from ._validate import (
    check_callable,
    check_consistent_length,
    check_int,
    check_number,
    check_positive_int,
    check_type,
    shape_error,
)
from .progress import progress_enabled

__all__ = [
    "set_seed",
    "pick_device",
    "set_device",
    "train_full_batch",
    "train_minibatch",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: What a seed must be (:func:`set_seed`).
SEED_RANGE = "an int between 0 and 2**32 - 1"

#: Minimum number of optimisation steps for which ``progress=None`` shows a bar.
AUTO_PROGRESS_MIN_STEPS = 100


# --------------------------------------------------------------------------------------------
# Seeds and devices
# --------------------------------------------------------------------------------------------


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and all GPUs).

    Parameters
    ----------
    seed : int
        A seed in ``0 .. 2**32 - 1``.

    Examples
    --------
    >>> set_seed(0); a = torch.rand(2)
    >>> set_seed(0); bool(torch.equal(a, torch.rand(2)))
    True
    """
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1, expected=SEED_RANGE)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Choose the device to compute on.

    Parameters
    ----------
    device : str, torch.device or None
        Explicit choice (``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'mps'``). If None, the
        environment variable ``NMAUTILS_DEVICE`` is used when set (``'auto'`` or empty means
        unset), else ``'cuda'`` when a GPU is available, else ``'cpu'``.

    Returns
    -------
    torch.device

    Raises
    ------
    TypeError
        If ``device`` is not a str, a torch.device or None.
    ValueError
        For an unknown device name, the ``'meta'`` device, or an accelerator that is not
        available on this machine.

    Examples
    --------
    >>> pick_device("cpu")
    device(type='cpu')
    >>> pick_device("meta")
    Traceback (most recent call last):
    ...
    ValueError: device should be 'cpu' or 'cuda' (a device to train on), but got device='meta': cannot train on a 'meta' device.
    """
    source = "device"
    if device is None:
        env = settings.get("NMAUTILS_DEVICE")
        if env == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        device, source = env, "NMAUTILS_DEVICE"
    check_type(device, "device", (str, torch.device),
               "a string such as 'cpu' or 'cuda', a torch.device or None")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as err:
        raise ValueError(
            f"{source} should be a device name torch understands (try 'cpu' or 'cuda'), but got "
            f"{source}={device!r}, which is not a device name."
        ) from err
    available = f"{source} should name a device available here, but got {source}={device!r}"
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{available}: it asks for a GPU and CUDA is not available here.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"{available}: it asks for GPU {dev.index} and only "
                f"{torch.cuda.device_count()} GPU(s) are visible."
            )
        return dev
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"{available}: it asks for MPS, which is not available here.")
        return dev
    raise ValueError(
        f"{source} should be 'cpu' or 'cuda' (a device to train on), but got {source}={device!r}: "
        f"cannot train on a {dev.type!r} device."
    )


def set_device(device: str | torch.device | None = None) -> torch.device:
    """Return the device the course computes on (same rules as :func:`pick_device`).

    Provided under the name the course material uses; it prints nothing, so notebook outputs
    stay identical on every machine.
    """
    return pick_device(device)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_tensor_pair(data: object, labels: object, what: str) -> None:
    names = (f"{what}_data", f"{what}_labels")
    for name, x in zip(names, (data, labels)):
        check_type(x, name, torch.Tensor, "a torch.Tensor")
        if x.ndim == 0:
            raise shape_error(name, "(n_samples, ...) (one row per sample)", x)
    check_consistent_length(data, labels, names)
    if data.shape[0] == 0:  # type: ignore[union-attr]
        raise ValueError(f"{what}_data should have at least one row, but got 0.")


def _check_rate(value: object, name: str, *, positive: bool) -> float:
    """A finite learning rate / momentum / penalty: > 0 with ``positive``, else >= 0."""
    return check_number(value, name, minimum=0, include_min=not positive)


def _check_net(net: object) -> torch.device:
    """Validate ``net`` and return the device of its parameters."""
    check_type(net, "net", nn.Module, "a torch.nn.Module")
    param = next(net.parameters(), None)
    if param is None:
        raise ValueError("net should have parameters to train, but got a module with none.")
    return param.device


def _check_training(net: object, loss_fn: object, data: object, labels: object) -> torch.device:
    """Check what both training loops take; return the device of the net's parameters."""
    home = _check_net(net)
    check_callable(loss_fn, "loss_fn")
    _check_tensor_pair(data, labels, "train")
    return home


@contextmanager
def _moved_to(net: nn.Module, device: torch.device, home: torch.device) -> Iterator[None]:
    """Train ``net`` on ``device``; afterwards (also on an error) it is back on ``home`` in the
    train/eval mode it had."""
    was_training = net.training
    net.to(device)
    try:
        yield
    finally:
        net.to(home)
        net.train(was_training)


def _progress_bar(steps: Iterable, progress: bool | None, n_steps: int, unit: str):
    """``(steps, bar)``: a tqdm bar over ``steps`` when one is shown, else ``(steps, None)``."""
    if not _show_progress(progress, n_steps):
        return steps, None
    from tqdm.auto import tqdm

    bar = tqdm(steps, desc="training", unit=unit)
    return bar, bar


def _show_progress(progress: bool | None, n_steps: int) -> bool:
    if progress is not None:
        return bool(progress)
    if not progress_enabled():
        return False
    return n_steps >= AUTO_PROGRESS_MIN_STEPS


def _scalar_loss(loss: object) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn should return a scalar tensor, but got {shape}.")
    return loss


def _penalized_params(
    net: nn.Module, penalized: Iterable[torch.Tensor] | None, active: bool
) -> list[torch.Tensor]:
    """The parameters that the L1/L2 penalties apply to (empty when no penalty is active)."""
    if not active:
        return []
    if penalized is None:
        return [p for p in net.parameters() if p.requires_grad and p.ndim >= 2]
    if isinstance(penalized, torch.Tensor):
        penalized = [penalized]
    params = list(penalized)
    own = {id(p) for p in net.parameters()}
    for i, p in enumerate(params):
        check_type(p, f"penalized[{i}]", torch.Tensor,
                   "a parameter of net (e.g. net.out_layer.weight)")
        if id(p) not in own:
            raise ValueError(
                f"penalized[{i}] should be a parameter of net (e.g. net.out_layer.weight), but "
                "it is a tensor that net does not own."
            )
    return params


def _fused_sgd(
    net: nn.Module,
    penalized: list[torch.Tensor],
    lr: float,
    momentum: float,
    weight_decay: float,
    device: torch.device,
) -> optim.SGD:
    """SGD whose L2 penalty, momentum and update take one pass over each weight.

    The gradient of ``L2 * sum(w ** 2)`` is ``2 * L2 * w``: SGD's ``weight_decay`` adds exactly
    that, inside the same fused kernel as the momentum buffer and the weight update. So the
    penalised parameters form one group with ``weight_decay = 2 * L2`` and the others a group
    without. ``fused=True`` (one kernel per tensor instead of four separate passes) is used on
    the devices that have it (CPU, CUDA); elsewhere the default implementation runs. The fused
    kernel rounds differently in the last bit from the step-by-step form (multiply-add), so
    results agree with a hand-written loop within float32 rounding, not bit for bit.
    """
    ids = {id(p) for p in penalized}
    groups = [
        {"params": [p for p in net.parameters() if id(p) in ids], "weight_decay": weight_decay},
        {"params": [p for p in net.parameters() if id(p) not in ids], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    fused = device.type in ("cpu", "cuda") and all(
        p.is_floating_point() for g in groups for p in g["params"]
    )
    return optim.SGD(groups, lr=lr, momentum=momentum, fused=True if fused else None)


# --------------------------------------------------------------------------------------------
# Training loops
# --------------------------------------------------------------------------------------------


def train_full_batch(
    net: nn.Module,
    loss_fn: LossFn,
    train_data: torch.Tensor,
    train_labels: torch.Tensor,
    n_epochs: int = 50,
    learning_rate: float = 1e-4,
    *,
    momentum: float = 0.0,
    L2_penalty: float = 0.0,
    L1_penalty: float = 0.0,
    penalized: Iterable[torch.Tensor] | None = None,
    test_data: torch.Tensor | None = None,
    test_labels: torch.Tensor | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
) -> tuple[list[float], list[float] | None]:
    """Train a network by full-batch gradient descent (``optim.SGD``).

    Each epoch runs the whole training set through ``net`` (full batch: one epoch is one gradient
    step), computes
    ``loss_fn(net(train_data), train_labels)``, adds the gradient of the penalty
    ``L2_penalty * sum(w ** 2) + L1_penalty * sum(|w|)`` over the ``penalized`` parameters, and
    takes one SGD step.

    The penalty's gradient, ``2 * L2_penalty * w + L1_penalty * sign(w)``, is not built in the
    autograd graph: ``L1_penalty * sign(w)`` is added to ``w.grad`` in place (``sign(0) = 0``, like
    autograd's gradient of ``abs``) and ``2 * L2_penalty * w`` is SGD's weight decay, applied in
    one fused kernel together with the momentum and the update. The step is much cheaper for big
    layers (the encoding model's output layer has 27 M weights: three passes over them per step
    instead of seven). The result equals the step-by-step loop up to float rounding (the fused
    kernel multiplies and adds in one instruction); ``tests/unit/test_train.py`` bounds the difference.

    Parameters
    ----------
    net : nn.Module
        The network; trained in place.
    loss_fn : callable
        ``loss_fn(output, labels)`` returning a scalar tensor, e.g. ``nn.MSELoss()``.
    train_data, train_labels : torch.Tensor
        Inputs ``(n_samples, ...)`` and targets ``(n_samples, ...)``.
    n_epochs : int
        Number of epochs; with the full batch, each epoch is one gradient step.
    learning_rate : float
        SGD learning rate (> 0).
    momentum : float
        SGD momentum (>= 0).
    L2_penalty, L1_penalty : float
        Penalty weights (>= 0).
    penalized : iterable of parameters, optional
        The parameters the penalties apply to (e.g. ``[net.out_layer.weight]``). If None while a
        penalty is non-zero, every parameter with two or more dimensions (all weight matrices and
        convolution kernels, no biases) is penalised.
    test_data, test_labels : torch.Tensor, optional
        A held-out set, given together; its loss is computed after each step, in eval mode and
        without gradients.
    device : str or torch.device, optional
        Where to train; see :func:`pick_device`.
    progress : bool, optional
        Show a progress bar with the latest losses (see the module docstring for the default).

    Returns
    -------
    train_losses : list of float
        The data loss ``loss_fn(net(train_data), train_labels)`` at each epoch, computed
        before that epoch's step; the penalty is NOT included.
    test_losses : list of float or None
        The test loss after each epoch's step, or None without test data.

    Notes
    -----
    The network is moved to ``device`` for training and back to the device its parameters were
    on before the call; its train/eval mode is left as it was.

    Examples
    --------
    >>> set_seed(0)
    >>> x = torch.randn(50, 3)
    >>> y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    >>> net = nn.Linear(3, 1)
    >>> train_losses, test_losses = train_full_batch(
    ...     net, nn.MSELoss(), x, y, n_epochs=100, learning_rate=0.1, device="cpu", progress=False)
    >>> len(train_losses), test_losses, train_losses[-1] < 1e-3 * train_losses[0]
    (100, None, True)
    """
    home = _check_training(net, loss_fn, train_data, train_labels)
    if (test_data is None) != (test_labels is None):
        raise ValueError("test_data and test_labels should be given together (or neither).")
    if test_data is not None:
        _check_tensor_pair(test_data, test_labels, "test")
    n_epochs = check_positive_int(n_epochs, "n_epochs")
    learning_rate = _check_rate(learning_rate, "learning_rate", positive=True)
    momentum = _check_rate(momentum, "momentum", positive=False)
    L2 = _check_rate(L2_penalty, "L2_penalty", positive=False)
    L1 = _check_rate(L1_penalty, "L1_penalty", positive=False)
    params = _penalized_params(net, penalized, active=L2 > 0 or L1 > 0)
    dev = pick_device(device)

    with _moved_to(net, dev, home):
        x, y = train_data.to(dev), train_labels.to(dev)
        has_test = test_data is not None
        if has_test:
            x_test, y_test = test_data.to(dev), test_labels.to(dev)  # type: ignore[union-attr]
        optimizer = _fused_sgd(net, params, learning_rate, momentum, 2 * L2, dev)
        # sign(w) is written into one reusable buffer per weight: allocating a fresh 100 MB
        # tensor every step (the encoding model's output layer) costs more than computing it.
        sign_bufs = [torch.empty_like(p) for p in params] if L1 > 0 else []
        train_hist: list[torch.Tensor] = []
        test_hist: list[torch.Tensor] = []

        steps, bar = _progress_bar(range(n_epochs), progress, n_epochs, unit="epoch")
        refresh = max(1, n_epochs // 50)

        net.train()
        for i in steps:
            optimizer.zero_grad()
            out = net(x)
            loss = _scalar_loss(loss_fn(out, y))
            loss.backward()
            if params:
                with torch.no_grad():
                    for j, p in enumerate(params):
                        if p.grad is None:
                            p.grad = torch.zeros_like(p)
                        if L1 > 0:  # the L2 term is the optimizer's weight decay (same pass)
                            p.grad.add_(torch.sign(p, out=sign_bufs[j]), alpha=L1)
            optimizer.step()
            train_hist.append(loss.detach())

            if has_test:
                net.eval()
                with torch.no_grad():
                    test_hist.append(_scalar_loss(loss_fn(net(x_test), y_test)).detach())
                net.train()

            if bar is not None and (i % refresh == 0 or i == n_epochs - 1):
                shown = {"train": f"{train_hist[-1].item():.4g}"}
                if test_hist:
                    shown["test"] = f"{test_hist[-1].item():.4g}"
                bar.set_postfix(shown, refresh=False)
        if bar is not None:
            bar.close()

        train_losses = torch.stack(train_hist).cpu().tolist()
        test_losses = torch.stack(test_hist).cpu().tolist() if has_test else None
    return train_losses, test_losses


def train_minibatch(
    net: nn.Module,
    loss_fn: LossFn,
    train_data: torch.Tensor,
    train_labels: torch.Tensor,
    n_epochs: int = 25,
    batch_size: int = 100,
    learning_rate: float = 5e-4,
    *,
    momentum: float = 0.99,
    seed: int | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = None,
) -> list[float]:
    """Train a network by mini-batch stochastic gradient descent (``optim.SGD``).

    Each epoch shuffles the training set and steps through it in batches of ``batch_size``
    (the last batch may be smaller). Used for the assignment's tilt classifier
    (``nn.BCELoss``, batch 100, 25 epochs, learning rate 5e-4, momentum 0.99).

    Parameters
    ----------
    net : nn.Module
        The network; trained in place.
    loss_fn : callable
        ``loss_fn(output, labels)`` returning the mean loss of a batch (a scalar tensor).
    train_data, train_labels : torch.Tensor
        Inputs ``(n_samples, ...)`` and targets ``(n_samples, ...)`` (float targets for BCE).
    n_epochs, batch_size : int
        Number of passes through the data and samples per step.
    learning_rate, momentum : float
        SGD settings.
    seed : int, optional
        Seeds a private ``torch.Generator`` for the shuffling; None uses torch's global
        generator (seeded by :func:`set_seed`). The network's initial weights are not affected.
    device : str or torch.device, optional
        Where to train; see :func:`pick_device`.
    progress : bool, optional
        Progress bar over epochs (see the module docstring; the step count is
        ``n_epochs * n_batches``).

    Returns
    -------
    list of float
        Mean training loss of each epoch, averaged over samples (batch losses weighted by
        batch size), measured while training.

    Notes
    -----
    As for :func:`train_full_batch`, the network ends up back on the device it started on.

    Examples
    --------
    >>> set_seed(0)
    >>> x = torch.randn(200, 2)
    >>> y = (x[:, :1] > 0).float()
    >>> net = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    >>> losses = train_minibatch(net, nn.BCELoss(), x, y, n_epochs=5, batch_size=20,
    ...                          learning_rate=0.1, momentum=0.9, seed=0, device="cpu",
    ...                          progress=False)
    >>> len(losses), losses[-1] < losses[0]
    (5, True)
    """
    home = _check_training(net, loss_fn, train_data, train_labels)
    n_epochs = check_positive_int(n_epochs, "n_epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    learning_rate = _check_rate(learning_rate, "learning_rate", positive=True)
    momentum = _check_rate(momentum, "momentum", positive=False)
    seed = check_int(seed, "seed", allow_none=True)
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    dev = pick_device(device)

    n = train_data.shape[0]
    n_batches = math.ceil(n / batch_size)
    with _moved_to(net, dev, home):
        x, y = train_data.to(dev), train_labels.to(dev)
        optimizer = optim.SGD(net.parameters(), lr=learning_rate, momentum=momentum)
        epochs, bar = _progress_bar(range(n_epochs), progress, n_epochs * n_batches, unit="epoch")
        history: list[torch.Tensor] = []
        net.train()
        for _ in epochs:
            order = torch.randperm(n, generator=generator).to(dev)
            total = torch.zeros((), device=dev)
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = _scalar_loss(loss_fn(net(x[idx]), y[idx]))
                loss.backward()
                optimizer.step()
                total = total + loss.detach() * idx.numel()
            history.append(total / n)
            if bar is not None:
                bar.set_postfix({"loss": f"{history[-1].item():.4g}"}, refresh=False)
        if bar is not None:
            bar.close()
        losses = torch.stack(history).cpu().tolist()
    return losses
