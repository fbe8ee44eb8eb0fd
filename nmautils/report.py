"""Printing numbers that come out of long optimisation so that every machine prints the same text.

Training for hundreds of steps amplifies last-bit differences between machines (AVX-512 / AVX2 /
scalar kernels, BLAS blocking, thread counts): a test accuracy can come out 0.764 on one machine
and 0.750 on another. :func:`approx` rounds such a number to a coarser grid, chosen per number
from the spread measured between machines, so the printed text is the same everywhere.

Rounding alone only moves the boundary: a value close to the middle between two grid points can
still round differently elsewhere. So :func:`approx` also takes ``spread``, the largest
difference between machines measured for that number; when the environment variable
``NMAUTILS_CHECK_MARGINS`` is ``1`` (the course build and CI set it), it raises if the value lies
closer than ``spread`` to a rounding boundary, i.e. if some machine within the measured spread
could print something else. Students never see that error: without the variable it only rounds.

:func:`verdict` is how a notebook states a claim about its own results ("classification removes
the errors at the seam"): it prints one line saying whether the claim holds on the data the
notebook ran on, with the numbers, and never stops a student's notebook. On real recordings a
claim may hold less strongly than on the surrogate, and the student should read that, not an
``AssertionError``. With ``NMAUTILS_STRICT_CLAIMS=1`` (the course build and CI set it) a claim
that does not hold raises :class:`ClaimError`, so the solutions cannot be built or pass nbval
on the surrogate unless every claim holds there.

Both variables are defined in :mod:`nmautils.settings`.
"""

from __future__ import annotations

import math

from . import settings
from ._validate import as_scalar, check_number

__all__ = ["approx", "MarginError", "verdict", "ClaimError"]


class MarginError(ValueError):
    """A printed value lies too close to a rounding boundary for its measured spread."""


class ClaimError(AssertionError):
    """A claim checked with :func:`verdict` does not hold (raised only in strict mode)."""


def _decimals(step: float) -> int:
    """Decimals needed to show multiples of ``step`` exactly (0.05 -> 2, 10 -> 0)."""
    for d in range(12):
        if abs(round(step, d) - step) <= 1e-12 * max(1.0, abs(step)):
            return d
    return 12


def approx(value: float, step: float, spread: float) -> str:
    """``value`` rounded to the nearest multiple of ``step``, as text.

    Parameters
    ----------
    value : float
        The number to print.
    step : float
        The grid to round to, e.g. ``0.05`` or ``10`` (> 0).
    spread : float
        The largest difference for this number measured between machines / numeric
        configurations (>= 0). With ``NMAUTILS_CHECK_MARGINS=1`` the value must lie at least
        this far from the nearest rounding boundary (a half-step point).

    Returns
    -------
    str
        E.g. ``approx(0.764, 0.05, 0.015) == "0.75"``, ``approx(1009.3, 10, 3) == "1010"``.

    Raises
    ------
    TypeError
        If ``value``, ``step`` or ``spread`` is not a number (``value`` may also be a
        one-element tensor or array).
    ValueError
        If ``step`` is not positive or ``spread`` is negative.
    MarginError
        With ``NMAUTILS_CHECK_MARGINS=1``, when another machine within ``spread`` could print
        a different text; choose a coarser ``step`` (or an offset grid) for this number.

    Examples
    --------
    >>> approx(0.764, 0.05, 0.01), approx(1009.3, 10, 3), approx(-0.01, 0.1, 0.01)
    ('0.75', '1010', '0.0')
    """
    value = as_scalar(value, "value")
    step = check_number(step, "step", minimum=0, include_min=False)
    spread = check_number(spread, "spread", minimum=0)
    if not math.isfinite(value):
        return str(value)
    k = math.floor(value / step + 0.5)
    boundary_gap = step / 2 - abs(value - k * step)
    if settings.get("NMAUTILS_CHECK_MARGINS") and boundary_gap < spread:
        raise MarginError(
            f"{value!r} lies {boundary_gap:.3g} from a rounding boundary of the {step:g} grid, "
            f"less than its measured spread {spread:g}: another machine could print a different "
            "value. Use a coarser step."
        )
    shown = k * step
    d = _decimals(step)
    text = f"{shown:.{d}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def verdict(claim: str, holds: bool, evidence: str = "") -> None:
    """Print whether ``claim`` holds on the data this notebook ran on.

    Parameters
    ----------
    claim : str
        The statement, e.g. ``"the largest errors lie near the 0/360 degree seam"``.
    holds : bool
        Whether the numbers support it (computed by the caller with an explicit tolerance).
    evidence : str, optional
        The numbers behind the verdict, e.g. ``"mean error 31 deg near the seam, 4 deg elsewhere"``.

    Returns
    -------
    None
        Nothing, so that a cell ending in ``verdict(...)`` shows only the verdict line (a
        returned ``True`` would be displayed under it).

    Raises
    ------
    ClaimError
        Only when the environment variable ``NMAUTILS_STRICT_CLAIMS`` is ``1`` (course build and
        CI) and the claim does not hold. Students never get an exception from this function.

    Examples
    --------
    >>> verdict("two is more than one", 2 > 1, "2 vs 1")
    Claim holds on this data: two is more than one (2 vs 1).
    """
    if not isinstance(claim, str) or not isinstance(evidence, str):
        raise TypeError(
            f"claim and evidence should be str, but got {type(claim).__name__} and "
            f"{type(evidence).__name__}."
        )
    holds = bool(holds)
    details = f" ({evidence})" if evidence else ""
    if holds:
        print(f"Claim holds on this data: {claim}{details}.")
    else:
        print(
            f"Claim does NOT hold on this data: {claim}{details}. The text describes the course "
            "data; on other recordings the effect can be weaker - look at the figures and think "
            "about why."
        )
        if settings.get("NMAUTILS_STRICT_CLAIMS"):
            raise ClaimError(f"claim does not hold: {claim}{details}")
