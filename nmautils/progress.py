"""Progress bars that stay out of headless runs.

Notebook outputs are stored and compared by nbval, so progress bars (which print timings) are
switched off when the environment variable ``NMAUTILS_PROGRESS`` is ``"off"``; the build and the
test suite set it. Students see a ``tqdm.auto`` bar (a widget in Jupyter and Colab).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any


def progress_enabled() -> bool:
    """False when the environment variable ``NMAUTILS_PROGRESS`` is ``"off"`` (headless runs)."""
    return os.environ.get("NMAUTILS_PROGRESS", "auto").strip().lower() != "off"


def progress(iterable: Iterable | None = None, desc: str = "", **kwargs: Any) -> Any:
    """Wrap ``iterable`` in a ``tqdm.auto`` progress bar (silent when progress is disabled).

    The returned object is always a tqdm instance, so ``bar.set_postfix(...)`` works either way.
    Extra keyword arguments go to tqdm (e.g. ``total``, ``leave``).
    """
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", not progress_enabled())
    return tqdm(iterable, desc=desc, **kwargs)
