"""nbgrader preprocessor that scores an assignment's competition in the graded kernel.

:func:`nmautils.course.guard.autograde_preprocessors` puts :class:`ScoreCompetition` right after
:class:`~nmautils.course.guard.GuardedExecute`, which hands on the kernel that ran the notebook
(``GuardedExecute.hand_over_kernel``, set in ``nbgrader_config.py``). For an assignment with a
competition (:data:`nmautils.course.competition.COMPETITIONS`) it makes the held-out set in the
grader's process, resets the kernel's state, calls the student's function on the responses only,
scores the predictions against tilts the kernel never sees and stores the signed result in the
notebook's metadata; :mod:`nmautils.course.competition` explains why a submission cannot fake it.
"""

from __future__ import annotations

import os
import secrets

import numpy as np
from jupyter_core.utils import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from . import competition
from .live_kernel import LIVE_KERNEL, LiveKernel


class ScoreCompetition(NbGraderPreprocessor):
    """Score the assignment's competition function on the held-out set, in the executor's kernel."""

    seed = Integer(None, allow_none=True,
                   help="Private seed of the competition's held-out set (at least 2**64); None: "
                   "one drawn for this process, the same for every notebook it grades. Recorded "
                   "in the graded notebook's metadata.").tag(config=True)
    key = Unicode("", help="Key that signs the competition result (set by the class grader for "
                  "each run; unsigned results are ignored).").tag(config=True)
    timeout = Integer(competition.DEFAULT_TIMEOUT,
                      help="Seconds the competition function may take.").tag(config=True)

    def __call__(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        # a result the student wrote into the notebook never survives grading, and the handed-on
        # kernel is closed, even with this preprocessor disabled
        nb.metadata.pop(competition.METADATA_KEY, None)
        try:
            return super().__call__(nb, resources)
        finally:
            kernel = resources.pop(LIVE_KERNEL, None)
            if kernel is not None:
                kernel.close()

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        assignment = (resources.get("nbgrader") or {}).get("assignment") or ""
        spec = competition.COMPETITIONS.get(assignment)
        if spec is not None:
            record = run_sync(self._score)(resources.get(LIVE_KERNEL), assignment, spec)
            record["signature"] = competition.sign(record, self.key)
            nb.metadata[competition.METADATA_KEY] = record
        return nb, resources

    async def _score(self, kernel: LiveKernel | None, assignment: str,
                     spec: competition.Competition) -> dict:
        """The (unsigned) result record of ``spec``'s function in ``kernel``."""
        seed = self.seed
        if seed is None:  # one per process: the students graded by it meet the same held-out set
            seed = competition.process_seed()
        # the seed stays in the metadata, which feedback does not show; reports use the fingerprint
        record: dict = {"assignment": assignment, "seed": str(seed), "fingerprint": "",
                        "status": "", "mse": None, "error": ""}
        path = None
        try:
            record["fingerprint"] = competition.fingerprint(seed)  # refuses guessable seeds
            size, why_not = competition.grading_data()
            if size is None:
                record.update(status="skipped", error=why_not)
                return record
            resp, tilts = competition.heldout_set(size, seed)
            record["n"] = len(tilts)
            folder = kernel.private_folder if kernel is not None else None
            if folder is None:
                record.update(status="skipped", error="no private kernel folder")
                return record
            path = folder / "ipc" / f"heldout-{secrets.token_hex(8)}.npy"
            np.save(path, resp)
            os.chmod(path, 0o644)
            await kernel.reset()
            reply = await kernel.run(competition.kernel_code(path, spec.function), self.timeout,
                                     user_expressions={"result": competition.RESULT_NAME})
            if reply is None:
                record.update(status="timeout", error=f"{spec.function} did not return within "
                              f"{self.timeout} s (or the kernel died)")
                return record
            value = reply.get("content", {}).get("user_expressions", {}).get("result", {})
            shown = value.get("data", {}).get("text/plain", "") if isinstance(value, dict) else ""
            answer = competition.parse_reply(shown)
            status = answer.get("status")
            if status != "ok":
                record.update(status=str(status)[:20] or "invalid",
                              error=str(answer.get("error", ""))[:300])
                return record
            error = competition.mse(answer.get("predictions"), tilts)
            if error is None:
                record.update(status="invalid", error=f"{spec.function} did not return one "
                              f"finite number per held-out stimulus ({len(tilts)})")
                return record
            record.update(status="ok", mse=error)
        except Exception as exc:  # noqa: BLE001 - the competition never costs a grade
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            if path is not None:
                try:
                    path.unlink()
                except OSError:
                    pass
        return record
