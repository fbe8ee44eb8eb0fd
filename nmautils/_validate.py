"""Input validation shared by the public functions of nmautils (private module).

One vocabulary, modelled on scikit-learn's ``sklearn/utils/validation.py``, so that the same
mistake raises the same exception everywhere:

- :class:`TypeError` when an argument has the wrong *type* (a string where a number belongs, a
  list where a tensor is needed, a float where an int is needed; bools are never numbers);
- :class:`ValueError` when the type is right but the *value* is not (out of range, wrong shape,
  wrong number of rows, not one of the choices, an environment variable with an unknown value).

Every message names the argument, says what was expected and what came, in the form
``"<name> should <expectation>, but got <what came>."``, e.g.
``"stimuli should have shape (n_stimuli, 1), but got shape (360,)."``.

Converters: :func:`as_numpy` (tensors on any device, numpy arrays and array-likes to a numpy
array) and :func:`as_scalar` (a number, or a one-element array or tensor, to a float).
Checkers: :func:`check_type`, :func:`check_callable`, :func:`check_int`,
:func:`check_positive_int`, :func:`check_number`, :func:`check_choice`,
:func:`check_random_state`, :func:`check_ndim`, :func:`check_array`, :func:`column_or_1d`,
:func:`check_n_rows`, :func:`check_consistent_length` and :func:`shape_error` (the ValueError for
a shape rule of one's own).

Examples
--------
>>> import torch
>>> as_numpy(torch.ones(2, requires_grad=True), "x")
array([1., 1.], dtype=float32)
>>> check_positive_int(3, "n_iter")
3
>>> check_positive_int(2.0, "n_iter")
Traceback (most recent call last):
...
TypeError: n_iter should be a positive int, but got float.
>>> column_or_1d(np.zeros((3, 2)), "stimuli")
Traceback (most recent call last):
...
ValueError: stimuli should have shape (n,) or (n, 1), but got shape (3, 2).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "as_numpy",
    "as_scalar",
    "check_array",
    "check_callable",
    "check_choice",
    "check_consistent_length",
    "check_int",
    "check_n_rows",
    "check_ndim",
    "check_number",
    "check_positive_int",
    "check_random_state",
    "check_type",
    "column_or_1d",
    "shape_error",
]

#: What :func:`as_numpy` accepts, as its TypeError says it.
ARRAY_LIKE = "a torch.Tensor or numpy array (or a list of numbers)"


def _type_name(x: object) -> str:
    return type(x).__name__


def _shape(a: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in a.shape)


# --------------------------------------------------------------------------------------------
# converters
# --------------------------------------------------------------------------------------------


def as_numpy(x: Any, name: str, *, numeric: bool = False) -> np.ndarray:
    """``x`` as a numpy array.

    Accepts a ``torch.Tensor`` on any device (detached and copied to the CPU; bfloat16 and
    float16 become float32), a numpy array (returned as it is), a numpy scalar, a Python number,
    a list or tuple, and any object with ``__array__`` (e.g. a pandas Series).

    Parameters
    ----------
    x : array-like
        What to convert.
    name : str
        The argument's name, for the error messages.
    numeric : bool
        Also require numbers (numeric or bool dtype).

    Raises
    ------
    TypeError
        For anything else (a string, None, a dict, ...), or with ``numeric`` for an array of
        strings or objects.
    ValueError
        For a ragged list (rows of different lengths).

    Examples
    --------
    >>> as_numpy([[1, 2], [3, 4]], "W").shape
    (2, 2)
    >>> as_numpy("1 2", "W")
    Traceback (most recent call last):
    ...
    TypeError: W should be a torch.Tensor or numpy array (or a list of numbers), but got str.
    """
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        a = t.cpu().resolve_conj().resolve_neg().numpy()
    elif isinstance(x, np.ndarray):
        a = x
    elif isinstance(x, (list, tuple, numbers.Number, np.generic)) or hasattr(x, "__array__"):
        try:
            a = np.asarray(x)
        except ValueError as err:  # ragged nested lists
            raise ValueError(
                f"{name} should be a rectangular array (rows of equal length), but got a ragged "
                f"{_type_name(x)}."
            ) from err
    else:
        raise TypeError(f"{name} should be {ARRAY_LIKE}, but got {_type_name(x)}.")
    if numeric and not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise TypeError(f"{name} should hold numbers, but got dtype {a.dtype}.")
    return a


def as_scalar(x: Any, name: str, expected: str = "a number") -> float:
    """``x`` (a number, or a 0-d / one-element array or tensor) as a Python float.

    Raises
    ------
    TypeError
        For a bool, a string or anything else that is not a number.
    ValueError
        For an array or tensor with more than one element.

    Examples
    --------
    >>> as_scalar(torch.tensor([45.0]), "angle")
    45.0
    """
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} should be {expected}, but got a bool ({x!r}).")
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, (torch.Tensor, np.ndarray)):
        size = x.numel() if isinstance(x, torch.Tensor) else x.size
        if size != 1:
            raise ValueError(
                f"{name} should be {expected} (a scalar), but got an array of shape {_shape(x)}."
            )
        return float(as_numpy(x, name, numeric=True).reshape(()).item())
    raise TypeError(f"{name} should be {expected}, but got {_type_name(x)}.")


# --------------------------------------------------------------------------------------------
# types
# --------------------------------------------------------------------------------------------


def check_type(
    x: Any, name: str, types: type | tuple[type, ...], expected: str, *, allow_none: bool = False
) -> Any:
    """Return ``x`` if it is an instance of ``types`` (or None with ``allow_none``).

    Raises
    ------
    TypeError
        ``"<name> should be <expected>[ or None], but got <type>."``

    Examples
    --------
    >>> check_type(3, "claim", str, "a str")
    Traceback (most recent call last):
    ...
    TypeError: claim should be a str, but got int.
    """
    if x is None and allow_none:
        return x
    if not isinstance(x, types):
        also = " or None" if allow_none else ""
        raise TypeError(f"{name} should be {expected}{also}, but got {_type_name(x)}.")
    return x


def check_callable(x: Any, name: str) -> Any:
    """Return ``x`` if it can be called; TypeError otherwise."""
    if not callable(x):
        raise TypeError(f"{name} should be callable, but got {_type_name(x)}.")
    return x


# --------------------------------------------------------------------------------------------
# scalars
# --------------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _bounds_text(
    minimum: float | None, maximum: float | None, include_min: bool, include_max: bool
) -> str:
    """``"at least 2"``, ``"between 0 and 1 (exclusive)"``, ... for a ValueError."""
    if minimum is not None and maximum is not None:
        lo, hi = _fmt(minimum), _fmt(maximum)
        if include_min and include_max:
            return f"between {lo} and {hi}"
        if not include_min and not include_max:
            return f"between {lo} and {hi} (exclusive)"
        return f"in the interval {'[' if include_min else '('}{lo}, {hi}{']' if include_max else ')'}"
    if minimum is not None:
        return f"at least {_fmt(minimum)}" if include_min else f"greater than {_fmt(minimum)}"
    if maximum is not None:
        return f"at most {_fmt(maximum)}" if include_max else f"less than {_fmt(maximum)}"
    return "finite"


def _in_bounds(
    v: float, minimum: float | None, maximum: float | None, include_min: bool, include_max: bool
) -> bool:
    if minimum is not None and (v < minimum or (v == minimum and not include_min)):
        return False
    if maximum is not None and (v > maximum or (v == maximum and not include_max)):
        return False
    return True


def _check_scalar(
    value: Any,
    name: str,
    kinds: type | tuple[type, ...],
    kind: str,
    minimum: float | None,
    maximum: float | None,
    include_min: bool,
    include_max: bool,
    expected: str | None,
    or_none: bool = False,
) -> None:
    if expected is None and minimum == 0 and maximum is None:
        expected = f"a {'non-negative' if include_min else 'positive'} {kind}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
        article = "an" if kind[0] in "aeiou" else "a"
        wanted = (expected or f"{article} {kind}") + (" or None" if or_none else "")
        raise TypeError(f"{name} should be {wanted}, but got {_type_name(value)}.")
    finite = math.isfinite(value)
    if not finite or not _in_bounds(value, minimum, maximum, include_min, include_max):
        wanted = expected or (
            f"a finite {kind}" if not finite and minimum is None and maximum is None
            else _bounds_text(minimum, maximum, include_min, include_max)
        )
        raise ValueError(f"{name} should be {wanted}, but got {value!r}.")


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
    expected: str | None = None,
) -> int | None:
    """``value`` as an int when it is an integer (numpy integers too, bools never) in range.

    Parameters
    ----------
    minimum, maximum : int, optional
        Inclusive bounds.
    allow_none : bool
        Let None through (returned as None).
    expected : str, optional
        What the messages say is expected, e.g. ``"an int between 0 and 2**32 - 1"``; by
        default "an int" (TypeError) and the bounds (ValueError), or "a non-negative int".

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``2.0`` and ``True`` are not).
    ValueError
        If it is out of range.

    Examples
    --------
    >>> check_int(1, "out_channels", minimum=2)
    Traceback (most recent call last):
    ...
    ValueError: out_channels should be at least 2, but got 1.
    >>> check_int(1.5, "seed", allow_none=True)
    Traceback (most recent call last):
    ...
    TypeError: seed should be an int or None, but got float.
    """
    if value is None and allow_none:
        return None
    _check_scalar(
        value, name, numbers.Integral, "int", minimum, maximum, True, True, expected, allow_none
    )
    return int(value)


def check_positive_int(value: Any, name: str) -> int:
    """``value`` as an int when it is a positive integer (bools rejected); else a clear error.

    Examples
    --------
    >>> check_positive_int(0, "n_iter")
    Traceback (most recent call last):
    ...
    ValueError: n_iter should be a positive int, but got 0.
    """
    return check_int(value, name, minimum=1, expected="a positive int")


def check_number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
    expected: str | None = None,
) -> float:
    """``value`` as a float when it is a finite real number (not a bool) within the bounds.

    With ``minimum=0`` and no maximum the messages say "a positive number"
    (``include_min=False``) or "a non-negative number".

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a string, a tensor, a bool, None).
    ValueError
        If it is NaN, infinite or out of range.

    Examples
    --------
    >>> check_number(0, "learning_rate", minimum=0, include_min=False)
    Traceback (most recent call last):
    ...
    ValueError: learning_rate should be a positive number, but got 0.
    >>> check_number(1.0, "train_fraction", minimum=0, maximum=1, include_min=False,
    ...              include_max=False)
    Traceback (most recent call last):
    ...
    ValueError: train_fraction should be between 0 and 1 (exclusive), but got 1.0.
    """
    _check_scalar(
        value, name, numbers.Real, "number", minimum, maximum, include_min, include_max, expected
    )
    return float(value)


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``.

    Raises
    ------
    TypeError
        If every choice is a string and ``value`` is not.
    ValueError
        If it is not one of them.

    Examples
    --------
    >>> check_choice("head-direction", "cell_type", ("place", "grid"))
    Traceback (most recent call last):
    ...
    ValueError: cell_type should be one of ('place', 'grid'), but got 'head-direction'.
    """
    choices = tuple(choices)
    if all(isinstance(c, str) for c in choices) and not isinstance(value, str):
        raise TypeError(f"{name} should be one of {choices} (a str), but got {_type_name(value)}.")
    if value not in choices:
        raise ValueError(f"{name} should be one of {choices}, but got {value!r}.")
    return value


