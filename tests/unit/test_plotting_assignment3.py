"""Tests of the figures added for assignment 3 (part e: binned tuning curves)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from nmautils import plotting  # noqa: E402


def test_binned_tuning_curves_draws_one_panel_per_unit():
    centres = np.linspace(-85, 85, 18)
    curves = {
        "V1 neuron 3": (centres, np.cos(np.radians(2 * centres))),
        "fc unit 1": (torch.tensor(centres), torch.tensor(centres) / 90),
        "with a gap": (centres, np.where(centres > 50, np.nan, 1.0)),
        "fourth": (centres, np.zeros(18)),
    }
    fig = plotting.plot_binned_tuning_curves(curves, ncols=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(curves)
    line = visible[0].get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), centres)
    assert "plot_binned_tuning_curves" in plotting.__all__
    plt.close(fig)


def test_binned_tuning_curves_rejects_bad_input():
    with pytest.raises(ValueError):  # a dict, but empty
        plotting.plot_binned_tuning_curves({})
    with pytest.raises(TypeError):
        plotting.plot_binned_tuning_curves([(np.zeros(3), np.zeros(3))])
    with pytest.raises(TypeError):
        plotting.plot_binned_tuning_curves({"a": np.zeros(3)})
    with pytest.raises(ValueError):
        plotting.plot_binned_tuning_curves({"a": (np.zeros(3), np.zeros(4))})
    with pytest.raises(ValueError):
        plotting.plot_binned_tuning_curves({"a": (np.zeros(3), np.zeros(3))}, ncols=0)
