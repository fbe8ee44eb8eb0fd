"""Tutorial 2's slider produces a widget model and view with the installed ipywidgets.

Here that is ipywidgets 8 (the dev environment); ``make test-colab`` runs the whole tutorial
live under Colab's ipywidgets 7.7.1 with the same checks (tests/harness/colab_notebooks.py).
The browser of :mod:`nmautils.widgets` and the figure the slider draws are tested here too,
without a kernel.
"""

from __future__ import annotations

import os

import ipywidgets
import matplotlib
import nbformat
import numpy as np
import pytest
from colab_notebooks import check_widgets, widget_models, widget_versions
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from nbclient import NotebookClient

from nmautils import plotting, widgets
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
    cell = next(c for c in src.cells if notebooks.nbgrader_meta(c).get("grade_id") == "explore")
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
    # the exact rank: the slider itself, or the box of nmautils.widgets.browse_ranks beside it
    rank = next(m for m in models.values() if m["model_name"] in ("IntSliderModel", "BoundedIntTextModel")
                and m["state"].get("description") == "rank")
    assert rank["state"]["max"] == 4
    major = int(ipywidgets.__version__.split(".")[0])
    assert widget_versions(executed) == {"2.0.0" if major >= 8 else "1.5.0"}


def test_slider_draws_the_first_neuron_into_its_image_and_nowhere_else(executed):
    models = widget_models(executed).values()
    assert not [m for m in models if m["model_name"] == "OutputModel"], (
        "no Output widget: widgetsnbextension 3.6.7-3.6.10 cannot render one in the classic Notebook")
    images = [m for m in models if m["model_name"] == "ImageModel"]
    assert len(images) == 1 and images[0]["state"]["format"] == "png", images
    assert images[0]["state"].get("value") or images[0].get("buffers"), "no figure for rank 0"
    outputs = executed.cells[1].outputs
    assert not [o for o in outputs if "image/png" in o.get("data", {})], (
        "the figure is shown once, in the browser, not again by the inline backend")
    text = "".join(o.get("text", "") for o in outputs)
    assert "median test R^2" in text


# ------------------------------------------------------------- the browser of nmautils.widgets


def _drawer(drawn: list[int]):
    """A ``draw`` for :func:`browse_ranks` that records its ranks and plots a line up to the rank."""
    import matplotlib.pyplot as plt

    def draw(rank: int) -> Figure:
        drawn.append(rank)
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [0, rank])
        ax.set_title(f"rank {rank}")
        return fig
    return draw


def test_browse_ranks_offers_a_coarse_slider_and_an_exact_rank_box():
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()  # figures other tests left open are not this test's
    drawn = []
    browser = widgets.browse_ranks(_drawer(drawn), 23_589, display=False)
    (slider, exact), image = browser.children[0].children, browser.children[1]
    assert isinstance(slider, ipywidgets.IntSlider) and (slider.min, slider.max) == (0, 100)
    assert isinstance(exact, ipywidgets.BoundedIntText) and (exact.min, exact.max) == (0, 23_588)
    assert exact.description == "rank" and drawn == [0]
    assert isinstance(image, ipywidgets.Image) and image.format == "png"
    assert image.layout.align_self == "flex-start", "not stretched to the width of the page"
    assert bytes(image.value).startswith(b"\x89PNG"), "the first figure is drawn at once"
    pictures = [bytes(image.value)]
    slider.value = 50  # the median neuron in one move
    assert exact.value == 11_794 and drawn[-1] == 11_794
    pictures.append(bytes(image.value))
    slider.value = 100
    assert exact.value == 23_588 and drawn[-1] == 23_588
    pictures.append(bytes(image.value))
    exact.value = 123  # the exact rank, typed: the slider follows, the rank stays as typed
    assert slider.value == 1 and exact.value == 123 and drawn[-1] == 123
    pictures.append(bytes(image.value))
    assert drawn == [0, 11_794, 23_588, 123]  # one figure per change of the rank
    assert len(set(pictures)) == 4, "the image changes with every rank"
    assert plt.get_fignums() == open_before, "every figure is closed once it is an image"


def test_browse_ranks_with_one_rank_and_wrong_arguments():
    drawn = []
    slider, exact = widgets.browse_ranks(_drawer(drawn), 1, display=False).children[0].children
    slider.value = 70
    assert exact.value == 0 and drawn == [0]
    with pytest.raises(TypeError, match="draw should be callable"):
        widgets.browse_ranks("draw_rank", 5, display=False)
    with pytest.raises(ValueError, match="n_ranks should be a positive int, but got 0"):
        widgets.browse_ranks(_drawer([]), 0, display=False)


def test_browse_ranks_says_when_draw_shows_instead_of_returning_the_figure():
    import matplotlib.pyplot as plt

    def shows(rank):  # the old style: plt.show() and no return
        plt.figure()
        plt.show()

    with pytest.raises(TypeError, match=r"draw should return a matplotlib Figure \(end it with "
                                        r"`return fig`, not plt.show\(\)\), but got NoneType"):
        widgets.browse_ranks(shows, 5, display=False)
    plt.close("all")


# -------------------------------------------------- the slider's figure: title and legend apart


def _show_rank_figure(style: bool, n_shown: int, title: str) -> Figure:
    """The figure tutorial 2's ``draw_rank`` draws (``n_shown=3``: its static version), drawn."""
    rng = np.random.default_rng(0)
    stimuli = np.linspace(0, 180, 24)
    resp_train, resp_test, predicted = rng.normal(size=(3, 24, 30))
    with matplotlib.rc_context():
        if style:
            plotting.use_style()
        fig = Figure(figsize=(4.5, 3.2) if n_shown == 1 else (11, 3.2))
        FigureCanvasAgg(fig)
        plotting.plot_tuning_predictions(stimuli, resp_train, resp_test, predicted,
                                         list(range(n_shown)), ncols=n_shown, fig=fig)
        fig.suptitle(title, fontsize="small")
        fig.canvas.draw()
    return fig


@pytest.mark.parametrize("style", [True, False], ids=["course style", "matplotlib default"])
@pytest.mark.parametrize("n_shown, title", [
    (1, "rank 0: neuron 12345, test R$^2$ = 0.83"),
    (1, "rank 23588: neuron 23588, test R$^2$ = -0.05"),
    (3, "ranks 0, 11794, 23588 of the test-R$^2$ ranking"),
])
def test_the_title_never_covers_the_legend(style, n_shown, title):
    fig = _show_rank_figure(style, n_shown, title)
    renderer = fig.canvas.get_renderer()
    title_box = fig._suptitle.get_window_extent(renderer)
    (legend,) = fig.legends
    legend_box = legend.get_window_extent(renderer)
    assert not title_box.overlaps(legend_box), (title_box, legend_box)
    figure_box = fig.bbox
    for box in (title_box, legend_box):  # both inside the figure
        assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 + 0.5
        assert figure_box.y0 <= box.y0 and box.y1 <= figure_box.y1 + 0.5
    for ax in fig.axes:  # and neither covers a panel, its title or its axis labels
        panel = ax.get_tightbbox(renderer)
        assert not panel.overlaps(legend_box) and not panel.overlaps(title_box), ax.get_title()
