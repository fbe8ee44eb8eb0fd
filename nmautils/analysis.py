"""Analysis helpers: sampling stimuli, angle classes, hidden-layer activity and representational
dissimilarity matrices (RDMs).

Helpers that would answer an exercise are deliberately absent: students find preferred
orientations (tutorial 2) and correlate RDMs (assignment 3) themselves.

Shapes follow the course data: responses are ``(n_stimuli, n_neurons)`` and stimuli are
``(n_stimuli,)`` or ``(n_stimuli, 1)`` angles in degrees.

Examples
--------
>>> import torch
>>> stimulus_class(torch.tensor([0.0, 17.9, 18.0, 359.0, 360.0]), 20).tolist()
[0, 0, 1, 19, 19]
>>> resp = torch.randn(5, 30)
>>> D = RDM(resp)
>>> tuple(D.shape), float(D[0, 0])
((5, 5), 0.0)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ._validate import (
    check_array,
    check_n_rows,
    check_ndim,
    check_positive_int,
    check_random_state,
    check_type,
    column_or_1d,
    shape_error,
)

__all__ = [
    "get_data",
    "stimulus_class",
    "get_hidden_activity",
    "RDM",
    "rdm",
]

ArrayLike = Any  # numpy array or torch tensor


def get_data(
    n_stim: int,
    train_data: torch.Tensor,
    train_labels: torch.Tensor,
    rng: np.random.Generator | int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n_stim`` random stimuli (with replacement) and their responses.

    Parameters
    ----------
    n_stim : int
        Number of stimuli to draw.
    train_data : torch.Tensor or np.ndarray
        Responses, shape ``(n_stimuli, n_neurons)``.
    train_labels : torch.Tensor or np.ndarray
        Labels (e.g. angles in degrees), shape ``(n_stimuli, ...)`` with the same first size.
    rng : np.random.Generator, int or None
        Source of randomness: None uses numpy's global generator (seed it with
        ``np.random.seed`` or :func:`nmautils.train.set_seed`); an int seeds a new
        ``np.random.default_rng``.

    Returns
    -------
    r : same type as ``train_data``
        Responses of the drawn stimuli, shape ``(n_stim, n_neurons)``.
    ori : same type as ``train_labels``
        Their labels, shape ``(n_stim, ...)``.
    """
    n_stim = check_positive_int(n_stim, "n_stim")
    for name, x in (("train_data", train_data), ("train_labels", train_labels)):
        check_type(x, name, (torch.Tensor, np.ndarray), "a torch.Tensor or numpy array")
    check_ndim(train_data, "train_data", 2, "(n_stimuli, n_neurons)")
    n_rows = train_data.shape[0]
    check_n_rows(train_labels, "train_labels", n_rows, of="row of train_data")
    if n_rows == 0:
        raise ValueError("train_data should have at least one row to draw from, but got 0.")
    source = check_random_state(rng)
    if isinstance(source, np.random.RandomState):  # numpy's global generator (rng=None)
        idx = source.choice(n_rows, n_stim)
    else:
        idx = source.integers(0, n_rows, size=n_stim)
    idx_data = torch.as_tensor(idx) if isinstance(train_data, torch.Tensor) else idx
    idx_labels = torch.as_tensor(idx) if isinstance(train_labels, torch.Tensor) else idx
    return train_data[idx_data], train_labels[idx_labels]


def stimulus_class(ori: ArrayLike, n_classes: int) -> torch.Tensor:
    """Bin angles into ``n_classes`` equal classes over 0..360 degrees.

    Class ``k`` holds angles in ``[k * w, (k + 1) * w)`` with ``w = 360 / n_classes``; an angle of
    exactly 360 goes to the last class. The bin edges are ``np.linspace(0, 360, n_classes + 1)``.

    Parameters
    ----------
    ori : torch.Tensor or np.ndarray
        Angles in degrees within [0, 360], shape ``(n,)`` or ``(n, 1)``.
    n_classes : int
        Number of classes.

    Returns
    -------
    torch.Tensor
        int64 class indices in ``0 .. n_classes - 1``, shape ``(n,)``.
    """
    n_classes = check_positive_int(n_classes, "n_classes")
    angles = column_or_1d(ori, "ori").astype(np.float64)
    if angles.size and not (np.all(angles >= 0) and np.all(angles <= 360)):
        raise ValueError(
            "ori should hold angles in degrees between 0 and 360, but got values from "
            f"{angles.min():.6g} to {angles.max():.6g}."
        )
    edges = np.linspace(0, 360, n_classes + 1)
    classes = np.clip(np.digitize(angles, edges) - 1, 0, n_classes - 1)
    return torch.from_numpy(classes.astype(np.int64))


# --------------------------------------------------------------------------------------------
# Hidden-layer activity
# --------------------------------------------------------------------------------------------


