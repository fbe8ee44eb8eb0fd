"""A hardened nbgrader ``Execute`` preprocessor: one student's fault costs only its own cells.

nbgrader's ``Execute`` runs a submission in one kernel, top to bottom. Real submissions break
that in ways that cost points the student did not lose fairly, or the whole grade:

- a cell that kills the kernel (``os._exit``, a crash): nbclient raises ``DeadKernelError`` and
  nbgrader records *no* grade for the notebook;
- a loop that swallows ``KeyboardInterrupt``: the timeout's interrupt does not stop it, and every
  later cell times out behind it;
- a huge allocation: without a limit the kernel grows until the machine swaps or the OOM killer
  picks a process (maybe another student's grading worker);
- global state: an answer cell that rebinds ``np``/``torch``, monkeypatches a library or
  ``nmautils.checks`` helper, sets torch's default dtype or disables autograd breaks the *test*
  cells of every later exercise.

:class:`GuardedExecute` fixes these inside nbgrader (``nbgrader_config.py`` puts it in place of
``Execute`` in ``Autograde.autograde_preprocessors``, so plain ``nbgrader autograde`` gets it too):

- the kernel gets an address-space limit (``memory_limit_gb``), so a huge allocation raises
  ``MemoryError`` in that cell only;
- before every grade (test) cell the kernel state is reset: module attributes of numpy, torch,
  ``nmautils`` (and a few more) restored to their values at kernel start, names that the
  instructor's cells bound to modules or library objects (``np``, ``nn``, ...) rebound, torch's
  default dtype, autograd switch, warning filters, numpy error settings and all seeds reset;
- when the kernel dies or stops answering, the cell gets an error output saying so, a fresh kernel
  is started, the cells above are replayed (outputs kept, test cells and failed cells skipped)
  and grading continues with the next cell. The exercise at fault loses its points; the others
  keep theirs.

Every message this adds to a cell starts with :data:`MARK` so that the grading reports find it.
"""

from __future__ import annotations

import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer

from .notebooks import cell_kind

#: Prefix of every error value written by the guard (searched for by reports).
MARK = "[grader]"

#: Modules whose attributes are snapshot at kernel start and restored before each test cell.
GUARDED_MODULES = (
    "numpy", "numpy.random", "numpy.linalg", "math", "random",
    "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.linalg",
    "nmautils", "nmautils.checks",
)

#: Library prefixes: names bound to objects from these packages are restored like modules.
LIBRARY_PREFIXES = ("numpy", "torch", "nmautils", "matplotlib", "scipy", "sklearn", "math", "random")

_INSTALL = r'''
def __nmautils_guard_install(limit_bytes, modules, prefixes):
    import importlib, sys, types, warnings
    if limit_bytes:
        try:
            import resource
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            new = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
            resource.setrlimit(resource.RLIMIT_AS, (new, hard))
        except Exception:
            pass
    g = types.SimpleNamespace(snapshots=[], names={}, warnings=list(warnings.filters))
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        g.snapshots.append((mod, {k: v for k, v in vars(mod).items() if not k.startswith("__")}))
    try:
        import numpy
        g.seterr = numpy.geterr()
    except Exception:
        g.seterr = None
    ip = get_ipython()

    def is_library(value):
        if isinstance(value, types.ModuleType):
            return True
        mod = getattr(value, "__module__", None)
        return (isinstance(mod, str) and mod.split(".")[0] in prefixes
                and (callable(value) or isinstance(value, type)))

    def record():
        for key, value in list(ip.user_ns.items()):
            if key.startswith("_") or key in g.names:
                continue
            try:
                if is_library(value):
                    g.names[key] = value
            except Exception:
                pass

    def reset(seeds=True):
        missing = object()
        for mod, snap in g.snapshots:
            d = vars(mod)
            for key, value in snap.items():
                if d.get(key, missing) is not value:
                    try:
                        setattr(mod, key, value)
                    except Exception:
                        pass
        for key, value in g.names.items():
            if ip.user_ns.get(key, missing) is not value:
                ip.user_ns[key] = value
        warnings.filters[:] = g.warnings
        import random
        if seeds:
            random.seed(0)
        if "numpy" in sys.modules:
            import numpy
            if seeds:
                numpy.random.seed(0)
            if g.seterr is not None:
                numpy.seterr(**g.seterr)
        if "torch" in sys.modules:
            import torch
            torch.set_default_dtype(torch.float32)
            torch.set_grad_enabled(True)
            if seeds:
                torch.manual_seed(0)

    g.record, g.reset = record, reset
    sys.modules["__nmautils_grading_guard__"] = g

__nmautils_guard_install({limit}, {modules!r}, {prefixes!r})
del __nmautils_guard_install
'''