def check_random_state(rng: Any, name: str = "rng") -> np.random.Generator | np.random.RandomState:
    """A source of random numbers from None, an int seed or a ``np.random.Generator``.

    None gives numpy's global ``RandomState`` (seeded by ``np.random.seed``), an int a new
    ``np.random.default_rng(seed)``, a Generator itself (like scikit-learn's
    ``check_random_state``, but for the new generators).

    Raises
    ------
    TypeError
        For anything else.
    ValueError
        For a negative seed.
    """
    if rng is None:
        return np.random.mtrand._rand
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(check_int(rng, name, minimum=0))
    raise TypeError(
        f"{name} should be None, an int seed or a np.random.Generator, but got {_type_name(rng)}."
    )


# --------------------------------------------------------------------------------------------
# shapes (numpy arrays and torch tensors alike)
# --------------------------------------------------------------------------------------------


def shape_error(name: str, expected: str, a: Any) -> ValueError:
    """The ValueError ``"<name> should have shape <expected>, but got shape <shape>."``."""
    return ValueError(f"{name} should have shape {expected}, but got shape {_shape(a)}.")


def check_ndim(a: Any, name: str, ndim: int | tuple[int, ...], shape: str | None = None) -> Any:
    """Return ``a`` (array or tensor) if it has ``ndim`` dimensions (one of them, for a tuple).

    ``shape`` describes the expected shape in the message, e.g. ``"(n_stimuli, n_neurons)"``;
    without it the message says "a 2-D array".
    """
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if a.ndim not in allowed:
        if shape is not None:
            raise shape_error(name, shape, a)
        dims = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{name} should be a {dims} array, but got shape {_shape(a)}.")
    return a


