"""nmautils: helpers for the course "Deep Learning for Neural Data".

Every notebook of the course imports this package. Its modules each have one concern:

- :mod:`nmautils.data` - download (hash-checked, cached) or synthesise the V1 recordings
- :mod:`nmautils.surrogate` - the deterministic synthetic stand-in used offline and in CI
- :mod:`nmautils.stimuli` - grating images and convolution filter banks
- :mod:`nmautils.analysis` - sampling, binning, hidden activity, RDMs
- :mod:`nmautils.train` - GPU-aware training loops, seeding and device selection
- :mod:`nmautils.plotting` - the figures of the course and its matplotlib style
- :mod:`nmautils.progress` - progress bars that switch off in headless runs
- :mod:`nmautils.runtime` - the versions and device a notebook runs on (printed at set-up)
- :mod:`nmautils.settings` - the ``NMAUTILS_*`` environment variables and the grading limits
- :mod:`nmautils.checks` - friendly checks used by the exercises' visible tests, and
  :func:`~nmautils.checks.refusing` for their hidden tests
- :mod:`nmautils.placecells` - RatInABox place-cell data for tutorial 3
- :mod:`nmautils.models` - the small model base class of tutorial 3
- :mod:`nmautils.report` - printing trained numbers at a precision every machine reproduces
- :mod:`nmautils.widgets` - notebook widgets, e.g. browsing a ranking of ~24,000 neurons

Submodules are imported lazily, so ``import nmautils`` is cheap, and importing nmautils sets
nothing in the process (no environment variable, no allocator setting). In an IPython kernel the
import makes an answer that still raises nbgrader's stub (``raise NotImplementedError()``) show
one line naming the exercise instead of a long traceback (``nmautils._tracebacks``).
"""

from __future__ import annotations

import importlib
from typing import Any

from ._tracebacks import install as _install_tracebacks

__version__ = "0.1.0"

_install_tracebacks()

_SUBMODULES = (
    "analysis",
    "checks",
    "data",
    "models",
    "placecells",
    "plotting",
    "progress",
    "report",
    "runtime",
    "settings",
    "stimuli",
    "surrogate",
    "train",
    "widgets",
)

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'nmautils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_SUBMODULES))
