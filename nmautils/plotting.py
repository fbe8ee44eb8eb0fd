"""Figures of the course and its matplotlib style.

Every function takes its data as arguments (numpy arrays or torch tensors, no globals), labels
its axes with units, and returns the :class:`~matplotlib.figure.Figure` it drew on. Functions
with a single panel accept ``ax=`` to draw into an existing Axes; functions with several panels
accept ``fig=`` to draw into an existing (empty) Figure. Call :func:`use_style` once at the top of
a notebook for the course's look.

The file is organised in sections (style, helpers, data, decoders, encoding model, RSA); add new
figures to the matching section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ._validate import (
    as_numpy,
    check_array,
    check_n_rows,
    check_positive_int,
    check_type,
    column_or_1d,
    shape_error,
)

__all__ = [
    "use_style",
    "plot_data_matrix",
    "plot_tuning_curves",
    "plot_loss",
    "plot_weights",
    "plot_hidden_tuning",
    "plot_decoded_vs_true",
    "plot_decoding_error",
    "plot_decoded_classes",
    "plot_gratings",
    "plot_filters",
    "plot_tuning_predictions",
    "plot_rdms",
]

ANGLE_LABEL = "stimulus orientation (degrees)"

# ============================================================================================
# Style
# ============================================================================================


def use_style() -> None:
    """Apply the course's matplotlib style (``nmautils.mplstyle``, shipped with the package).

    Larger fonts, no top/right spines, constrained layout and a colour-blind-safe colour cycle
    (Okabe & Ito). Nothing is downloaded.
    """
    style = resources.files("nmautils").joinpath("nmautils.mplstyle")
    with resources.as_file(style) as path:
        plt.style.use(str(path))


# ============================================================================================
# Helpers
# ============================================================================================


def _vec(x: Any, name: str, n: int | None = None) -> np.ndarray:
    """A 1-D array from shape (n,) or (n, 1), optionally checking its length."""
    return column_or_1d(x, name, n=n)


def _mat(x: Any, name: str, n_rows: int | None = None) -> np.ndarray:
    """A 2-D array, optionally with one row per stimulus."""
    a = check_array(x, name, ndim=2)
    if n_rows is not None:
        check_n_rows(a, name, n_rows, of="stimulus")
    return a


def _images(x: Any, name: str, shape: str) -> np.ndarray:
    """A stack of 2-D images (n, height, width), also from one channel (n, 1, height, width)."""
    a = check_array(x, name, ndim=(3, 4), shape=shape)
    if a.ndim == 4:
        if a.shape[1] != 1:
            raise shape_error(name, shape, a)
        a = a[:, 0]
    return a


def _axes(ax: Axes | None, figsize: tuple[float, float] | None = None) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    check_type(ax, "ax", Axes, "a matplotlib Axes", allow_none=True)
    return ax.get_figure(), ax


def _grid(n: int, ncols: int, fig: Figure | None, panel: float = 1.6) -> tuple[Figure, np.ndarray]:
    ncols = min(check_positive_int(ncols, "ncols"), n)
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = plt.figure(figsize=(panel * ncols + 0.4, panel * nrows + 0.6), layout="constrained")
    else:
        check_type(fig, "fig", Figure, "a matplotlib Figure", allow_none=True)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for extra in axes[n:]:
        extra.set_visible(False)
    return fig, axes[:n]


def _indices(neuron_indices: Any, n_neurons: int) -> list[int]:
    a = as_numpy(neuron_indices, "neuron_indices")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"neuron_indices should be a list of neuron indices, but got dtype {a.dtype}.")
    idx = [int(i) for i in np.atleast_1d(a).ravel()]
    if not idx:
        raise ValueError("neuron_indices should name at least one neuron, but got none.")
    bad = [i for i in idx if not -n_neurons <= i < n_neurons]
    if bad:
        raise ValueError(
            f"neuron_indices should be between {-n_neurons} and {n_neurons - 1} "
            f"({n_neurons} neurons), but got {bad} (out of range)."
        )
    return idx


# ============================================================================================
# Data
# ============================================================================================


def plot_data_matrix(
    resp: Any, stimuli: Any, n_neurons: int = 100, ax: Axes | None = None
) -> Figure:
    """Heat map of the first ``n_neurons`` neurons' responses (neurons x stimuli).

    Parameters
    ----------
    resp : array (n_stimuli, n_neurons_total)
        z-scored responses.
    stimuli : array (n_stimuli,) or (n_stimuli, 1)
        Stimulus orientations in degrees, increasing.
    n_neurons : int
        How many neurons (columns of ``resp``) to show.
    """
    s = _vec(stimuli, "stimuli")
    r = _mat(resp, "resp", len(s))
    n_neurons = check_positive_int(n_neurons, "n_neurons")
    shown = r[:, :n_neurons].T
    lim = float(np.percentile(np.abs(shown), 99)) or 1.0
    fig, ax = _axes(ax)
    im = ax.imshow(
        shown,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-lim,
        vmax=lim,
        extent=(s.min(), s.max(), shown.shape[0] - 0.5, -0.5),
    )
    ax.set(xlabel=ANGLE_LABEL, ylabel="neuron")
    fig.colorbar(im, ax=ax, label="z-scored response")
    return fig


def plot_tuning_curves(
    stimuli: Any, resp: Any, neuron_indices: Sequence[int], ax: Axes | None = None
) -> Figure:
    """Tuning curves (response vs orientation) of the chosen neurons, one line each."""
    s = _vec(stimuli, "stimuli")
    r = _mat(resp, "resp", len(s))
    fig, ax = _axes(ax)
    for i in _indices(neuron_indices, r.shape[1]):
        ax.plot(s, r[:, i], label=f"neuron {i}")
    ax.set(xlabel=ANGLE_LABEL, ylabel="response (z-scored)")
    ax.legend()
    return fig


# ============================================================================================
# Decoders (tutorials 1 and 2, assignment part b)
# ============================================================================================


def plot_loss(
    train_losses: Sequence[float],
    test_losses: Sequence[float] | None = None,
    ylabel: str = "loss",
    xlabel: str = "iteration",
    logy: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Training (and optional test) loss against iteration.

    Examples
    --------
    >>> fig = plot_loss([3.0, 2.0, 1.5], [3.2, 2.4, 2.1], ylabel="MSE (degrees$^2$)")
    >>> ax = fig.axes[0]
    >>> [line.get_label() for line in ax.get_lines()], ax.get_xlabel()
    (['train', 'test'], 'iteration')
    >>> plt.close(fig)
    """
    train = _vec(train_losses, "train_losses")
    fig, ax = _axes(ax)
    ax.plot(np.arange(len(train)), train, label="train")
    if test_losses is not None:
        test = _vec(test_losses, "test_losses", len(train))
        ax.plot(np.arange(len(test)), test, label="test")
        ax.legend()
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    return fig


