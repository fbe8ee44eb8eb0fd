"""Friendly checks for the visible tests of the exercises.

Each ``check_*`` function raises :class:`AssertionError` with a message that says what was
expected, what the student's code produced, and (where given) a hint. A passing check prints
nothing; call :func:`passed` at the end of a test cell to print one encouraging line. In a
notebook a failed check's traceback leaves out the frames inside nmautils (it ends with the
message and the hint), and an answer that still raises nbgrader's stub ``raise
NotImplementedError()`` is shown as one line naming the exercise (both: ``nmautils._tracebacks``).

:func:`refusing` is for hidden tests: while it is active, the given course helpers raise
:class:`HelperRefused` instead of running, so an exercise cannot be answered by delegating to a
helper of this package that a later lesson needs (e.g. ``nmautils.train.train_full_batch`` for
tutorial 1's ``train``).

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

import gc
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ._tracebacks import shorten
from ._validate import as_numpy

__all__ = [
    "check",
    "check_type",
    "check_shape",
    "check_dtype",
    "check_finite",
    "check_close",
    "passed",
    "HelperRefused",
    "refusing",
]


def _fail(message: str, hint: str = "") -> NoReturn:
    text = message if not hint else f"{message}\nHint: {hint}"
    # in a notebook the error shows the cell's line, the message and the hint, not this module
    raise shorten(AssertionError(text))


def _as_array(x: Any, name: str, hint: str = "") -> np.ndarray:
    """``x`` as a numpy array (:func:`nmautils._validate.as_numpy`), or a friendly failure."""
    try:
        return as_numpy(x, name, numeric=True)
    except (TypeError, ValueError):
        pass  # fail outside the handler: the student sees one message, not a chain
    _fail(f"{name} should be a tensor, an array or a number, but it is a {type(x).__name__}.", hint)


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
    values = _as_array(x, name, hint)
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
    a = _as_array(actual, name, hint).astype(float)
    e = _as_array(expected, f"the expected value of {name}").astype(float)
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


# --------------------------------------------------------------------------------------------
# Refusing course helpers while a hidden test runs
# --------------------------------------------------------------------------------------------

#: Folder of the installed package: only helpers defined in files below it can be refused.
_PACKAGE_DIR = Path(__file__).resolve().parent


class HelperRefused(AssertionError):
    """Raised by a course helper that an exercise must not delegate to (see :func:`refusing`)."""


def _helper_function(helper: Any) -> types.FunctionType:
    """The plain function behind ``helper`` (a function, bound method or staticmethod)."""
    func = getattr(helper, "__func__", helper)  # bound methods, staticmethod/classmethod objects
    if not isinstance(func, types.FunctionType):
        raise TypeError(
            f"refusing()'s helpers should be Python functions of nmautils, but got "
            f"{type(helper).__name__} {helper!r}."
        )
    filename = Path(func.__code__.co_filename)
    if not filename.is_absolute() or _PACKAGE_DIR not in filename.resolve().parents:
        raise TypeError(
            f"refusing()'s helpers should be defined in the nmautils package, but got "
            f"{func.__qualname__}, defined in {func.__code__.co_filename} (the helper may have "
            "been replaced)."
        )
    return func


def _refusing_code(func: types.FunctionType, message: str) -> types.CodeType:
    """A code object that raises :class:`HelperRefused` and fits ``func``'s closure.

    A function's ``__code__`` can only be swapped for code with the same free variables, so the
    refusing function is compiled inside an outer function that provides them. The code runs
    with ``func``'s globals, so it reaches the exception class through ``__import__``.
    """
    free = func.__code__.co_freevars
    lines = ["def _outer():"]
    if free:
        lines.append("    " + " = ".join(free) + " = None")
    lines.append("    def _refused(*args, **kwargs):")
    if free:
        lines.append("        " + ", ".join(free))
    lines.append(
        f"        raise __import__({__name__!r}, fromlist=['_']).HelperRefused({message!r})"
    )
    lines.append("    return _refused")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), func.__code__.co_filename, "exec"), namespace)
    code = namespace["_outer"]().__code__
    if code.co_freevars != free:  # pragma: no cover - CPython orders free variables by name
        raise RuntimeError(f"cannot build a refusing stand-in for {func.__qualname__}")
    names = {"co_name": func.__code__.co_name}
    if hasattr(code, "co_qualname"):  # Python >= 3.11
        names["co_qualname"] = func.__code__.co_qualname
    return code.replace(**names)


@contextmanager
def refusing(*helpers: Callable[..., Any], exercise: str = "this exercise") -> Iterator[None]:
    """Make course helpers raise :class:`HelperRefused` while the block runs.

    Hidden tests use it where a helper of this package would answer the exercise under test:
    an answer that delegates to the helper then fails with a clear message, while one that
    does the work itself passes. The helpers' code (``__code__``) is swapped, not their names,
    so every alias is refused too - ``from nmautils.train import train_full_batch as t``
    in an answer cell, a reference kept in a list, a copy made with ``types.FunctionType``
    (any function object that shares the helper's code). Everything is restored when the block
    ends, also when it raises.

    A student can still paste a copy of a helper's source (the package is public); the
    refusal stops delegation, not copying.

    Parameters
    ----------
    *helpers : function
        Functions (or methods, staticmethods) defined in ``nmautils``.
    exercise : str
        How the error message names the exercise, e.g. ``"train (exercise 3)"``.

    Yields
    ------
    None

    Raises
    ------
    TypeError
        If a helper is not a Python function defined in the ``nmautils`` package (for example
        because it was replaced by an answer cell).

    Examples
    --------
    >>> from nmautils.analysis import stimulus_class
    >>> with refusing(stimulus_class, exercise="the example"):
    ...     stimulus_class([10.0], 2)
    Traceback (most recent call last):
    ...
    nmautils.checks.HelperRefused: the example must be solved without nmautils.analysis.stimulus_class(); write the code yourself.
    >>> stimulus_class([10.0], 2).tolist()
    [0]
    """
    swapped: list[tuple[types.FunctionType, types.CodeType]] = []
    try:
        for helper in helpers:
            func = _helper_function(helper)
            original = func.__code__
            message = (
                f"{exercise} must be solved without {func.__module__}.{func.__qualname__}(); "
                "write the code yourself."
            )
            stand_in = _refusing_code(func, message)
            # the helper, and every other function object running its code (copies of it)
            copies = [f for f in gc.get_referrers(original) if isinstance(f, types.FunctionType)]
            for f in [func, *(f for f in copies if f is not func)]:
                if f.__code__ is original:
                    f.__code__ = stand_in
                    swapped.append((f, original))
        yield
    finally:
        for f, original in reversed(swapped):
            f.__code__ = original
