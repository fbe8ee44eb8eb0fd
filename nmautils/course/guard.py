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
- read-only cells tagged ``demo`` that no graded code needs are not run at all
  (:mod:`nmautils.course.slicing`): a demonstration cannot cost time, or a kernel, while grading;
- when the kernel dies or stops answering, the cell gets an error output saying so, a fresh kernel
  is started, the cells above are replayed (outputs kept, test cells and failed cells skipped)
  and grading continues with the next cell. The exercise at fault loses its points; the others
  keep theirs.

Every message this adds to a cell starts with :data:`MARK` so that the grading reports find it.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer
from traitlets.config import Config

from .. import settings
from ..settings import GRADING_LIMITS
from . import slicing, verdicts
from .live_kernel import KERNEL_GUARD_CALL, LIVE_KERNEL, LiveKernel, shell_reply
from .notebooks import cell_kind, drop_regions, regions
from .sandbox import DEFAULT_LIMITS, SandboxedKernelManager, check_available
from .score_competition import ScoreCompetition

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

#: How the grader sets the fixture seed and switches on reporting inside a kernel.
_CONFIGURE = "__import__('nmautils.course.hidden', fromlist=['_']).configure({}, True)"


#: Seconds a cell of the model answer may take while the reference values are computed.
REFERENCE_CELL_TIMEOUT = GRADING_LIMITS.reference_cell_timeout


class GradingRefused(RuntimeError):
    """Grading cannot judge this notebook safely (no source notebook, no reference values)."""


class ReferenceFailed(RuntimeError):
    """The model answer does not pass its own hidden test: the source notebook is broken."""


_RUN_SEED: list[int] = []


#: Names a fixed fixture seed for every grading run (unset: each run draws its own). Only for
#: a test suite that shares reference values between processes (``NMAUTILS_REFERENCE_STORE``).
FIXTURE_SEED_VARIABLE = "NMAUTILS_FIXTURE_SEED"  # defined in nmautils.settings


def draw_fixture_seed() -> int:
    """A new grading run's fixture seed: ``NMAUTILS_FIXTURE_SEED`` when set, else drawn."""
    fixed = settings.get(FIXTURE_SEED_VARIABLE)
    return fixed if fixed is not None else secrets.randbelow(2**31)


def run_fixture_seed() -> int:
    """This process's fixture seed, drawn once (a grading run in one process shares it)."""
    if not _RUN_SEED:
        _RUN_SEED.append(draw_fixture_seed())
    return _RUN_SEED[0]


def split_hidden(source: str) -> tuple[str, str]:
    """``(visible, hidden)``: a test cell without its hidden-test regions, and their bodies."""
    bodies = [r.body(source) for r in regions(source) if r.kind == "hidden tests"]
    return drop_regions(source, ("hidden tests",)), "\n".join(bodies)


def _output_bytes(msg: dict) -> int:
    """The size of a message's content (metadata included) and binary buffers."""
    try:
        size = len(json.dumps(msg.get("content") or {}, default=str))
    except (TypeError, ValueError):
        size = len(str(msg.get("content")))
    return size + sum(len(b) for b in msg.get("buffers") or [] if hasattr(b, "__len__"))


#: Where the grader lists, in a cell's metadata, the messages it wrote itself (the feedback shows
#: those, never what a kernel that has run hidden code said: :mod:`nmautils.course.feedback`).
NOTES_KEY = "nmautils_grader"


