"""The kernel side of a hidden test: it reports named values to the grader, never a verdict.

A hidden test (the region between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` of a
grade cell) builds its fixtures from :func:`fixture_seed`, calls the student's code and hands
each value it wants compared to :func:`expect`::

    torch.manual_seed(fixture_seed())
    _net = DeepNetReLU(7, 11)
    expect("output", _net(torch.randn(9, 7)), atol=1e-6, what="DeepNetReLU's output")

While grading, :class:`nmautils.course.guard.GuardedExecute` runs the same region twice: once in
a kernel holding the model answer (the reference, made once per grading run) and once in the
student's kernel. Each :func:`expect` publishes its value as plain data (JSON with base64 array
bytes) on the kernel's output channel; the grader decodes both sides with
:mod:`nmautils.course.verdicts` and compares them in its own process, with the tolerances the
*reference* kernel reported. Whatever the student's kernel does to itself, a test passes only
when it sends the values that the model answer computes on fixtures drawn for this run.

Outside grading (a solution notebook run by nbval, an instructor trying the source notebook)
:func:`expect` shows nothing and the seed is :data:`DEFAULT_SEED`.
"""

from __future__ import annotations

import base64
from typing import Any

#: MIME type of the display messages that carry expected values to the grader.
MIME = "application/vnd.nmautils.expect+json"
#: The fixture seed outside grading.
DEFAULT_SEED = 20_260
#: The deepest nesting of lists and dicts a value may have.
MAX_DEPTH = 6

_state: dict = {"seed": DEFAULT_SEED, "grading": False, "sink": None}


def configure(seed: int, grading: bool = True, sink: list | None = None) -> None:
    """Set the run's fixture seed and switch reporting on (called by the grader).

    ``sink``: a list that collects the records instead of the kernel's display channel (tests
    that run hidden tests in-process).
    """
    _state["seed"] = int(seed) % 2**31
    _state["grading"] = bool(grading)
    _state["sink"] = sink


def fixture_seed(offset: int = 0) -> int:
    """The seed for this grading run's fixtures (``offset`` gives a test several streams).

    Parameters
    ----------
    offset : int
        Added to the run's seed, so that two fixtures of one test differ.

    Returns
    -------
    int
        A seed in ``[0, 2**31)``; :data:`DEFAULT_SEED` + ``offset`` outside grading.
    """
    return (_state["seed"] + int(offset)) % 2**31


def _array(value: Any) -> dict:
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor, on any device
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == bool:
        kind, arr = "bool", arr.astype(np.bool_)
    elif np.issubdtype(arr.dtype, np.integer):
        kind, arr = "int", arr.astype("<i8")
    elif np.issubdtype(arr.dtype, np.floating):
        kind, arr = "float", arr.astype("<f8")
    else:
        raise TypeError(f"cannot report values of dtype {arr.dtype}")
    data = base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")
    return {"kind": kind, "shape": list(arr.shape), "data": data}


def encode(value: Any, depth: int = 0) -> dict:
    """``value`` as plain JSON data: numbers and arrays as base64 bytes, strings, None, lists
    and string-keyed dicts of these; anything else as its type name only.

    Examples
    --------
    >>> encode(2.5)["kind"], encode([True, "a"])["kind"], encode(None)
    ('float', 'list', {'kind': 'none'})
    """
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply to report")
    if value is None:
        return {"kind": "none"}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    if isinstance(value, dict):
        return {"kind": "dict", "items": {str(k): encode(v, depth + 1) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"kind": "list", "items": [encode(v, depth + 1) for v in value]}
    try:
        return _array(value)
    except (TypeError, ValueError):
        cls = type(value)
        return {"kind": "object", "type": f"{cls.__module__}.{cls.__qualname__}"}


def expect(name: str, value: Any, *, atol: float = 0.0, rtol: float = 0.0, what: str = "") -> None:
    """Report ``value`` under ``name`` for the grader to compare with the model answer's.

    Parameters
    ----------
    name : str
        Unique within the test cell.
    value : object
        A number, bool, string, None, array or tensor (any shape), or lists/dicts of these.
    atol, rtol : float
        Tolerances of the comparison (the grader uses the reference kernel's).
    what : str
        What the value is, in words a student understands; shown when the values differ.
    """
    if not _state["grading"]:
        return
    try:
        encoded = encode(value)
    except Exception as exc:  # noqa: BLE001 - a value that cannot be reported simply fails
        encoded = {"kind": "object", "type": f"unreportable ({type(exc).__name__})"}
    record = {"name": str(name), "value": encoded, "atol": float(atol), "rtol": float(rtol),
              "what": str(what)}
    if _state["sink"] is not None:
        _state["sink"].append(record)
        return
    from IPython.display import display

    display({MIME: record}, raw=True)
