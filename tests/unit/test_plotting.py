"""Tests of nmautils.plotting: every figure draws with labelled axes and rejects bad shapes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from nmautils import plotting  # noqa: E402
from nmautils.analysis import RDM  # noqa: E402
from nmautils.stimuli import filters, grating  # noqa: E402

N_STIM, N_NEURONS = 36, 12
STIMULI = torch.arange(0, 360, 10, dtype=torch.float32).reshape(-1, 1)
RESP = torch.randn(N_STIM, N_NEURONS, generator=torch.Generator().manual_seed(0))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(fig):
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes, "figure has no axes"
    assert any(ax.get_xlabel() for ax in axes) and any(ax.get_ylabel() for ax in axes)
    return axes


def test_use_style_applies_packaged_style():
    with matplotlib.rc_context():
        plotting.use_style()
        assert plt.rcParams["axes.spines.top"] is False
        assert plt.rcParams["axes.spines.right"] is False
        assert plt.rcParams["figure.constrained_layout.use"] is True
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        assert colours[0].lower() == "#0072b2"


def test_plot_data_matrix():
    fig = plotting.plot_data_matrix(RESP, STIMULI, n_neurons=5)
    ax = _labelled(fig)[0]
    assert "orientation (degrees)" in ax.get_xlabel()
    assert any("z-scored response" in a.get_ylabel() for a in fig.axes)  # the colourbar
    assert ax.images[0].get_array().shape == (5, N_STIM)
    with pytest.raises(ValueError, match="one row per stimulus"):
        plotting.plot_data_matrix(RESP.T, STIMULI)


def test_plot_tuning_curves_and_hidden_tuning():
    fig = plotting.plot_tuning_curves(STIMULI, RESP, [0, 3, 5])
    assert len(_labelled(fig)[0].lines) == 3
    fig = plotting.plot_hidden_tuning(STIMULI.numpy()[:, 0], RESP[:, :4])
    assert len(_labelled(fig)[0].lines) == 4
    with pytest.raises(ValueError, match="out of range"):
        plotting.plot_tuning_curves(STIMULI, RESP, [N_NEURONS])
    with pytest.raises(ValueError, match="one row per stimulus"):
        plotting.plot_hidden_tuning(STIMULI, RESP[:-1])


def test_plot_loss():
    fig = plotting.plot_loss([3.0, 2.0, 1.0], [3.5, 2.5, 2.0], ylabel="MSE")
    ax = _labelled(fig)[0]
    assert ax.get_ylabel() == "MSE" and len(ax.lines) == 2
    fig, ax = plt.subplots()
    assert plotting.plot_loss(np.ones(4), ax=ax, logy=True) is fig
    with pytest.raises(ValueError, match="should have 3 entries"):
        plotting.plot_loss([3.0, 2.0, 1.0], [1.0])
    with pytest.raises(TypeError, match="ax should be a matplotlib Axes"):
        plotting.plot_loss([1.0], ax="ax")


def test_plot_weights():
    fig = plotting.plot_weights(torch.randn(4, 9), "W_in", "neuron", "hidden unit")
    ax = _labelled(fig)[0]
    assert ax.get_title() == "W_in" and ax.get_xlabel() == "neuron"
    assert _labelled(plotting.plot_weights(np.eye(3)))
    with pytest.raises(ValueError, match="2-D array"):
        plotting.plot_weights(torch.zeros(3))


def test_plot_decoding_figures():
    true = STIMULI[:, 0]
    decoded = true + 5 * torch.randn(N_STIM, generator=torch.Generator().manual_seed(1))
    fig = plotting.plot_decoded_vs_true(true, decoded)
    ax = _labelled(fig)[0]
    assert ax.lines[0].get_xdata()[0] == ax.lines[0].get_ydata()[0]  # identity line
    _labelled(plotting.plot_decoding_error(true, decoded - true))
    classes = torch.div(true, 18, rounding_mode="floor").long()
    _labelled(plotting.plot_decoded_classes(true, classes, 20))
    with pytest.raises(ValueError, match=f"should have {N_STIM} entries"):
        plotting.plot_decoded_vs_true(true, decoded[:-1])
    with pytest.raises(ValueError, match="should have"):
        plotting.plot_decoding_error(true, decoded[:3])
    with pytest.raises(ValueError, match="n_classes"):
        plotting.plot_decoded_classes(true, classes, 0)


def test_plot_gratings_and_filters():
    angles = [0, 45, 90, 135]
    imgs = torch.stack([grating(a, res=0.025) for a in angles])
    fig = plotting.plot_gratings(imgs, angles, ncols=3)
    axes = _labelled(fig)
    assert len(axes) == 4 and axes[1].get_title() == "45\N{DEGREE SIGN}"
    _labelled(plotting.plot_gratings(imgs[:, None], torch.tensor(angles)))
    fig = plotting.plot_filters(filters(6, 7))
    assert len(_labelled(fig)) == 6
    with pytest.raises(ValueError, match="should have 4 entries"):
        plotting.plot_gratings(imgs, angles[:2])
    with pytest.raises(ValueError, match=r"shape \(n, height, width\)"):
        plotting.plot_gratings(imgs[0], [0])
    with pytest.raises(ValueError, match="one input channel"):
        plotting.plot_filters(torch.zeros(6, 2, 7, 7))


def test_plot_tuning_predictions():
    pred = RESP + 0.1
    fig = plotting.plot_tuning_predictions(STIMULI, RESP, RESP * 0.9, pred, [0, 1, 2, 3, 4, 5, 6])
    axes = _labelled(fig)
    assert len(axes) == 7 and all(len(ax.lines) == 3 for ax in axes)
    with pytest.raises(ValueError, match="same shape"):
        plotting.plot_tuning_predictions(STIMULI, RESP, RESP[:, :3], pred, [0])


def test_plot_rdms():
    rdms = {"V1": RDM(RESP), "model": RDM(RESP[:, :6]).numpy()}
    fig = plotting.plot_rdms(rdms, STIMULI)
    axes = _labelled(fig)
    assert [ax.get_title() for ax in axes] == ["V1", "model"]
    with pytest.raises(ValueError, match=r"rdms\['V1'\] should have shape \(35, 35\)"):
        plotting.plot_rdms({"V1": RDM(RESP)}, STIMULI[:-1])
    with pytest.raises(ValueError, match="non-empty dict"):  # right type, wrong value
        plotting.plot_rdms({}, STIMULI)
    with pytest.raises(TypeError, match="non-empty dict"):
        plotting.plot_rdms([RDM(RESP)], STIMULI)
