"""The decoding competition of assignment 3: +5 extra credit for the lowest held-out error.

Students define ``predict(resp)`` in their notebook (the cell ``written_extracredit_competition``).
The grader scores it on a held-out set that no student has: a *new recording session* of the
surrogate population (the same neurons, new trials) at tilts drawn uniformly from [-90, 90)
degrees, continuous, between :data:`MIN_ROWS` and :data:`MAX_ROWS` of them (:func:`heldout_set`).

The held-out set derives from a private seed only (:func:`heldout_set`)
-----------------------------------------------------------------------

There is no public default seed. The class grader draws one seed per class run in its parent
process (:func:`draw_seed`, 128 bits from :mod:`secrets`) unless the instructor gives one
(``--competition-seed``, at least :data:`MIN_SEED`: a smaller number could be found by a
search), so every student is scored on the same held-out set; plain ``nbgrader autograde`` draws
one per grading process (:func:`process_seed`). The seed never enters the kernel. It is recorded
for the instructor in each graded notebook's metadata (:data:`METADATA_KEY`) and in the class
run's ``competition.json``; everything else (report, CSV, feedback) carries only its
:func:`fingerprint`, and results made on different held-out sets are never ranked together.

A kernel can import this module and :mod:`nmautils.surrogate` and knows the neurons (the public
data files come from them), but not the tilts: they come from a stream of the private seed of
their own, and the rows (one per tilt, in the order drawn) hold responses only. Being continuous
and random, the tilts are no known grid whose order alone would give them away.

How a score is made, and why a submission cannot fake it
---------------------------------------------------------

1. :class:`nmautils.course.guard.GuardedExecute` runs the student's notebook as usual and hands
   its kernel on to :class:`nmautils.course.score_competition.ScoreCompetition`, which makes the
   held-out set **in the grader's process**, writes only the *responses* to a file in the
   kernel's private socket folder, resets the kernel's state
   (:func:`nmautils.course.kernel_guard.reset`) and runs :func:`kernel_code`, which calls
   ``predict`` once and hands back its numbers.
2. The grader computes the mean squared error itself (:func:`mse`) against tilts that never
   enter the kernel, and stores the result, signed with a key of this grading run
   (:func:`sign`), in the graded notebook's metadata (:data:`METADATA_KEY`).
3. The class grader (:mod:`nmautils.course.classgrade`) accepts only correctly signed results,
   ranks those made on its held-out set (:func:`winners`) and writes +5 as extra credit of the
   competition cell into the gradebook for everyone with the lowest error.

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
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Notebook metadata key under which ScoreCompetition stores the signed result.
METADATA_KEY = "nmautils_competition"
#: Bits of a seed the grader draws.
SEED_BITS = 128
#: Smallest seed an instructor may give (smaller ones could be found by a search).
MIN_SEED = 2**64
#: Fewest and most held-out stimuli (their number is drawn from the seed too).
MIN_ROWS, MAX_ROWS = 180, 240
#: Seconds ``predict`` may take.
DEFAULT_TIMEOUT = 60
#: Name of the kernel variable that holds the JSON answer of :func:`kernel_code`.
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


def draw_seed() -> int:
    """A fresh private seed: :data:`SEED_BITS` random bits (from :mod:`secrets`) below a 1."""
    # the leading 1 keeps every drawn seed above MIN_SEED, so it passes check_seed like a given one
    return 2**SEED_BITS + secrets.randbits(SEED_BITS)


_process_seed: list[int] = []


def process_seed() -> int:
    """The seed of this process: drawn (:func:`draw_seed`) on the first call, then the same.

    Plain ``nbgrader autograde`` grades one student after another in one process; they all get
    this seed, hence the same held-out set.
    """
    if not _process_seed:
        _process_seed.append(draw_seed())
    return _process_seed[0]


def check_seed(seed: object) -> int:
    """``seed`` when it is an int of at least :data:`MIN_SEED`.

    Raises
    ------
    TypeError
        If ``seed`` is not an int (bools are not).
    ValueError
        If it is below :data:`MIN_SEED`: a kernel could find it by trying numbers.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"the competition seed should be an int, but got {type(seed).__name__}")
    if int(seed) < MIN_SEED:
        raise ValueError(
            "the competition seed should be a private number of at least 2**64 (20 digits), "
            "a smaller one could be found by a search; leave it out to have one drawn, or use "
            "python -c 'import secrets; print(2**64 + secrets.randbits(128))'")
    return int(seed)


def fingerprint(seed: int) -> str:
    """A short hash of ``seed``: names its held-out set without revealing it."""
    text = f"nmautils-competition-seed:{check_seed(seed)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def heldout_set(size: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out responses and tilts: a new session of the surrogate population.

    Parameters
    ----------
    size : {"full", "small"}
        Surrogate size the students' notebooks ran on.
    seed : int
        The grader's private seed (:func:`check_seed`); the only source of the tilts, their
        number and the new trials.

    Returns
    -------
    resp : np.ndarray, float32, shape (n, n_neurons)
        Responses of the new session, one row per tilt; ``n`` is between :data:`MIN_ROWS` and
        :data:`MAX_ROWS`.
    tilts : np.ndarray, float64, shape (n,)
        The tilts (direction - 90 degrees), uniform in [-90, 90), in the order of the rows.
    """
    from ..surrogate import _session_at

    # separate streams: the trials' noise, which shapes the responses, says nothing of the tilts
    tilt_stream, trial_stream = np.random.SeedSequence(check_seed(seed)).spawn(2)
    rng = np.random.default_rng(tilt_stream)
    tilts = rng.uniform(-90.0, 90.0, int(rng.integers(MIN_ROWS, MAX_ROWS + 1)))
    trial_seed = int.from_bytes(trial_stream.generate_state(4, np.uint32).tobytes(), "little")
    return _session_at(size, tilts + 90.0, trial_seed), tilts


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
