"""The grader side of hidden tests: decode reported values and judge them in the grader's process.

:mod:`nmautils.course.hidden` makes a kernel publish each value a hidden test expects as plain
data. This module reads those records out of a cell's outputs (:func:`collect`), decodes them
without executing anything (:func:`decode`: JSON, base64 bytes of three whitelisted dtypes,
bounded sizes) and compares the student's values with the reference values that the model
answer produced on the same fixtures (:func:`judge`), using the reference's tolerances.

Reference values are computed once per grading run and kept in :data:`REFERENCES`, keyed by
the source notebook's content, the run's fixture seed and the variables that decide what the
notebooks compute (:func:`reference_key`). With ``NMAUTILS_REFERENCE_STORE`` set, they are also
kept in that folder for other grading processes (:func:`references_for`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .. import settings
from .hidden import MAX_DEPTH, MIME

#: The most array elements one test cell may report (both sides).
MAX_ELEMENTS = 2_000_000
#: Reference values made in this process: ``{reference_key: {grade id: {name: record}}}``.
REFERENCES: dict[str, dict[str, dict[str, dict]]] = {}
#: Environment variables that decide what the notebooks compute: a grading run's workers grade
#: under the grader's values, and the reference values are keyed by them.
GRADING_VARIABLES = ("NMAUTILS_DATA", "NMAUTILS_SURROGATE_SIZE", "NMAUTILS_DEVICE",
                     "PYTHONHASHSEED")
#: A folder where grading processes share the reference values they compute (unset: none). It
#: must be out of every sandbox's view; the test suite sets it, with a fixed fixture seed, so that
#: its many grading processes run each model answer once.
STORE_VARIABLE = "NMAUTILS_REFERENCE_STORE"  # defined in nmautils.settings

_DTYPES = {"float": "<f8", "int": "<i8", "bool": "|b1"}


class InvalidRecord(ValueError):
    """A reported value that is not well-formed plain data."""


@dataclass
class Collected:
    """The records of one hidden-test run: ``values`` by name, and what was wrong."""

    values: dict[str, object]
    problems: list[str]


def _grading_value(name: str) -> str | None:
    """A variable of :data:`GRADING_VARIABLES` as it decides what a notebook computes: an
    nmautils variable's validated value (:func:`nmautils.settings.get`), else its text."""
    if name in settings.VARIABLES:
        return str(settings.get(name))
    return os.environ.get(name)


def reference_key(source_text: str, seed: int) -> str:
    """Key of :data:`REFERENCES` for a source notebook's text and a fixture seed, under this
    process's :data:`GRADING_VARIABLES`."""
    environment = json.dumps([_grading_value(name) for name in GRADING_VARIABLES])
    digest = hashlib.sha256(f"{source_text}\0{environment}".encode()).hexdigest()[:24]
    return f"{digest}-{int(seed)}"


def references_for(source_text: str, seed: int,
                   compute: Callable[[], dict[str, dict[str, dict]]]) -> dict[str, dict[str, dict]]:
    """The reference values of a source notebook on ``seed``: from this process's
    :data:`REFERENCES`, else from the folder named by ``NMAUTILS_REFERENCE_STORE``, else
    ``compute()`` (then kept in both)."""
    key = reference_key(source_text, seed)
    if key not in REFERENCES:
        folder = settings.get(STORE_VARIABLE)
        path = folder / f"{key}.json" if folder is not None else None
        if path is not None and path.is_file():
            REFERENCES[key] = json.loads(path.read_text())
        else:
            REFERENCES[key] = compute()
            if path is not None:  # written whole, then renamed: a reader never sees half a file
                path.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as fh:
                    json.dump(REFERENCES[key], fh)
                os.replace(fh.name, path)
    return REFERENCES[key]


