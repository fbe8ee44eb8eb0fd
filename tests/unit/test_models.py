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
    empty, ax = plt.subplots()
    with pytest.raises(ValueError, match="history is empty"):
        model.plot_training_error(ax=ax)
    plt.close(empty)
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


def _convfc_class():
    """The model answer's ConvFC (tutorial 2), executed from the source notebook."""
    import torch
    from torch import nn

    from nmautils.course import build, notebooks

    nb = notebooks.read(build.source_path("tutorial2_encoding"))
    [cell] = [c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == "ex_convfc"]
    namespace = {"torch": torch, "nn": nn}
    exec(notebooks.strip_solution_markers(cell.source), namespace)
    return namespace["ConvFC"]


def test_convfc_with_given_filters_is_conv_without_bias_then_linear() -> None:
    """Curriculum C: given filters, the conv weights are the filters and the conv bias is 0;
    out_layer weights ~ N(0, 0.01^2); the model is linear: out_layer(flatten(conv(s)))."""
    import torch
    import torch.nn.functional as F

    from nmautils.stimuli import filters

    ConvFC = _convfc_class()
    start = filters(out_channels=6, K=7, subtract_mean=True)
    torch.manual_seed(0)
    net = ConvFC(500, filters=start)
    assert torch.equal(net.conv.weight.detach(), start)
    assert torch.count_nonzero(net.conv.bias) == 0
    w = net.out_layer.weight.detach()
    assert abs(w.std().item() - 0.01) < 5e-4 and abs(w.mean().item()) < 5e-4
    images = torch.randn(4, 1, 12, 16)
    # computed independently: a bias-free convolution with the given filters, then the read-out
    conv = F.conv2d(images, start, bias=None, padding=3)
    expected = conv.reshape(4, -1) @ w.T + net.out_layer.bias.detach()
    with torch.no_grad():
        assert torch.allclose(net(images), expected, atol=1e-5)
        # linear in the image: no non-linearity anywhere
        a, b = torch.randn(2, 1, 12, 16), torch.randn(2, 1, 12, 16)
        zero = net(torch.zeros(2, 1, 12, 16))
        assert torch.allclose(net(a + 2 * b) - zero, (net(a) - zero) + 2 * (net(b) - zero), atol=1e-4)