def get_hidden_activity(
    net: nn.Module,
    stimuli: torch.Tensor,
    layer_labels: str | Sequence[str],
) -> dict[str, torch.Tensor]:
    """Run stimuli through a network and record the outputs of named layers.

    Forward hooks are registered on the submodules called ``layer_labels`` (attribute names such
    as ``'pool'`` or ``'fc'``; dotted paths like ``'block.conv'`` work too), the network is run
    once in eval mode under ``torch.no_grad()``, and the hooks are removed again (also when the
    forward pass fails). The network's train/eval mode is restored afterwards.

    Parameters
    ----------
    net : nn.Module
        The network.
    stimuli : torch.Tensor
        Input batch, e.g. images of shape ``(n_stimuli, 1, height, width)``. It is moved to the
        device of the network's parameters.
    layer_labels : str or sequence of str
        Names of the submodules to record.

    Returns
    -------
    dict[str, torch.Tensor]
        For each label, the layer's output flattened to ``(n_stimuli, n_units)``, detached and
        on the CPU. If a layer runs more than once per forward pass, its last output is kept.
    """
    check_type(net, "net", nn.Module, "a torch.nn.Module")
    check_type(stimuli, "stimuli", torch.Tensor, "a torch.Tensor")
    expected = "a layer name or a non-empty list of layer names"
    if isinstance(layer_labels, str):
        labels = [layer_labels]
    else:
        labels = list(check_type(layer_labels, "layer_labels", Iterable, expected))
        for i, label in enumerate(labels):
            check_type(label, f"layer_labels[{i}]", str, "a layer name (str)")
        if not labels:
            raise ValueError(f"layer_labels should be {expected}, but got an empty list.")
    modules = dict(net.named_modules())
    for label in labels:
        if label == "" or label not in modules:
            children = [name for name, _ in net.named_children()]
            raise ValueError(
                f"layer_labels should name layers of net, but got {label!r}: net has no layer "
                f"called {label!r}; its layers (named children) are {children}."
            )

    outputs: dict[str, torch.Tensor] = {}

    def make_hook(label: str):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                raise TypeError(
                    f"layer {label!r} returned a {type(output).__name__}, not a tensor; "
                    "get_hidden_activity can only record tensor outputs."
                )
            outputs[label] = output.detach().reshape(output.shape[0], -1).cpu()

        return hook

    param = next(net.parameters(), None)
    x = stimuli.to(param.device) if param is not None else stimuli
    was_training = net.training
    handles = [modules[label].register_forward_hook(make_hook(label)) for label in labels]
    try:
        net.eval()
        with torch.no_grad():
            net(x)
    finally:
        for handle in handles:
            handle.remove()
        net.train(was_training)
    missing = [label for label in labels if label not in outputs]
    if missing:
        raise RuntimeError(f"layers {missing} were not used in the network's forward pass.")
    return {label: outputs[label] for label in labels}


# --------------------------------------------------------------------------------------------
# Representational similarity analysis
# --------------------------------------------------------------------------------------------


def RDM(resp: ArrayLike) -> torch.Tensor:
    """Representational dissimilarity matrix of a population's responses.

    Each stimulus's population response (a row of ``resp``) is z-scored across neurons, and the
    dissimilarity of stimuli i and j is ``1 - corr(z_i, z_j)`` (Pearson correlation), the same
    as ``1 - np.corrcoef(resp)``. The result is exactly symmetric with a zero diagonal.

    A stimulus whose response is the same in every neuron (e.g. all ReLU units silent) has no
    defined correlation; it gets dissimilarity 1 to every other stimulus, and a warning is
    issued.

    Parameters
    ----------
    resp : torch.Tensor or np.ndarray
        Responses, shape ``(n_stimuli, n_neurons)`` with ``n_neurons >= 2``.

    Returns
    -------
    torch.Tensor
        Dissimilarities in [0, 2], shape ``(n_stimuli, n_stimuli)``; float32, or float64 when
        ``resp`` is float64.
    """
    expected = "(n_stimuli, n_neurons) with at least 2 neurons"
    r = check_array(resp, "resp", ndim=2, shape=expected)
    if r.shape[1] < 2:
        raise shape_error("resp", expected, r)
    out_dtype = torch.float64 if r.dtype == np.float64 else torch.float32
    r = r.astype(np.float64)
    centred = r - r.mean(axis=1, keepdims=True)
    std = np.sqrt((centred**2).mean(axis=1, keepdims=True))
    flat = std[:, 0] <= 1e-12 * (np.abs(r).max(axis=1) + 1e-300)
    if np.any(flat):
        warnings.warn(
            f"{int(flat.sum())} stimuli have the same response in every unit; their "
            "dissimilarity to all other stimuli is set to 1.",
            RuntimeWarning,
            stacklevel=2,
        )
    z = np.where(flat[:, None], 0.0, centred / np.where(flat[:, None], 1.0, std))
    dissim = 1.0 - (z @ z.T) / r.shape[1]
    dissim = (dissim + dissim.T) / 2
    np.fill_diagonal(dissim, 0.0)
    return torch.from_numpy(dissim).to(out_dtype)


rdm = RDM