def grader_note(cell: NotebookNode, ename: str, message: str) -> None:
    """Append the grader's error output to ``cell`` and list it in the cell's metadata."""
    output = error_output(ename, message)
    cell.outputs.append(output)
    notes = cell.setdefault("metadata", NotebookNode()).setdefault(NOTES_KEY, [])
    notes.append({"ename": ename, "evalue": output.evalue})


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

    memory_limit_gb = Float(DEFAULT_LIMITS.memory_gb, help="Memory of the sandbox and "
                            "address space of each of its processes, GiB (0: none).").tag(config=True)
    reset_before_tests = Bool(True, help="Reset global state before every grade cell.").tag(config=True)
    max_kernel_restarts = Integer(4, help="Give up on the notebook after this many restarts.").tag(config=True)
    probe_timeout = Integer(10, help="Seconds a kernel may take to answer after a timeout.").tag(config=True)
    sandbox = Bool(True, help="Run the kernel in a bubblewrap sandbox (nmautils.course.sandbox); "
                   "when none can be made, refuse to grade unless this is False.").tag(config=True)
    sandbox_processes = Integer(DEFAULT_LIMITS.processes,
                                help="Process/thread limit inside the sandbox.").tag(config=True)
    sandbox_file_size_mb = Integer(DEFAULT_LIMITS.file_size_mb,
                                   help="Largest file the kernel may write (MiB).").tag(config=True)
    sandbox_cpu_seconds = Integer(DEFAULT_LIMITS.cpu_seconds,
                                  help="CPU-time limit of the kernel (s).").tag(config=True)
    sandbox_disk_mb = Integer(DEFAULT_LIMITS.disk_mb,
                              help="Size of the kernel's writable tmpfs folders (MiB).").tag(config=True)
    skip_demo_cells = Bool(True, help="Skip the cells tagged 'demo' that no answer, grade cell or "
                           "untagged cell might read from (nmautils.course.slicing); False runs "
                           "every cell.").tag(config=True)
    fixture_seed = Integer(-1, help="Seed of the hidden tests' fixtures (nmautils.course.hidden); "
                           "-1 draws one per grading process.").tag(config=True)
    submission_timeout = Integer(GRADING_LIMITS.submission_timeout,
                                 help="Seconds one submission may take in all (restarts and "
                                 "replays included); cells left when it runs out are not run and "
                                 "score 0. 0: no budget.").tag(config=True)
    cell_output_mb = Float(GRADING_LIMITS.cell_output_mb,
                           help="Output (MiB) kept per cell, display data included; the rest "
                           "is dropped with a message.").tag(config=True)
    notebook_output_mb = Float(GRADING_LIMITS.notebook_output_mb,
                               help="Output (MiB) kept per notebook.").tag(config=True)
    store_widget_state = Bool(False, help="Grading keeps no widget state.")
    reference_mode = Bool(False, help="Run the model answer to record the hidden tests' reference "
                          "values (set by compute_references, not by configuration).")
    hand_over_kernel = Bool(False, help="Leave the kernel of a notebook that ran to its end "
                            "running for the preprocessors after this one, as a LiveKernel in "
                            "resources['guarded_kernel'] (the one that takes it closes it; "
                            "nmautils.course.score_competition runs the competition in it)."
                            ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        if self.sandbox:
            check_available()  # raises SandboxUnavailable with what to do
        self._close_unclaimed()
        # a grader's note the student wrote into the notebook never survives grading
        for cell in nb.cells:
            cell.get("metadata", {}).pop(NOTES_KEY, None)
        self._guard_ready = False
        self._restarts = 0
        self._skip_replay: set[int] = set()
        self._last_reply: dict | None = None
        self._skipped = slicing.cells_to_skip(nb.cells) if self.skip_demo_cells else set()
        if self._skipped:
            self.log.info("Skipping %d demonstration cells that no graded code needs: %s",
                          len(self._skipped), sorted(self._skipped))
        self._seed = int(self.fixture_seed) if self.fixture_seed >= 0 else run_fixture_seed()
        self._collected: dict[str, dict[str, dict]] = {}
        has_tests = any(_kind(cell) == "test" for cell in nb.cells)
        self._references = ({} if self.reference_mode or not has_tests
                            else self._load_references(resources or {}))
        self._deadline = (time.monotonic() + self.submission_timeout
                          if self.submission_timeout > 0 else None)
        self._budget_noted = False
        self._cell_bytes = self._notebook_bytes = 0
        self._output_noted = False
        nb, resources = super().preprocess(nb, resources, km=km)
        for cell in nb.cells:  # no score can come from a kernel's execute_result
            if _kind(cell) == "test":
                _demote_results(cell)
        return nb, resources

    def _load_references(self, resources: dict) -> dict[str, dict[str, dict]]:
        """The reference values of this notebook's hidden tests for this run's seed, computed
        from the course's source notebook once per process (fails closed without one)."""
        from nbgrader.coursedir import CourseDirectory

        info = resources.get("nbgrader") or {}
        assignment, name = info.get("assignment"), info.get("notebook")
        if not assignment or not name:
            raise GradingRefused("the grader cannot tell which assignment and notebook it grades, "
                                 "so it cannot compute the hidden tests' reference values")
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{name}.ipynb"
        if not path.is_file():
            raise GradingRefused(f"no source notebook {path}: the hidden tests are judged against "
                                 "the model answer, which grading needs")

        def compute() -> dict[str, dict[str, dict]]:
            self.log.info("Computing the reference values of %s (fixture seed %d)", name, self._seed)
            return compute_references(path, self._seed, self.config, sandbox=self.sandbox)

        return verdicts.references_for(path.read_text(), self._seed, compute)

    @contextmanager
    def setup_kernel(self, **kwargs) -> Iterator[None]:
        """nbclient's kernel set-up and shut-down; with :attr:`hand_over_kernel` a kernel that
        ran every cell is handed on in ``resources`` instead of shut down."""
        if not (self.hand_over_kernel and self.owns_km and isinstance(self.resources, dict)):
            with super().setup_kernel(**kwargs):
                yield
            return
        with super().setup_kernel(cleanup_kc=False, **kwargs):
            try:
                yield
            except BaseException:
                self._cleanup_kernel()
                raise
        self._handed = LiveKernel(self.km, self.kc, now=self.shutdown_kernel == "immediate")
        self.resources[LIVE_KERNEL] = self._handed
        self.km = self.kc = None  # no longer this executor's to use

    def _close_unclaimed(self) -> None:
        """Shut down a kernel handed on for the previous notebook that no preprocessor took."""
        handed, self._handed = getattr(self, "_handed", None), None
        if handed is not None:
            handed.close()

    def create_kernel_manager(self):
        """A :class:`~nmautils.course.sandbox.SandboxedKernelManager`: IPC transport, and the
        sandbox unless ``sandbox`` is False."""
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = SandboxedKernelManager(
            kernel_name=self.kernel_name, config=self.config, sandbox=self.sandbox,
            memory_gb=float(self.memory_limit_gb or 1024), processes=self.sandbox_processes,
            file_size_mb=self.sandbox_file_size_mb, cpu_seconds=self.sandbox_cpu_seconds,
            disk_mb=self.sandbox_disk_mb)
        return self.km

    def on_cell_executed(self, **kwargs):
        self._last_reply = kwargs.get("execute_reply")
        return super().on_cell_executed(**kwargs)

    # -- kernel-side helpers ---------------------------------------------------------------
    async def _silent(self, code: str, timeout: float) -> dict | None:
        """Run ``code`` silently; return the reply, or None when the kernel did not answer."""
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        return await self._reply(msg_id, timeout)

    async def _reply(self, msg_id: str, timeout: float) -> dict | None:
        """The shell reply to ``msg_id``, or None when the kernel died or ``timeout`` passed."""
        return await shell_reply(self.kc, msg_id, timeout)

    async def _install_guard(self) -> None:
        limit = int(self.memory_limit_gb * 2**30) if self.memory_limit_gb else 0
        code = KERNEL_GUARD_CALL.format(
            f"install({limit}, {GUARDED_MODULES!r}, {LIBRARY_PREFIXES!r})")
        await self._silent(code, timeout=max(60, self.probe_timeout))
        self._guard_ready = True

    async def _run_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """nbclient's execution of one cell, with this cell's output count reset."""
        self._cell_bytes = 0
        self._output_noted = False
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    def handle_comm_msg(self, outs, msg, cell_index):
        """Ignore widget and other comm messages: grading needs no widget state, and the
        grader must neither keep nor interpret what a kernel sends that way."""
        return None

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``cell_output_mb`` per cell and ``notebook_output_mb`` per notebook."""
        size = _output_bytes(msg)
        self._cell_bytes += size
        self._notebook_bytes += size
        if (self._cell_bytes > self.cell_output_mb * 2**20
                or self._notebook_bytes > self.notebook_output_mb * 2**20):
            if not self._output_noted:
                self._output_noted = True
                outs.append(NotebookNode(output_type="stream", name="stderr", text=(
                    f"{MARK} output beyond {self.cell_output_mb:g} MiB per cell or "
                    f"{self.notebook_output_mb:g} MiB per notebook was dropped.\n")))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _get_timeout(self, cell):
        """The cell's timeout, cut to what is left of the submission's budget."""
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1, int(self._deadline - time.monotonic()) + 1)
        return left if timeout is None else min(timeout, left)

    async def _execute_test(self, cell, cell_index, execution_count, store_history):
        """Run a test cell's visible checks as the cell, then its hidden tests apart; the verdict
        of the hidden tests is the grader's, from the values both kernels report."""
        visible, hidden = split_hidden(cell.source)
        original = cell.source
        cell.source = visible if visible.strip() else "pass"
        try:
            result = await self._run_cell(cell, cell_index, execution_count, store_history)
        finally:
            cell.source = original
        _demote_results(cell)
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        scratch = NotebookNode(cell_type="code", source=hidden or "pass", metadata=NotebookNode(),
                               outputs=[], execution_count=None)
        await self._silent(_CONFIGURE.format(self._seed), timeout=30)
        try:
            await self._run_cell(scratch, cell_index, None, store_history=False)
        finally:
            self.nb.cells[cell_index] = cell  # nbclient stores the cell it ran in the notebook
        for output in scratch.outputs:  # the outputs of hidden code never reach the notebook
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                cell.outputs.append(output)
        if self.reference_mode:
            self._record_reference(gid, scratch)
            return result
        problems = verdicts.judge(self._references.get(gid, {}), verdicts.collect(scratch.outputs))
        if problems:
            shown = "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")
            grader_note(cell, "HiddenTestFailed", f"hidden test failed: {shown}")
        return result

    def _record_reference(self, gid: str, scratch: NotebookNode) -> None:
        errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in scratch.outputs
                  if o.get("output_type") == "error"]
        found = verdicts.reference_records(scratch.outputs)
        if errors or not found:
            raise ReferenceFailed(f"the model answer does not pass the hidden test {gid}: "
                                  + ("; ".join(errors) or "it reports no value (use expect)"))
        self._collected[gid] = found

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
            if (cell.cell_type != "code" or not cell.source.strip() or index in self._skip_replay
                    or index in self._skipped):
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
                await self._silent(KERNEL_GUARD_CALL.format("record()"), timeout=30)

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
        grader_note(cell, ename, reason)
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
        if cell_index in self._skipped:  # a demonstration no graded code needs (outputs cleared)
            return cell
        if self._deadline is not None and time.monotonic() >= self._deadline:
            cell.outputs = []
            if _kind(cell) == "test":
                grader_note(cell, "SubmissionTimeout", (
                    f"The submission used up its time budget ({self.submission_timeout} s in all); "
                    "this cell was not run and scores 0."))
            if not self._budget_noted:
                self._budget_noted = True
                self.log.warning("Submission time budget (%d s) used up at cell %d",
                                 self.submission_timeout, cell_index)
            return cell
        if not self._guard_ready:
            await self._install_guard()
        kind = _kind(cell)
        if kind == "test" and self.reset_before_tests:
            await self._silent(KERNEL_GUARD_CALL.format("reset()"), timeout=30)
        elif kind == "answer" and self.reset_before_tests:  # names and modules, not the seeds
            await self._silent(KERNEL_GUARD_CALL.format("reset(seeds=False)"), timeout=30)
        try:
            if kind == "test":
                result = await self._execute_test(cell, cell_index, execution_count, store_history)
            else:
                result = await self._run_cell(cell, cell_index, execution_count, store_history)
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
            grader_note(cell, "CellTimeoutError", f"This cell ran longer than "
                        f"{self._get_timeout(cell)} s and was interrupted; it scores 0.")
            if await self._silent("pass", timeout=self.probe_timeout) is None:
                await self._recover(
                    cell, cell_index,
                    "The kernel did not stop after the time limit (an endless loop that ignores "
                    "interrupts?). The grader restarted it and re-ran the cells above.",
                    ename="CellTimeoutError")
                return cell
        if kind in ("readonly", "other"):
            await self._silent(KERNEL_GUARD_CALL.format("record()"), timeout=30)
        return result

    # nbclient binds the synchronous wrapper to its own coroutine: rebind it to ours.
    execute_cell = run_sync(async_execute_cell)


