"""Friendly checks for the visible tests of the exercises.

Each ``check_*`` function raises :class:`AssertionError` with a message that says what was
expected, what the student's code produced, and (where given) a hint. A passing check prints
nothing; call :func:`passed` at the end of a test cell to print one encouraging line.

Examples
--------
>>> import torch
>>> check_shape(torch.zeros(4, 1), (4, 1), "the network's output")
>>> check_shape(torch.zeros(4), (4, 1), "the network's output")
Traceback (most recent call last):
...
AssertionError: the network's output should have shape (4, 1), but it has shape (4,).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check",
    "check_type",
    "check_shape",
    "check_dtype",
    "check_finite",
    "check_close",
    "passed",
]


def _fail(message: str, hint: str = "") -> None:
    text = message if not hint else f"{message}\nHint: {hint}"
    raise AssertionError(text)


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)


def check(condition: bool, message: str, hint: str = "") -> None:
    """Fail with ``message`` (and ``hint``) unless ``condition`` is true."""
    if not condition:
        _fail(message, hint)


def check_type(obj: Any, expected: type | tuple[type, ...], name: str, hint: str = "") -> None:
    """Fail unless ``obj`` is an instance of ``expected``."""
    if not isinstance(obj, expected):
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        _fail(f"{name} should be a {names}, but it is a {type(obj).__name__}.", hint)


def check_shape(x: Any, expected: Sequence[int | None], name: str, hint: str = "") -> None:
    """Fail unless ``x.shape`` matches ``expected`` (``None`` entries match any size)."""
    shape = tuple(getattr(x, "shape", np.shape(x)))
    expected = tuple(expected)
    ok = len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))
    if not ok:
        shown = "(" + ", ".join("any" if e is None else str(e) for e in expected)
        shown += ",)" if len(expected) == 1 else ")"
        _fail(f"{name} should have shape {shown}, but it has shape {shape}.", hint)


def check_dtype(x: Any, expected: Any, name: str, hint: str = "") -> None:
    """Fail unless ``x.dtype`` equals ``expected`` (a numpy or torch dtype)."""
    dtype = getattr(x, "dtype", None)
    if dtype != expected:
        _fail(f"{name} should have dtype {expected}, but it has dtype {dtype}.", hint)


def check_finite(x: Any, name: str, hint: str = "") -> None:
    """Fail if ``x`` holds NaN or infinite values."""
    values = _as_array(x)
    if not np.all(np.isfinite(values)):
        _fail(f"{name} contains NaN or infinite values.", hint)


def check_close(
    actual: Any,
    expected: Any,
    name: str,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str = "",
) -> None:
    """Fail unless ``actual`` is elementwise close to ``expected`` (same rule as numpy.allclose)."""
    a, e = _as_array(actual).astype(float), _as_array(expected).astype(float)
    if a.shape != e.shape:
        _fail(f"{name} should have shape {e.shape}, but it has shape {a.shape}.", hint)
    if not np.allclose(a, e, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(a - e))) if a.size else 0.0
        if a.size == 1:
            _fail(f"{name} should be {e.item():.6g}, but it is {a.item():.6g}.", hint)
        _fail(f"{name} differs from the expected values (largest difference {worst:.3g}).", hint)


def passed(message: str = "All visible checks passed.") -> None:
    """Print one line telling the student that the visible checks passed."""
    print(f"\u2714 {message}")
