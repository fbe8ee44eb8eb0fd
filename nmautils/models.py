"""The small model base class of tutorial 3 ("deep learning by hand").

Three decoders in tutorial 3 - linear regression, a hand-written two-hidden-layer network and a
PyTorch network - all read the agent's position out of place-cell firing rates. They share the
bookkeeping in :class:`Model`: the data, an optional bias row, the loss, the error in
centimetres, a training history and two plots. Subclasses implement :meth:`Model.forward` and
:meth:`Model.fit`.

Conventions (as in the tutorial)
--------------------------------
Data are stored *features x samples*: inputs ``X`` have shape ``(n_in, n_samples)``, targets
``Y`` have shape ``(n_out, n_samples)`` and a linear model is ``Y = W X`` with ``W`` of shape
``(n_out, n_in)``.

Units
-----
Positions are in metres. :meth:`Model.loss` is the mean squared error in m^2; :meth:`Model.error`
is the mean Euclidean distance between decoded and true position, reported in **centimetres**
(metres x 100), like every error in the ``history``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ._validate import (
    as_numpy,
    check_array,
    check_consistent_length,
    check_positive_int,
    check_type,
)
from .progress import progress, progress_enabled  # noqa: F401  (re-exported for notebooks)

__all__ = ["Model", "add_bias_row", "to_numpy", "progress", "progress_enabled", "CM_PER_M"]

#: Centimetres per metre: errors are reported in cm although positions are in metres.
CM_PER_M = 100.0


def to_numpy(a: Any) -> np.ndarray:
    """Return ``a`` (a numpy array, a torch tensor on any device, a list or a number) as a numpy
    array; a TypeError for anything else (a string, None).

    Examples
    --------
    >>> import torch
    >>> to_numpy(torch.tensor([[1.0, 2.0]]))
    array([[1., 2.]], dtype=float32)
    """
    return as_numpy(a, "a")


def add_bias_row(X: Any) -> np.ndarray:
    """Append a row of ones to ``X`` (shape (n, T) -> (n + 1, T)) to absorb a bias into ``W``.

    Examples
    --------
    >>> add_bias_row(np.zeros((2, 3)))
    array([[0., 0., 0.],
           [0., 0., 0.],
           [1., 1., 1.]])
    """
    X = _as_2d("X", X)
    return np.vstack([X, np.ones((1, X.shape[1]))])


def _as_2d(name: str, a: Any) -> np.ndarray:
    """A 2-D float array (features x samples) of numbers."""
    return check_array(a, name, ndim=2, shape="(n_features, n_samples)").astype(float)


def _same_shape(Y_hat: Any, Y: Any, ndim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and targets as float arrays of one shape (``ndim``-D when given)."""
    Y_hat = check_array(Y_hat, "Y_hat", ndim=ndim).astype(float)
    Y = check_array(Y, "Y", ndim=ndim).astype(float)
    if Y_hat.shape != Y.shape:
        raise ValueError(
            f"Y_hat and Y should have the same shape, but got {Y_hat.shape} and {Y.shape}."
        )
    return Y_hat, Y


def _check_ax(ax: Any) -> None:
    from matplotlib.axes import Axes

    check_type(ax, "ax", Axes, "a matplotlib Axes, e.g. from plt.subplots()")