_CALL = "__import__('sys').modules['__nmautils_grading_guard__'].{}"


#: How the guard treats each nbgrader role: code a student wrote, tests, or fixed cells.
_GUARD_KIND = {"answer": "answer", "written": "answer", "test": "test", "task": "readonly",
               "readonly": "readonly", None: "other"}


def _kind(cell: NotebookNode) -> str:
    return _GUARD_KIND[cell_kind(cell)]


def error_output(ename: str, message: str) -> NotebookNode:
    """An ``error`` output whose value starts with :data:`MARK`."""
    return NotebookNode(output_type="error", ename=ename, evalue=f"{MARK} {message}",
                        traceback=[f"{ename}: {MARK} {message}"])


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` with a memory limit, per-test-cell state reset and kernel recovery."""

    memory_limit_gb = Float(8.0, help="Address-space limit of the kernel in GiB (0: none).").tag(config=True)
    reset_before_tests = Bool(True, help="Reset global state before every grade cell.").tag(config=True)
    max_kernel_restarts = Integer(4, help="Give up on the notebook after this many restarts.").tag(config=True)
    probe_timeout = Integer(10, help="Seconds a kernel may take to answer after a timeout.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._guard_ready = False
        self._restarts = 0
        self._skip_replay: set[int] = set()
        return super().preprocess(nb, resources, km=km)

    # -- kernel-side helpers ---------------------------------------------------------------
    async def _silent(self, code: str, timeout: float) -> dict | None:
        """Run ``code`` silently; return the reply, or None when the kernel did not answer."""
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        return await self._reply(msg_id, timeout)

    async def _reply(self, msg_id: str, timeout: float) -> dict | None:
        """The shell reply to ``msg_id``, or None when the kernel died or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=1)
            except Exception:
                if not await self.kc.is_alive():
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    async def _install_guard(self) -> None:
        limit = int(self.memory_limit_gb * 2**30) if self.memory_limit_gb else 0
        code = _INSTALL.replace("{limit}", str(limit)).replace(
            "{modules!r}", repr(GUARDED_MODULES)).replace("{prefixes!r}", repr(LIBRARY_PREFIXES))
        await self._silent(code, timeout=max(60, self.probe_timeout))
        self._guard_ready = True

    async def _restart(self) -> None:
        """Replace the dead or stuck kernel by a fresh one (same kernel manager settings)."""
        self._restarts += 1
        try:
            self.kc.stop_channels()
        except Exception:
            pass
        # restart_kernel keeps the manager's zmq context and launch arguments (cwd, extra args)
        await self.km.restart_kernel(now=True)
        await self.async_start_new_kernel_client()
        self._guard_ready = False

    async def _replay(self, upto: int) -> None:
        """Re-run cells ``0..upto-1`` (outputs untouched) to rebuild the kernel's state."""
        await self._install_guard()
        for index, cell in enumerate(self.nb.cells[:upto]):
            if cell.cell_type != "code" or not cell.source.strip() or index in self._skip_replay:
                continue
            kind = _kind(cell)
            if kind == "test":
                continue
            timeout = self._get_timeout(cell) or 600
            reply = await self._silent_visible(cell.source, timeout)
            if reply is None:  # stuck again: give up replaying this cell
                self._skip_replay.add(index)
                raise DeadKernelError("kernel stopped answering while replaying")
            if kind != "answer":
                await self._silent(_CALL.format("record()"), timeout=30)

    async def _silent_visible(self, code: str, timeout: float) -> dict | None:
        # Not silent in IPython's sense (hooks run), but nobody collects the outputs.
        msg_id = self.kc.execute(code, store_history=False)
        return await self._reply(msg_id, timeout)

    def _culprit(self, cell: NotebookNode) -> int | None:
        """Index of the answer cell ``ex_<name>`` tested by the test cell ``test_<name>[__x]``."""
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if _kind(cell) != "test" or not gid.startswith("test_"):
            return None
        wanted = "ex_" + gid[len("test_"):].split("__")[0]
        for index, other in enumerate(self.nb.cells):
            if other.get("metadata", {}).get("nbgrader", {}).get("grade_id") == wanted:
                return index
        return None

    async def _recover(self, cell: NotebookNode, cell_index: int, reason: str,
                       ename: str = "DeadKernelError") -> None:
        cell.outputs.append(error_output(ename, reason))
        self._skip_replay.add(cell_index)
        culprit = self._culprit(cell)
        if culprit is not None:  # its functions stay undefined: later callers fail fast
            self._skip_replay.add(culprit)
        self.log.warning("Cell %d: %s", cell_index, reason)
        while True:
            if self._restarts >= self.max_kernel_restarts:
                raise DeadKernelError(
                    f"{MARK} gave up after {self._restarts} kernel restarts (last: {reason})")
            await self._restart()
            try:
                await self._replay(cell_index)
                return
            except DeadKernelError:
                continue

    # -- the cell loop ---------------------------------------------------------------------
    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if not self._guard_ready:
            await self._install_guard()
        kind = _kind(cell)
        if kind == "test" and self.reset_before_tests:
            await self._silent(_CALL.format("reset()"), timeout=30)
        elif kind == "answer" and self.reset_before_tests:  # names and modules, not the seeds
            await self._silent(_CALL.format("reset(seeds=False)"), timeout=30)
        try:
            result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError:  # the interrupt did not stop the cell: its output never ended
            await self._recover(
                cell, cell_index,
                f"This cell ran longer than {self._get_timeout(cell)} s and did not stop when "
                "interrupted (an endless loop that ignores interrupts?). The grader restarted the "
                "kernel and re-ran the cells above; this cell scores 0.", ename="CellTimeoutError")
            return cell
        except DeadKernelError:
            await self._recover(
                cell, cell_index,
                "The kernel died while running this cell (os._exit, a crash, or out of memory). "
                "The grader restarted it and re-ran the cells above; this cell scores 0.")
            return cell
        timed_out = any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
                        for o in cell.outputs)
        if timed_out:
            self._skip_replay.add(cell_index)
            cell.outputs.append(error_output(
                "CellTimeoutError", f"This cell ran longer than {self._get_timeout(cell)} s and "
                "was interrupted; it scores 0."))
            if await self._silent("pass", timeout=self.probe_timeout) is None:
                await self._recover(
                    cell, cell_index,
                    "The kernel did not stop after the time limit (an endless loop that ignores "
                    "interrupts?). The grader restarted it and re-ran the cells above.",
                    ename="CellTimeoutError")
                return cell
        if kind in ("readonly", "other"):
            await self._silent(_CALL.format("record()"), timeout=30)
        return result

    # nbclient binds the synchronous wrapper to its own coroutine: rebind it to ours.
    execute_cell = run_sync(async_execute_cell)


def autograde_preprocessors() -> list:
    """nbgrader's default autograde preprocessors with ``Execute`` replaced by :class:`GuardedExecute`."""
    from nbgrader.converters.autograde import Autograde

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    return [GuardedExecute if p is Execute else p for p in default]