def check_array(
    x: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: str | None = None,
    numeric: bool = True,
) -> np.ndarray:
    """:func:`as_numpy` (numbers only, by default) and :func:`check_ndim` in one call.

    Examples
    --------
    >>> check_array(np.zeros(3), "resp", ndim=2, shape="(n_stimuli, n_neurons)")
    Traceback (most recent call last):
    ...
    ValueError: resp should have shape (n_stimuli, n_neurons), but got shape (3,).
    """
    a = as_numpy(x, name, numeric=numeric)
    if ndim is not None:
        check_ndim(a, name, ndim, shape)
    return a


def column_or_1d(x: Any, name: str, *, n: int | None = None) -> np.ndarray:
    """A 1-D numpy array from shape ``(n,)`` or ``(n, 1)``, optionally of length ``n``.

    Examples
    --------
    >>> column_or_1d(torch.zeros(4, 1), "stimuli").shape
    (4,)
    >>> column_or_1d([1.0, 2.0], "test_losses", n=3)
    Traceback (most recent call last):
    ...
    ValueError: test_losses should have 3 entries, but got 2.
    """
    a = as_numpy(x, name, numeric=True)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise shape_error(name, "(n,) or (n, 1)", a)
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} should have {n} entries, but got {a.shape[0]}.")
    return a


def check_n_rows(a: Any, name: str, n: int, of: str) -> Any:
    """Return ``a`` if it has ``n`` rows: ``"<name> should have one row per <of> (<n>), ..."``."""
    if a.ndim < 1 or a.shape[0] != n:
        raise ValueError(f"{name} should have one row per {of} ({n}), but got shape {_shape(a)}.")
    return a


def check_consistent_length(
    a: Any, b: Any, names: tuple[str, str], *, axis: int = 0, unit: str = "rows"
) -> None:
    """ValueError unless ``a`` and ``b`` have the same size along ``axis``.

    Examples
    --------
    >>> check_consistent_length(np.zeros((3, 2)), np.zeros(4), ("X", "y"))
    Traceback (most recent call last):
    ...
    ValueError: X and y should have the same number of rows, but got 3 and 4.
    """
    if a.shape[axis] != b.shape[axis]:
        raise ValueError(
            f"{names[0]} and {names[1]} should have the same number of {unit}, but got "
            f"{a.shape[axis]} and {b.shape[axis]}."
        )