def plot_weights(
    W: Any,
    title: str = "weights",
    xlabel: str = "input unit",
    ylabel: str = "output unit",
    ax: Axes | None = None,
) -> Figure:
    """A weight matrix (outputs x inputs) as an image with a symmetric colour scale."""
    w = _mat(W, "W")
    lim = float(np.abs(w).max()) or 1.0
    fig, ax = _axes(ax)
    im = ax.imshow(w, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.colorbar(im, ax=ax, label="weight")
    return fig


def plot_hidden_tuning(stimuli: Any, h: Any, ax: Axes | None = None) -> Figure:
    """Tuning curves of all hidden units: activity (n_stimuli, n_hidden) vs orientation."""
    s = _vec(stimuli, "stimuli")
    act = _mat(h, "h", len(s))
    fig, ax = _axes(ax)
    ax.plot(s, act, linewidth=1)
    ax.set(xlabel=ANGLE_LABEL, ylabel="hidden unit activity (a.u.)")
    return fig


def plot_decoded_vs_true(true_deg: Any, decoded_deg: Any, ax: Axes | None = None) -> Figure:
    """Decoded against true orientation, with the identity line (perfect decoding)."""
    t = _vec(true_deg, "true_deg")
    d = _vec(decoded_deg, "decoded_deg", len(t))
    fig, ax = _axes(ax)
    lo, hi = float(min(t.min(), d.min(), 0)), float(max(t.max(), d.max(), 360))
    ax.plot([lo, hi], [lo, hi], color="0.6", linewidth=1, label="perfect decoding")
    ax.plot(t, d, ".", label="stimuli")
    ax.set(xlabel="true orientation (degrees)", ylabel="decoded orientation (degrees)")
    ax.set_aspect("equal")
    ax.legend()
    return fig


def plot_decoding_error(true_deg: Any, error_deg: Any, ax: Axes | None = None) -> Figure:
    """Decoding error (decoded - true, degrees) against true orientation."""
    t = _vec(true_deg, "true_deg")
    e = _vec(error_deg, "error_deg", len(t))
    fig, ax = _axes(ax)
    ax.axhline(0, color="0.6", linewidth=1)
    ax.plot(t, e, ".")
    ax.set(xlabel="true orientation (degrees)", ylabel="decoding error (degrees)")
    return fig


def plot_decoded_classes(
    true_deg: Any, decoded_class: Any, n_classes: int, ax: Axes | None = None
) -> Figure:
    """Decoded class against true orientation, with the correct class drawn as a staircase."""
    t = _vec(true_deg, "true_deg")
    c = _vec(decoded_class, "decoded_class", len(t))
    n_classes = check_positive_int(n_classes, "n_classes")
    fig, ax = _axes(ax)
    edges = np.linspace(0, 360, n_classes + 1)
    ax.stairs(np.arange(n_classes), edges, baseline=None, color="0.6", label="correct class")
    ax.plot(t, c, ".", label="decoded class")
    ax.set(xlabel="true orientation (degrees)", ylabel="decoded class (bin index)")
    ax.set_ylim(-0.5, n_classes - 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


# ============================================================================================
# Encoding model and CNN (tutorial 2, assignment part c)
# ============================================================================================


def plot_gratings(images: Any, angles: Any, ncols: int = 6, fig: Figure | None = None) -> Figure:
    """Grating images (n, height, width) in a grid, each titled with its angle in degrees."""
    imgs = _images(images, "images", "(n, height, width) or (n, 1, height, width)")
    a = _vec(angles, "angles", imgs.shape[0])
    fig, axes = _grid(len(imgs), ncols, fig)
    lo, hi = float(imgs.min()), float(imgs.max())
    for ax, img, angle in zip(axes, imgs, a):
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(f"{angle:g}\N{DEGREE SIGN}", fontsize="small")
        ax.set(xticks=[], yticks=[])
    axes[0].set(xlabel="x (pixels)", ylabel="y (pixels)")
    return fig


def plot_filters(filters: Any, fig: Figure | None = None) -> Figure:
    """Convolution filters (c_out, 1, K, K) or (c_out, K, K), one panel each.

    Examples
    --------
    >>> from nmautils.stimuli import filters
    >>> fig = plot_filters(filters(6, 7))
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['filter 0', 'filter 1', 'filter 2']
    >>> plt.close(fig)
    """
    f = _images(filters, "filters", "(c_out, 1, K, K) (one input channel) or (c_out, K, K)")
    fig, axes = _grid(len(f), len(f), fig)
    lim = float(np.abs(f).max()) or 1.0
    for i, (ax, k) in enumerate(zip(axes, f)):
        im = ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"filter {i}", fontsize="small")
        ax.set(xticks=[], yticks=[])
    axes[0].set(xlabel="x (pixels)", ylabel="y (pixels)")
    fig.colorbar(im, ax=list(axes), label="weight", shrink=0.8)
    return fig


def plot_tuning_predictions(
    stimuli: Any,
    resp_train: Any,
    resp_test: Any,
    predictions: Any,
    neuron_indices: Sequence[int],
    ncols: int = 5,
    fig: Figure | None = None,
) -> Figure:
    """Train, test and predicted tuning curves of chosen neurons, one small panel per neuron.

    All three response arrays have shape (n_stimuli, n_neurons). The legend sits below the
    panels, so a title added afterwards (``fig.suptitle``) never covers it; a given ``fig``
    without a layout engine gets constrained layout, which makes room for both.
    """
    s = _vec(stimuli, "stimuli")
    train = _mat(resp_train, "resp_train", len(s))
    test = _mat(resp_test, "resp_test", len(s))
    pred = _mat(predictions, "predictions", len(s))
    if not train.shape == test.shape == pred.shape:
        raise ValueError(
            "resp_train, resp_test and predictions should have the same shape, but got "
            f"{train.shape}, {test.shape} and {pred.shape}."
        )
    idx = _indices(neuron_indices, train.shape[1])
    fig, axes = _grid(len(idx), ncols, fig, panel=2.2)
    for ax, i in zip(axes, idx):
        ax.plot(s, train[:, i], label="train", linewidth=1)
        ax.plot(s, test[:, i], label="test", linewidth=1)
        ax.plot(s, pred[:, i], label="predicted", linewidth=1.5, color="k")
        ax.set_title(f"neuron {i}", fontsize="small")
        ax.set(xlabel="orientation (degrees)", ylabel="response (z-scored)")
    for ax in axes:
        ax.label_outer()
    handles, labels = axes[0].get_legend_handles_labels()
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")  # "outside" places the legend only with it
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize="small")
    return fig


