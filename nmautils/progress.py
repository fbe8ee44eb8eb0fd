"""Progress bars that render where the student works and stay out of headless runs.

The environment variable ``NMAUTILS_PROGRESS`` chooses:

- ``auto`` (default): a widget bar (``tqdm.notebook``) in a Jupyter or Colab notebook whose
  front end renders ipywidgets, a text bar everywhere else. Colab renders only ipywidgets 7
  (it ships 7.7.1; ipywidgets 8 widgets show nothing there, colabtools issues 3020 and 4525), so
  on Colab with ipywidgets 8 installed the bar falls back to text. Without ipywidgets it is text.
- ``text``: always a text bar (e.g. a front end that shows no widgets).
- ``off``: no bars. Notebook outputs are stored and compared by nbval, so the build and the test
  suite set it (bars print timings).

The variable is defined in :mod:`nmautils.settings`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from . import settings

__all__ = ["PROGRESS_MODES", "bar_class", "progress", "progress_enabled", "progress_mode"]

PROGRESS_MODES = settings.VARIABLES["NMAUTILS_PROGRESS"].choices
"""Valid values of the environment variable ``NMAUTILS_PROGRESS``."""


def progress_mode() -> str:
    """The bar mode: ``settings.get("NMAUTILS_PROGRESS")``, "auto" (default), "text" or "off".

    Raises
    ------
    ValueError
        If the variable holds anything else.
    """
    return settings.get("NMAUTILS_PROGRESS")


def progress_enabled() -> bool:
    """False when the environment variable ``NMAUTILS_PROGRESS`` is ``"off"`` (headless runs).

    Raises
    ------
    ValueError
        If the variable holds a value other than "auto", "text" or "off".
    """
    return progress_mode() != "off"


def _in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook, Colab), not a terminal."""
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython is not None else None
    return ip is not None and hasattr(ip, "kernel")


def _on_colab() -> bool:
    """Whether this kernel is Colab's (its ``google.colab`` package is loaded at start-up)."""
    return "google.colab" in sys.modules


def _ipywidgets_major() -> int | None:
    """The major version of the installed ipywidgets, or None when it cannot be imported."""
    try:
        import ipywidgets
    except ImportError:
        return None
    try:
        return int(str(ipywidgets.__version__).split(".")[0])
    except ValueError:
        return None


def bar_class() -> type:
    """The tqdm class that renders here (see the module docstring for the rules).

    Returns
    -------
    type
        ``tqdm.notebook.tqdm`` (a widget) or ``tqdm.std.tqdm`` (text on stderr).
    """
    from tqdm.std import tqdm as text_bar

    if progress_mode() == "text" or not _in_notebook():
        return text_bar
    major = _ipywidgets_major()
    if major is None or (_on_colab() and major >= 8):
        return text_bar
    from tqdm.notebook import tqdm as widget_bar

    return widget_bar


def progress(iterable: Iterable | None = None, desc: str = "", **kwargs: Any) -> Any:
    """Wrap ``iterable`` in a progress bar that renders here (silent when progress is off).

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; None for a bar updated by hand (``bar.update(n)``).
    desc : str
        Label in front of the bar.
    **kwargs
        Passed to tqdm (e.g. ``total``, ``leave``, ``unit``; ``disable=True`` hides it).

    Returns
    -------
    tqdm.std.tqdm
        Always a tqdm instance, so ``bar.set_postfix(...)`` works either way. If the widget bar
        cannot be created (ipywidgets broken), a text bar is returned instead.

    Examples
    --------
    >>> total = 0
    >>> for i in progress(range(4), desc="adding", disable=True):
    ...     total += i
    >>> total
    6
    """
    kwargs.setdefault("disable", not progress_enabled())
    cls = bar_class()
    try:
        return cls(iterable, desc=desc, **kwargs)
    except ImportError:  # tqdm.notebook without a usable ipywidgets ("IProgress not found")
        from tqdm.std import tqdm as text_bar

        return text_bar(iterable, desc=desc, **kwargs)
