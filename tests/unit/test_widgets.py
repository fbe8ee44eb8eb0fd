"""Tutorial 2's slider produces a widget model and view with the installed ipywidgets.

Here that is ipywidgets 8 (the dev environment); ``make test-colab`` runs the whole tutorial
live under Colab's ipywidgets 7.7.1 with the same checks (tests/harness/colab_notebooks.py).
"""

from __future__ import annotations

import os

import ipywidgets
import nbformat
import pytest
from colab_notebooks import check_widgets, widget_models, widget_versions
from nbclient import NotebookClient

from nmautils.course import build, notebooks

STUBS = """\
import os
import matplotlib.pyplot as plt
import torch
os.environ.pop("CI", None)
os.environ["NMAUTILS_PROGRESS"] = "auto"  # live: the slider, not the static figure
torch.manual_seed(0)
n_split_neurons = 5
stimuli_split = torch.arange(10.0).unsqueeze(1)
resp_train_split, resp_test_split, predicted = torch.rand(3, 10, n_split_neurons)

def plot_tuning_predictions(*args, fig=None, **kwargs):
    fig.add_subplot().plot([0, 1])
"""


@pytest.fixture(scope="module")
def executed():
    """The tutorial's slider cell, as written in the source, run live in a kernel on stubs."""
    src = notebooks.read(build.source_path("tutorial2_encoding"))
    cell = next(c for c in src.cells if "IntSlider(" in c.source)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(STUBS),
                                         nbformat.v4.new_code_cell(cell.source)])
    env = {k: os.environ.pop(k) for k in ("CI", "NMAUTILS_PROGRESS") if k in os.environ}
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    finally:
        os.environ.update(env)
    return nb


def test_slider_model_and_view(executed):
    assert check_widgets("tutorial2_encoding", executed) == []
    models = widget_models(executed)
    slider = next(m for m in models.values() if m["model_name"] == "IntSliderModel")
    assert slider["state"]["description"] == "rank" and slider["state"]["max"] == 4
    major = int(ipywidgets.__version__.split(".")[0])
    assert widget_versions(executed) == {"2.0.0" if major >= 8 else "1.5.0"}


def test_slider_draws_the_first_neuron_into_its_output(executed):
    outputs = [m for m in widget_models(executed).values() if m["model_name"] == "OutputModel"]
    assert outputs, "interact shows its function's output in an Output widget"
    shown = [o for m in outputs for o in m["state"].get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in shown), "no figure for rank 0"
    text = "".join(o.get("text", "") for c in executed.cells for o in c.outputs)
    assert "median test R^2" in text