# ============================================================================================
# Representational similarity (assignment part d)
# ============================================================================================


def plot_rdms(rdms: Mapping[str, Any], stimuli: Any, fig: Figure | None = None) -> Figure:
    """RDMs side by side, e.g. ``{'V1': rdm_v1, 'pool': rdm_pool, 'fc': rdm_fc}``."""
    check_type(rdms, "rdms", Mapping, "a non-empty dict {name: RDM}")
    if not rdms:
        raise ValueError("rdms should be a non-empty dict {name: RDM}, but got an empty one.")
    s = _vec(stimuli, "stimuli")
    n = len(s)
    mats = {}
    for name, m in rdms.items():
        a = check_array(m, f"rdms[{name!r}]")
        if a.shape != (n, n):
            raise shape_error(f"rdms[{name!r}]", f"({n}, {n}) (one row per stimulus)", a)
        mats[name] = a
    fig, axes = _grid(len(mats), len(mats), fig, panel=3.6)
    extent = (s.min(), s.max(), s.max(), s.min())
    for ax, (name, a) in zip(axes, mats.items()):
        im = ax.imshow(a, cmap="viridis", extent=extent, vmin=0)
        ax.set(title=name, xlabel="orientation (degrees)")
        fig.colorbar(im, ax=ax, label="dissimilarity (1 - r)", shrink=0.7)
    axes[0].set_ylabel("orientation (degrees)")
    return fig