def autograde_preprocessors() -> list:
    """nbgrader's default autograde preprocessors with ``Execute`` replaced by :class:`GuardedExecute`
    and the competition's :class:`~nmautils.course.score_competition.ScoreCompetition` after it."""
    from nbgrader.converters.autograde import Autograde

    default = Autograde.class_traits()["autograde_preprocessors"].default()
    out = []
    for preprocessor in default:
        out += [GuardedExecute, ScoreCompetition] if preprocessor is Execute else [preprocessor]
    return out


def _demote_results(cell: NotebookNode) -> None:
    """Turn a test cell's ``execute_result`` outputs into display data: nbgrader scores a grade
    cell by its first execute_result, which only the grader may decide."""
    for index, output in enumerate(cell.get("outputs", [])):
        if output.get("output_type") == "execute_result":
            cell.outputs[index] = NotebookNode(output_type="display_data",
                                               data=output.get("data", {}),
                                               metadata=output.get("metadata", {}))


def compute_references(path: str | Path, seed: int, config: Any = None,
                       sandbox: bool = True) -> dict[str, dict[str, dict]]:
    """Run the source notebook (the model answer) and record what each hidden test reports.

    Parameters
    ----------
    path : str or Path
        ``source/<assignment>/<notebook>.ipynb``.
    seed : int
        The run's fixture seed.
    config : traitlets Config, optional
        The course's nbgrader configuration (timeouts, sandbox limits).
    sandbox : bool
        Run the model answer in the sandbox too.

    Returns
    -------
    dict
        ``{test grade id: {name: record}}`` (:func:`nmautils.course.verdicts.reference_records`).

    Raises
    ------
    ReferenceFailed
        When the model answer fails one of its own hidden tests.
    """
    from . import notebooks

    path = Path(path)
    nb = notebooks.read(path)
    # nbclient re-runs __init__ from the config when it executes, so the reference run's settings
    # go into the config: a generous cell timeout (a short one set for students must not turn a
    # slow moment of the machine into a broken reference) and no submission budget
    reference_config = Config(copy.deepcopy(config)) if config is not None else Config()
    course_timeout = GuardedExecute(config=reference_config).timeout or 0
    reference_config.GuardedExecute.update(fixture_seed=int(seed), hand_over_kernel=False,
                                           sandbox=sandbox, submission_timeout=0,
                                           timeout=max(course_timeout, REFERENCE_CELL_TIMEOUT))
    executor = GuardedExecute(config=reference_config, reference_mode=True)  # not configurable
    resources = {"metadata": {"path": str(path.parent)},
                 "nbgrader": {"assignment": path.parent.name, "notebook": path.stem}}
    executor.preprocess(nb, resources)
    missing = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
               if _kind(c) == "test" and c.metadata["nbgrader"]["grade_id"] not in executor._collected]
    if missing:
        raise ReferenceFailed(f"the model answer's run did not reach the tests {missing}")
    return executor._collected
