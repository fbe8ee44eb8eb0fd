"""Tests of nmautils.models (the tutorial-3 model base class)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nmautils.models import CM_PER_M, Model, add_bias_row, progress, to_numpy  # noqa: E402


class Linear(Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.W = np.zeros((self.n_out, self.n_in))

    def forward(self, X):
        return self.W @ X

    def fit(self):
        self.W = np.linalg.lstsq(self.X_train.T, self.Y_train.T, rcond=None)[0].T
        return self


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X_train, X_test = rng.random((3, 20)), rng.random((3, 8))
    W = rng.normal(size=(2, 3))
    return X_train, W @ X_train + 0.5, X_test, W @ X_test + 0.5


def test_abstract_methods_required() -> None:
    with pytest.raises(TypeError):
        Model(*_data())  # type: ignore[abstract]


def test_bias_row_and_sizes() -> None:
    plain, biased = Linear(*_data()), Linear(*_data(), bias=True)
    assert (plain.n_in, plain.n_out) == (3, 2)
    assert (biased.n_in, biased.n_out) == (4, 2)
    np.testing.assert_array_equal(biased.X_train[-1], np.ones(20))
    np.testing.assert_array_equal(biased.X_test[:-1], plain.X_test)
    assert biased.prepare(np.zeros((3, 5))).shape == (4, 5)
    np.testing.assert_array_equal(add_bias_row(np.zeros((1, 2))), [[0.0, 0.0], [1.0, 1.0]])


def test_bias_makes_the_fit_exact() -> None:
    model = Linear(*_data(), bias=True).fit()
    assert model.test_error() < 1e-8
    assert Linear(*_data(), bias=False).fit().test_error() > 1e-3


def test_loss_and_error_units() -> None:
    Y = np.array([[0.50, 0.0], [0.20, 0.0]])
    Y_hat = np.array([[0.53, 0.0], [0.24, 0.0]])
    # one sample 5 cm off, one exact: mean distance 2.5 cm
    assert Model.error(Y_hat, Y) == pytest.approx(2.5)
    assert Model.loss(Y_hat, Y) == pytest.approx((0.03**2 + 0.04**2) / 4)
    assert CM_PER_M == 100.0
    torch = pytest.importorskip("torch")
    assert Model.error(torch.tensor(Y_hat), Y) == pytest.approx(2.5)
    assert isinstance(to_numpy(torch.zeros(2)), np.ndarray)


def test_history_and_plots() -> None:
    model = Linear(*_data(), bias=True)
    with pytest.raises(ValueError, match="history is empty"):
        model.plot_training_error(ax=plt.subplots()[1])
    for epoch in range(3):
        assert model.log_errors(epoch) == pytest.approx(model.test_error())
    model.fit()
    model.log_errors(3)
    assert model.history["epoch"] == [0, 1, 2, 3]
    assert model.history["test_error"][-1] < model.history["test_error"][0]
    fig, axes = plt.subplots(1, 2)
    assert model.plot_training_error(ax=axes[0]) is axes[0]
    assert model.plot_testing_performance(ax=axes[1], n_samples=5) is axes[1]
    assert axes[0].get_ylabel() == "mean decoding error (cm)"
    assert axes[1].get_xlabel() == "x position (m)"
    assert len(axes[1].lines) == 2 and len(axes[1].lines[0].get_xdata()) == 5
    with pytest.raises(TypeError):
        model.plot_testing_performance(ax=None)
    plt.close(fig)


@pytest.mark.parametrize(
    "args, error",
    [
        ((np.zeros(3), np.zeros((2, 3)), np.zeros((1, 2)), np.zeros((2, 2))), ValueError),
        ((np.zeros((1, 3)), np.zeros((2, 4)), np.zeros((1, 2)), np.zeros((2, 2))), ValueError),
        ((np.zeros((1, 3)), np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 2))), ValueError),
        ((None, np.zeros((2, 3)), np.zeros((1, 2)), np.zeros((2, 2))), TypeError),
        ((np.array([["a"]]), np.zeros((2, 1)), np.zeros((1, 2)), np.zeros((2, 2))), TypeError),
    ],
)
def test_bad_data(args, error) -> None:
    with pytest.raises(error):
        Linear(*args)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        Linear(*_data(), bias="yes")
    with pytest.raises(ValueError):
        Model.error(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        Linear(*_data()).prepare(np.zeros((4, 2)))


def test_progress_respects_env(monkeypatch) -> None:
    monkeypatch.setenv("NMAUTILS_PROGRESS", "off")
    bar = progress(range(3), desc="x")
    assert bar.disable and list(bar) == [0, 1, 2]
    bar.set_postfix(a=1)