def decode(data: object, budget: list[int] | None = None, depth: int = 0) -> object:
    """The value a record describes: ``np.ndarray`` (float64, int64 or bool), str, None, list,
    dict, or ``("object", type name)``.

    Raises
    ------
    InvalidRecord
        For anything that is not exactly the format :func:`nmautils.course.hidden.encode` writes.
    """
    budget = budget if budget is not None else [MAX_ELEMENTS]
    if depth > MAX_DEPTH + 1 or not isinstance(data, dict):
        raise InvalidRecord("malformed value")
    kind = data.get("kind")
    if kind == "none":
        return None
    if kind == "str":
        value = data.get("value")
        if not isinstance(value, str) or len(value) > 10_000:
            raise InvalidRecord("malformed string")
        return value
    if kind == "object":
        return ("object", str(data.get("type", ""))[:200])
    if kind == "list":
        items = data.get("items")
        if not isinstance(items, list) or len(items) > 100_000:
            raise InvalidRecord("malformed list")
        return [decode(v, budget, depth + 1) for v in items]
    if kind == "dict":
        items = data.get("items")
        if not isinstance(items, dict) or len(items) > 10_000:
            raise InvalidRecord("malformed dict")
        return {str(k): decode(v, budget, depth + 1) for k, v in items.items()}
    if kind in _DTYPES:
        shape = data.get("shape")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape)):
            raise InvalidRecord("malformed shape")
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        budget[0] -= size
        if size > MAX_ELEMENTS or budget[0] < 0:
            raise InvalidRecord("value too large")
        raw = data.get("data")
        if not isinstance(raw, str):
            raise InvalidRecord("malformed array data")
        try:
            buffer = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRecord("malformed array data") from exc
        dtype = np.dtype(_DTYPES[kind])
        if len(buffer) != size * dtype.itemsize:
            raise InvalidRecord("array data does not match its shape")
        return np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()
    raise InvalidRecord("unknown kind of value")


def records(outputs: Iterable[Mapping]) -> list[dict]:
    """The raw expect records among a cell's outputs (display data of :data:`MIME`)."""
    found = []
    for output in outputs:
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        record = (output.get("data") or {}).get(MIME)
        if record is not None:
            found.append(record)
    return found


def collect(outputs: Iterable[Mapping]) -> Collected:
    """Decode the records of one hidden-test run. A name reported twice, or a malformed record,
    is a problem (the test then fails): nothing a kernel sends can add a value it did not
    compute."""
    values: dict[str, object] = {}
    problems: list[str] = []
    budget = [MAX_ELEMENTS]
    for record in records(outputs):
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            problems.append("a malformed report")
            continue
        name = record["name"][:100]
        if name in values:
            problems.append(f"the value '{name}' was reported twice")
            continue
        try:
            values[name] = decode(record.get("value"), budget)
        except InvalidRecord as exc:
            problems.append(f"the value '{name}' could not be read ({exc})")
    return Collected(values, problems)


def reference_records(outputs: Iterable[Mapping]) -> dict[str, dict]:
    """The records of a hidden-test run in the reference kernel, by name (trusted: the model
    answer's kernel), keeping their tolerances and descriptions.

    Raises
    ------
    InvalidRecord
        When the reference reports a name twice or a value it cannot decode.
    """
    found: dict[str, dict] = {}
    for record in records(outputs):
        name = record["name"]
        if name in found:
            raise InvalidRecord(f"the reference reported '{name}' twice")
        decode(record["value"])
        found[name] = {"value": record["value"], "atol": float(record.get("atol", 0.0)),
                       "rtol": float(record.get("rtol", 0.0)), "what": str(record.get("what", ""))}
    return found


def _same(expected: object, got: object, atol: float, rtol: float) -> bool:
    if isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray) or got.shape != expected.shape:
            return False
        if (expected.dtype == np.bool_) != (got.dtype == np.bool_):
            return False
        if expected.dtype == np.bool_:
            return bool(np.array_equal(expected, got))
        return bool(np.allclose(got.astype(np.float64), expected.astype(np.float64),
                                atol=atol, rtol=rtol, equal_nan=True))
    if isinstance(expected, list):
        return (isinstance(got, list) and len(got) == len(expected)
                and all(_same(e, g, atol, rtol) for e, g in zip(expected, got)))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and got.keys() == expected.keys()
                and all(_same(expected[k], got[k], atol, rtol) for k in expected))
    return type(got) is type(expected) and got == expected


def _describe(name: str, record: Mapping) -> str:
    return record.get("what") or name


def judge(expected: Mapping[str, Mapping], got: Collected) -> list[str]:
    """Why the student's values fail the test (empty: they pass).

    Parameters
    ----------
    expected : mapping
        The reference records of one test cell, by name (:func:`reference_records`).
    got : Collected
        What the student's kernel reported for the same cell.
    """
    if not expected:
        return ["the grader has no reference values for this test"]
    problems = list(got.problems)
    for name, record in expected.items():
        if name not in got.values:
            problems.append(f"{_describe(name, record)}: not computed (the code stopped with an "
                            "error before it, or did not run)")
            continue
        reference = decode(record["value"])
        if not _same(reference, got.values[name], record["atol"], record["rtol"]):
            problems.append(f"{_describe(name, record)}: differs from the expected value")
    return problems
