"""The kernel a notebook was graded in, handed from the executor to the preprocessors after it.

:class:`~nmautils.course.guard.GuardedExecute` with ``hand_over_kernel`` leaves the kernel of a
notebook that ran to its end running, as a :class:`LiveKernel` in ``resources[LIVE_KERNEL]``;
the preprocessor that takes it (:class:`~nmautils.course.score_competition.ScoreCompetition`)
runs its own code there and closes it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async, run_sync

#: How the grader calls into :mod:`nmautils.course.kernel_guard` inside the kernel.
KERNEL_GUARD_CALL = "__import__('nmautils.course.kernel_guard', fromlist=['_']).{}"


async def shell_reply(kc, msg_id: str, timeout: float) -> dict | None:
    """The shell reply to ``msg_id`` on the kernel client ``kc``, or None when the kernel died
    or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = await kc.shell_channel.get_msg(timeout=1)
        except Exception:
            if not await kc.is_alive():
                return None
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg
    return None


#: Where :class:`GuardedExecute` hands on its kernel in ``resources`` (``hand_over_kernel``).
LIVE_KERNEL = "guarded_kernel"


class LiveKernel:
    """A kernel that ran a whole notebook under :class:`GuardedExecute`, handed on to the
    preprocessors after it; whoever takes it from ``resources`` closes it.

    Parameters
    ----------
    km : SandboxedKernelManager
        Its kernel manager.
    kc : AsyncKernelClient
        Its client, channels open.
    now : bool
        Shut it down at once rather than asking it to stop (nbclient's ``shutdown_kernel``).
    """

    def __init__(self, km: Any, kc: Any, now: bool = False):
        self.km, self.kc, self.now = km, kc, now

    @property
    def private_folder(self) -> Path | None:
        """The kernel's private host folder (``ipc/`` and ``etc/``; see
        :func:`nmautils.course.sandbox.prepare_private_dir`)."""
        folder = getattr(self.km, "_private", None)
        return None if folder is None else Path(folder)

    async def run(self, code: str, timeout: float, user_expressions: dict | None = None
                  ) -> dict | None:
        """Run ``code`` silently; the shell reply, or None when the kernel did not answer."""
        msg_id = self.kc.execute(code, silent=True, store_history=False,
                                 user_expressions=user_expressions or {})
        return await shell_reply(self.kc, msg_id, timeout)

    async def reset(self) -> None:
        """Restore the kernel's state as before a test cell
        (:func:`nmautils.course.kernel_guard.reset`)."""
        await self.run(KERNEL_GUARD_CALL.format("reset()"), timeout=30)

    async def _close(self) -> None:
        km, kc, self.km, self.kc = self.km, self.kc, None, None
        if km is None:
            return
        try:  # as nbclient shuts down the kernels it owns
            if await ensure_async(km.is_alive()):
                await ensure_async(km.shutdown_kernel(now=self.now))
        except RuntimeError as exc:
            if "No kernel is running!" not in str(exc):
                raise
        finally:
            await ensure_async(km.cleanup_resources())
            await ensure_async(kc.stop_channels())

    close = run_sync(_close)
