"""Notebook widgets of the course.

:func:`browse_ranks` walks through a long ranking (tutorial 2 ranks ~24,000 neurons by how well
the encoding model predicts them) in a few moves: a slider over percentiles of the ranking for
the coarse moves, linked to a box that takes the exact rank, above the figure of that rank.

ipywidgets is imported when a widget is made, not with this module, so scripts and the grading
tools that import every module of nmautils never load it. The widgets exist in ipywidgets 7
(Colab's 7.7.1) and 8.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._validate import check_callable, check_positive_int, check_type

__all__ = ["browse_ranks"]


def _rank_at(percentile: float, n_ranks: int) -> int:
    """The rank at ``percentile`` (0-100) of a ranking of ``n_ranks`` entries."""
    return int(round(percentile / 100 * (n_ranks - 1)))


def _percentile_of(rank: int, n_ranks: int) -> int:
    """The percentile (0-100, rounded) at which ``rank`` sits in a ranking of ``n_ranks``."""
    return 0 if n_ranks == 1 else int(round(100 * rank / (n_ranks - 1)))


def _png(fig: Any) -> bytes:
    """``fig`` as PNG bytes, then closed, so that the inline backend never shows it again."""
    from io import BytesIO

    import matplotlib.pyplot as plt

    buffer = BytesIO()
    try:
        # the inline backend's own look: the figure cropped to what it draws
        fig.savefig(buffer, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def browse_ranks(
    draw: Callable[[int], Any],
    n_ranks: int,
    *,
    description: str = "rank",
    display: bool = True,
) -> Any:
    """A percentile slider and an exact rank box, linked, above the figure ``draw(rank)`` returns.

    Moving the slider to percentile ``p`` sets the box to the rank at ``p`` percent of the
    ranking (0: the first rank, 100: the last); typing a rank into the box (or stepping it with
    its arrows) moves the slider to that rank's percentile and keeps the rank as typed. Every
    change of the rank calls ``draw(rank)`` once; the figure it returns is shown as a PNG image
    below the controls and then closed (``plt.close``), so the notebook never shows it twice.

    The figure is an image widget, not an output area, so the browser renders in every front
    end: widgetsnbextension 3.6.7 to 3.6.10 (Colab's pins) cannot make an Output widget in the
    classic Notebook.

    Parameters
    ----------
    draw : callable
        Called with one int, the rank to show (0 to ``n_ranks - 1``); returns a
        ``matplotlib.figure.Figure`` (``fig``, not ``plt.show()``).
    n_ranks : int
        How many ranks there are.
    description : str
        The label of the exact box.
    display : bool
        Display the widget now (as ``ipywidgets.interact`` does); otherwise only return it.

    Returns
    -------
    ipywidgets.VBox
        ``children[0]``: the slider and the box; ``children[1]``: the ``ipywidgets.Image`` of
        the figure for the current rank.

    Raises
    ------
    TypeError
        If ``draw`` is not callable, or returns something other than a matplotlib Figure (the
        first call, for rank 0, happens here).

    Examples
    --------
    Outside a kernel ipywidgets prints terminal escapes as it redraws, so this is not run:

    >>> import matplotlib.pyplot as plt
    >>> def draw(rank):
    ...     fig, ax = plt.subplots()
    ...     ax.set_title(f"rank {rank}")
    ...     return fig
    >>> box = browse_ranks(draw, 23589, display=False)  # doctest: +SKIP
    >>> slider, exact = box.children[0].children  # doctest: +SKIP
    >>> slider.value = 50  # doctest: +SKIP
    >>> exact.value, box.children[1].format  # doctest: +SKIP
    (11794, 'png')
    """
    check_callable(draw, "draw")
    n = check_positive_int(n_ranks, "n_ranks")
    check_type(description, "description", str, "a str")
    check_type(display, "display", bool, "a bool")

    import ipywidgets as w
    from matplotlib.figure import Figure

    def figure_png(rank: int) -> bytes:
        fig = draw(rank)
        if not isinstance(fig, Figure):
            raise TypeError(f"draw should return a matplotlib Figure (end it with `return fig`, "
                            f"not plt.show()), but got {type(fig).__name__} for rank {rank}.")
        return _png(fig)

    # the first figure, drawn before any widget exists: a wrong draw fails here, in the cell
    # at its own size: a VBox stretches its children to its width, which blurs the picture
    image = w.Image(value=figure_png(0), format="png", layout=w.Layout(align_self="flex-start"))
    slider = w.IntSlider(value=0, min=0, max=100, step=1, description="percentile",
                         continuous_update=False, style={"description_width": "initial"})
    exact = w.BoundedIntText(value=0, min=0, max=n - 1, step=1, description=description,
                             layout=w.Layout(width="180px"))
    syncing = False  # one control is being set from the other: do not echo the change back

    def follow(target, convert):
        """An observer that sets ``target`` to ``convert`` of the observed control's new value."""
        def changed(change: dict) -> None:
            nonlocal syncing
            if not syncing:
                syncing = True
                try:
                    target.value = convert(change["new"])
                finally:
                    syncing = False
        return changed

    def redraw(change: dict) -> None:
        image.value = figure_png(int(change["new"]))

    slider.observe(follow(exact, lambda percentile: _rank_at(percentile, n)), names="value")
    exact.observe(follow(slider, lambda rank: _percentile_of(rank, n)), names="value")
    exact.observe(redraw, names="value")  # every rank change, typed or from the slider
    browser = w.VBox([w.HBox([slider, exact]), image])
    if display:
        from IPython.display import display as show_widget

        show_widget(browser)
    return browser
