"""The decoding competition of assignment 3: +5 extra credit for the lowest held-out error.

Students define ``predict(resp)`` in their notebook (the cell ``written_extracredit_competition``).
The grader scores it on a held-out set that no student has: a *new recording session* of the
surrogate population (:func:`nmautils.surrogate.make_new_session`: the same neurons, new trials),
at the assignment's tilts (-90..90 degrees), its rows shuffled, all drawn from the grader's seed
(``--competition-seed``; a fixed default, which instructors should replace by a private number:
the default is in this public file).

How a score is made, and why a submission cannot fake it
---------------------------------------------------------

1. :class:`nmautils.course.guard.GuardedExecute` runs the student's notebook as usual. After the
   last cell it makes the held-out set **in the grader's process**, writes only the *responses*
   to a file in the kernel's private socket folder, resets the kernel's state
   (:func:`nmautils.course.kernel_guard.reset`) and runs :data:`KERNEL_CODE`, which calls
   ``predict`` once and hands back its numbers.
2. The grader computes the mean squared error itself (:func:`mse`) against tilts that never
   enter the kernel, and stores the result, signed with a key of this grading run
   (:func:`sign`), in the graded notebook's metadata (:data:`METADATA_KEY`).
3. The class grader (:mod:`nmautils.course.classgrade`) accepts only correctly signed results,
   ranks them (:func:`winners`) and writes +5 as extra credit of the competition cell into the
   gradebook for everyone with the lowest error.

Whatever student code does inside its kernel - printing a score, redefining ``print``, the MSE
function or builtins, patching numpy, faking the value handed back - it can only change which
*predictions* the grader receives, and those are scored against labels it never sees. Metadata
a student writes into the notebook is replaced, and unsigned or wrongly signed results are ignored.

The competition needs the grading kernels to run on the surrogate (``NMAUTILS_DATA=surrogate``,
or offline without the real files in the cache): a held-out session of the *real* recording does
not exist, and rows of the public real files could be looked up. With the real data the
competition is skipped and the report says so.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Notebook metadata key under which GuardedExecute stores the signed result.
METADATA_KEY = "nmautils_competition"
#: Seed of the held-out session when the instructor gives none.
DEFAULT_SEED = 20260613
#: Seconds ``predict`` may take.
DEFAULT_TIMEOUT = 60
#: Name of the kernel variable that holds the JSON answer of :data:`KERNEL_CODE`.
RESULT_NAME = "__grader_competition__"


@dataclass(frozen=True)
class Competition:
    """One assignment's competition."""

    function: str  # the name students define
    cell: str  # grade id of the (0-point, manual) cell that receives the extra credit
    bonus: float


#: Assignments with a competition.
COMPETITIONS = {
    "assignment3_interpret": Competition("predict", "written_extracredit_competition", 5.0),
}


def grading_data() -> tuple[str | None, str]:
    """(surrogate size, "") when the grading kernels use the surrogate, else (None, why not).

    Decided like :mod:`nmautils.data` decides inside the sandbox, which has no network: the
    surrogate when ``NMAUTILS_DATA=surrogate``, or in ``auto`` mode when the real file is not
    in the data cache.
    """
    from .. import data, surrogate

    mode = data.data_mode()
    cached = (data.default_cache_dir() / data.DEFAULT_FILE).is_file()
    if mode == "real" or (mode == "auto" and cached):
        return None, ("the grading kernels use the real data, which has no held-out session "
                      "(set NMAUTILS_DATA=surrogate for the class run to hold the competition)")
    return surrogate.default_size(), ""


def heldout_set(size: str, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The held-out responses and tilts: a new session of the surrogate population.

    Parameters
    ----------
    size : {"full", "small"}
        Surrogate size the students' notebooks ran on.
    seed : int
        The grader's seed (new trials and the order of the rows).

    Returns
    -------
    resp : np.ndarray, float32, shape (181, n_neurons)
        Responses to directions 0..180 degrees of the new session, rows shuffled.
    tilts : np.ndarray, float64, shape (181,)
        Their tilts (direction - 90), in the same shuffled order.
    """
    from ..surrogate import make_new_session

    session = make_new_session(size, trial_seed=int(seed))
    keep = session["stimuli"] <= 180
    resp, tilts = session["resp"][keep], session["stimuli"][keep] - 90.0
    order = np.random.default_rng([int(seed), 1]).permutation(len(tilts))
    return np.ascontiguousarray(resp[order]), tilts[order]


def kernel_code(path: str | Path, function: str) -> str:
    """The code run in the student's kernel: call ``function`` on the responses saved at
    ``path`` and put the predictions, as JSON text, into :data:`RESULT_NAME`."""
    return f'''
def __grader_competition_run(path={str(path)!r}, name={function!r}):
    import json
    import numpy
    import torch
    fn = get_ipython().user_ns.get(name)
    if not callable(fn):
        return json.dumps({{"status": "absent"}})
    resp = torch.from_numpy(numpy.load(path))
    try:
        out = fn(resp.clone())
        if isinstance(out, torch.Tensor):
            out = out.detach().cpu().double().numpy()
        values = numpy.asarray(out, dtype=numpy.float64).reshape(-1).tolist()
    except BaseException as exc:  # noqa: BLE001 - anything the student's code raises
        return json.dumps({{"status": "error", "error": f"{{type(exc).__name__}}: {{exc}}"[:300]}})
    return json.dumps({{"status": "ok", "predictions": values}})


{RESULT_NAME} = __grader_competition_run()
del __grader_competition_run
'''


def parse_reply(shown: str) -> dict:
    """The kernel's answer (``text/plain`` of :data:`RESULT_NAME`) as a dict; any garbage gives
    ``{"status": "invalid"}``."""
    try:
        text = ast.literal_eval(shown)
        answer = json.loads(text)
        return answer if isinstance(answer, dict) else {"status": "invalid"}
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return {"status": "invalid"}


def mse(predictions: object, tilts: np.ndarray) -> float | None:
    """Mean squared error of ``predictions`` (a list of numbers, one per held-out stimulus);
    None when they are not exactly that (wrong length, not numbers, not finite)."""
    if not isinstance(predictions, list) or len(predictions) != len(tilts):
        return None
    if not all(type(v) in (int, float) and math.isfinite(v) for v in predictions):
        return None
    diff = np.asarray(predictions, dtype=np.float64) - np.asarray(tilts, dtype=np.float64)
    return float(np.mean(diff**2))


def sign(record: dict, key: str) -> str:
    """HMAC-SHA256 of ``record`` (without its signature) under the grading run's ``key``."""
    body = json.dumps({k: v for k, v in record.items() if k != "signature"}, sort_keys=True)
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()


def verified(record: object, key: str) -> dict | None:
    """``record`` when it is a dict correctly signed under ``key``, else None."""
    if not key or not isinstance(record, dict) or not isinstance(record.get("signature"), str):
        return None
    return record if hmac.compare_digest(record["signature"], sign(record, key)) else None


def winners(errors: dict[str, float | None], rel_tol: float = 1e-9) -> list[str]:
    """Students whose error is the lowest (all of them on a tie); [] when nobody has one."""
    valid = {s: e for s, e in errors.items() if e is not None and math.isfinite(e)}
    if not valid:
        return []
    best = min(valid.values())
    return sorted(s for s, e in valid.items()
                  if math.isclose(e, best, rel_tol=rel_tol, abs_tol=1e-12))