# ============================================================================================
# Tuning curves of neurons and model units (assignment part e)
# ============================================================================================


def plot_binned_tuning_curves(
    curves: Mapping[str, tuple[Any, Any]],
    ncols: int = 3,
    xlabel: str = "tilt (degrees)",
    fig: Figure | None = None,
) -> Figure:
    """Binned tuning curves, one small panel per unit, each with its own response scale.

    Parameters
    ----------
    curves : dict
        ``{title: (bin_centres, mean_response)}``; both arrays have shape ``(n_bins,)``
        (bin centres in degrees). NaN entries (empty bins) leave gaps.
    ncols : int
        Panels per row.
    xlabel : str
        Label of the angle axis.
    fig : Figure, optional
        An empty figure to draw into.

    Returns
    -------
    Figure
    """
    check_type(curves, "curves", Mapping, "a non-empty dict {title: (bin_centres, curve)}")
    if not curves:
        raise ValueError(
            "curves should be a non-empty dict {title: (bin_centres, curve)}, but got an empty one."
        )
    ncols = check_positive_int(ncols, "ncols")
    data = {}
    for title, pair in curves.items():
        check_type(pair, f"curves[{title!r}]", (tuple, list), "a pair (bin_centres, curve)")
        if len(pair) != 2:
            raise ValueError(
                f"curves[{title!r}] should be a pair (bin_centres, curve), but got {len(pair)} "
                "items."
            )
        centres = _vec(pair[0], f"curves[{title!r}][0]")
        data[title] = (centres, _vec(pair[1], f"curves[{title!r}][1]", len(centres)))
    fig, axes = _grid(len(data), ncols, fig, panel=2.4)
    for ax, (title, (centres, values)) in zip(axes, data.items()):
        ax.plot(centres, values, "o-", markersize=3)
        ax.set_title(title, fontsize="small")
        ax.set(xlabel=xlabel, ylabel="mean response")
    for ax in axes:
        ax.label_outer()
    return fig


__all__.append("plot_binned_tuning_curves")

#: The same function under a name that does not say what such a plot is called (assignment 3
#: asks that question after showing the plot).
plot_binned_responses = plot_binned_tuning_curves
__all__.append("plot_binned_responses")