class Model(ABC):
    """Base class of the decoders of tutorial 3 (data, bias row, loss, error, history, plots).

    Parameters
    ----------
    X_train : array, shape (n_features, n_train)
        Training inputs (e.g. firing rates, cells x time).
    Y_train : array, shape (n_out, n_train)
        Training targets (e.g. positions in metres, 2 x time).
    X_test, Y_test : arrays, shapes (n_features, n_test) and (n_out, n_test)
        Test data with the same numbers of rows.
    bias : bool
        If true a row of ones is appended to the inputs, so that the last column of a weight
        matrix acts as a bias; ``n_in`` is then ``n_features + 1``.

    Attributes
    ----------
    n_in, n_out : int
        Number of model inputs (including the bias row) and outputs.
    X_train, X_test : numpy.ndarray
        The inputs as the model sees them (with the bias row if ``bias``).
    Y_train, Y_test : numpy.ndarray
        The targets.
    history : dict of lists
        ``"epoch"``, ``"train_error"`` and ``"test_error"`` (cm), appended by :meth:`log_errors`.

    Notes
    -----
    Subclasses implement ``forward(X) -> Y_hat`` (numpy in, numpy out, shapes
    ``(n_in, T) -> (n_out, T)``) and ``fit(...)``. Use :meth:`prepare` to add the bias row to
    new inputs before calling ``forward`` on them.
    """

    def __init__(
        self,
        X_train: Any,
        Y_train: Any,
        X_test: Any,
        Y_test: Any,
        bias: bool = False,
    ) -> None:
        X_train, Y_train = _as_2d("X_train", X_train), _as_2d("Y_train", Y_train)
        X_test, Y_test = _as_2d("X_test", X_test), _as_2d("Y_test", Y_test)
        for split, X, Y in (("train", X_train, Y_train), ("test", X_test, Y_test)):
            check_consistent_length(X, Y, (f"X_{split}", f"Y_{split}"), axis=1,
                                    unit="samples (columns)")
        check_consistent_length(X_train, X_test, ("X_train", "X_test"), unit="rows (features)")
        check_consistent_length(Y_train, Y_test, ("Y_train", "Y_test"), unit="rows (outputs)")
        check_type(bias, "bias", (bool, np.bool_), "True or False")
        self.bias = bool(bias)
        self.n_features = X_train.shape[0]
        self.X_train = self.prepare(X_train)
        self.X_test = self.prepare(X_test)
        self.Y_train = Y_train
        self.Y_test = Y_test
        self.n_in = self.X_train.shape[0]
        self.n_out = Y_train.shape[0]
        self.history: dict[str, list[float]] = {"epoch": [], "train_error": [], "test_error": []}

    # -- to implement ----------------------------------------------------------------------
    @abstractmethod
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Map inputs ``X`` (n_in x T, bias row included) to predictions (n_out x T)."""

    @abstractmethod
    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """Train the model on ``self.X_train`` and ``self.Y_train``."""

    # -- shared helpers --------------------------------------------------------------------
    def prepare(self, X: Any) -> np.ndarray:
        """Return raw inputs (n_features x T) as the model takes them (bias row added if any)."""
        X = _as_2d("X", X)
        if X.shape[0] != getattr(self, "n_features", X.shape[0]):
            raise ValueError(
                f"X should have {self.n_features} rows (features), but got {X.shape[0]}."
            )
        return add_bias_row(X) if self.bias else X

    @staticmethod
    def loss(Y_hat: Any, Y: Any) -> float:
        """Mean squared error between predictions and targets (in m^2 for positions in m)."""
        Y_hat, Y = _same_shape(Y_hat, Y)
        return float(np.mean((Y_hat - Y) ** 2))

    @staticmethod
    def error(Y_hat: Any, Y: Any) -> float:
        """Mean Euclidean distance between decoded and true positions, in **cm**.

        Both arrays are ``(2, T)`` positions in metres (any ``(n_out, T)`` works: the distance is
        taken over the rows); the result is multiplied by 100 to give centimetres.
        """
        Y_hat, Y = _same_shape(Y_hat, Y, ndim=2)
        return float(np.mean(np.linalg.norm(Y_hat - Y, axis=0)) * CM_PER_M)

    def train_error(self) -> float:
        """Error (cm) of the model on the training data."""
        return self.error(self.forward(self.X_train), self.Y_train)

    def test_error(self) -> float:
        """Error (cm) of the model on the test data."""
        return self.error(self.forward(self.X_test), self.Y_test)

    def log_errors(self, epoch: int) -> float:
        """Append the current training and test errors (cm) to ``history``; return the test error."""
        test = self.test_error()
        self.history["epoch"].append(int(epoch))
        self.history["train_error"].append(self.train_error())
        self.history["test_error"].append(test)
        return test

    # -- plots (explicit axes, no global state) --------------------------------------------
    def plot_testing_performance(
        self, ax: Any, n_samples: int = 300, title: str | None = None
    ) -> Any:
        """Draw the true and decoded test trajectory (first ``n_samples`` steps) on ``ax``.

        Parameters
        ----------
        ax : matplotlib.axes.Axes
            Where to draw.
        n_samples : int
            Number of test time steps to show.
        title : str, optional
            Axes title; by default the model's class name and its test error.

        Returns
        -------
        matplotlib.axes.Axes
        """
        _check_ax(ax)
        n_samples = check_positive_int(n_samples, "n_samples")
        if self.n_out != 2:
            raise ValueError(
                f"plot_testing_performance needs 2-D positions, the model has {self.n_out} outputs."
            )
        Y_hat = to_numpy(self.forward(self.X_test))
        n = int(min(n_samples, self.Y_test.shape[1]))
        ax.plot(self.Y_test[0, :n], self.Y_test[1, :n], color="k", lw=1.5, label="true")
        ax.plot(Y_hat[0, :n], Y_hat[1, :n], color="C1", lw=1.0, alpha=0.8, label="decoded")
        ax.set_xlabel("x position (m)")
        ax.set_ylabel("y position (m)")
        ax.set_aspect("equal")
        if title is None:
            title = f"{type(self).__name__}: test error {self.error(Y_hat, self.Y_test):.1f} cm"
        ax.set_title(title)
        ax.legend(loc="upper right", fontsize="small")
        return ax

    def plot_training_error(
        self, ax: Any, label: str | None = None, show_train: bool = True
    ) -> Any:
        """Plot the logged test (and training) error in cm against the epoch on ``ax``."""
        _check_ax(ax)
        if not self.history["epoch"]:
            raise ValueError("history is empty: call log_errors(epoch) while training first.")
        name = label or type(self).__name__
        (line,) = ax.plot(self.history["epoch"], self.history["test_error"], label=f"{name} (test)")
        if show_train:
            ax.plot(
                self.history["epoch"],
                self.history["train_error"],
                ls="--",
                color=line.get_color(),
                label=f"{name} (train)",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean decoding error (cm)")
        ax.legend(fontsize="small")
        return ax
