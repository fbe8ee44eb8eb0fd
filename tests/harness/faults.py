"""A catalogue of what real submissions do to an autograder, as injectable faults.

Each :class:`Fault` turns the *solution* source of one answer cell (with its ``### BEGIN/END
SOLUTION`` markers) into a faulty cell, or (notebook-level faults) turns a whole submission
into a broken one. The fault tests (``tests/harness/faults_harness.py``) build submissions from it.

``expect`` says what a fair grader charges for the fault:

- ``"zero"``: the exercise at fault loses all of its points (its test cells score 0);
- ``"keep"``: the student loses nothing (e.g. a cell that prints megabytes but works);
- ``"own"``: the exercise at fault may lose some or all of its own points (whether its tests
  catch, say, a float64 output depends on the exercise); every *other* exercise keeps its points.

In all three cases every other exercise keeps full marks: that is what the tests assert.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

from nbformat import NotebookNode

from nmautils.course import notebooks

BEGIN, END = notebooks.BEGIN_SOLUTION, notebooks.END_SOLUTION


def _insert_in_solution(source: str, code: str) -> str:
    """Insert ``code`` as the first statement(s) of the solution region, at its indentation."""
    lines = source.splitlines()
    start = next((r.begin for r in notebooks.regions(source) if r.kind == "solution"), None)
    if start is None:  # no markers: the whole cell is the answer
        return code + "\n" + source
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    body = [indent + line if line else line for line in code.splitlines()]
    return "\n".join(lines[: start + 1] + body + lines[start + 1 :])


def _prepend(source: str, code: str) -> str:
    return code + "\n" + source


def _append(source: str, code: str) -> str:
    return source + "\n" + code


def _in_solution(code: str) -> Callable[[str], str]:
    """A fault's ``inject`` that puts ``code`` first in the solution (:func:`_insert_in_solution`)."""
    return lambda source: _insert_in_solution(source, code)


def _before_cell(code: str) -> Callable[[str], str]:
    """A fault's ``inject`` that puts ``code`` before the whole answer cell."""
    return lambda source: _prepend(source, code)


def _after_cell(code: str) -> Callable[[str], str]:
    """A fault's ``inject`` that puts ``code`` after the whole answer cell."""
    return lambda source: _append(source, code)


def defined_names(source: str) -> tuple[list[str], list[str]]:
    """Top-level (functions, classes) defined by an answer cell (markers removed)."""
    text = notebooks.strip_solution_markers(source)
    tree = ast.parse(text)
    funcs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    return funcs, classes


# The output faults wrap every function (and the ``forward``/``__call__`` of every class) the cell
# defines, and corrupt what they return, the way a student's slip would.
_WRAP = '''
def _fault_corrupt(out):
{body}

def _fault_wrap(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return _fault_corrupt(fn(*args, **kwargs))
    return wrapper
'''

_CORRUPT = {
    "wrong_shape": '''    import numpy, torch
    if isinstance(out, (torch.Tensor, numpy.ndarray)):
        return out[None]
    return [out]''',
    "wrong_dtype": '''    import numpy, torch
    if isinstance(out, torch.Tensor):
        return out.double() if out.dtype != torch.float64 else out.float()
    if isinstance(out, numpy.ndarray):
        return out.astype(numpy.float16)
    if isinstance(out, float):
        return numpy.float32(out)
    if isinstance(out, list):
        return [numpy.float32(v) if isinstance(v, float) else v for v in out]
    return out''',
    "nan_output": '''    import math, numpy, torch
    if isinstance(out, torch.Tensor):
        return out.float() * float("nan") if not out.is_floating_point() else out * float("nan")
    if isinstance(out, numpy.ndarray):
        return out * numpy.nan
    if isinstance(out, float):
        return math.nan
    if isinstance(out, list):
        return [math.nan if isinstance(v, float) else v for v in out]
    return out''',
    "numpy_not_tensor": '''    import torch
    if isinstance(out, torch.Tensor):
        return out.detach().cpu().numpy()
    return out''',
}


def _wrap_outputs(kind: str) -> Callable[[str], str]:
    def inject(source: str) -> str:
        funcs, classes = defined_names(source)
        lines = [_WRAP.format(body=_CORRUPT[kind])]
        for name in funcs:
            lines.append(f"{name} = _fault_wrap({name})")
        for name in classes:
            lines.append(f"for _m in ('forward', '__call__'):\n"
                         f"    if _m in vars({name}):\n"
                         f"        setattr({name}, _m, _fault_wrap(vars({name})[_m]))\n"
                         f"        break")
        return _append(source, "\n".join(lines))

    return inject


@dataclass(frozen=True)
class Fault:
    """One kind of faulty submission.

    ``scope`` is ``"cell"`` (several cell faults can share one submission, each in its own
    answer cell), ``"kernel"`` (kills or hangs the kernel: kept apart from the others) or
    ``"notebook"`` (breaks the submission itself, see :func:`notebook_fault`).
    """

    name: str
    description: str
    scope: str
    expect: str
    inject: Callable[[str], str] | None = None
    #: the fault runs code after the definitions (so it can share a cell with an output fault)
    stacks: bool = False


CELL_FAULTS: tuple[Fault, ...] = (
    Fault("raises", "the answer raises an exception", "cell", "zero",
          _in_solution('raise RuntimeError("student code: not finished")')),
    Fault("syntax_error", "the answer cell has a syntax error", "cell", "zero",
          _in_solution("result = (1 +")),
    # the loop waits instead of spinning: the grader's timeout and interrupt are the same, and a
    # test run's other graders keep the cores (every test cell that calls it waits a timeout)
    Fault("endless_loop", "the answer loops forever when called (per-cell timeout)", "cell", "zero",
          _in_solution("while True:\n    __import__('time').sleep(0.05)")),
    Fault("sleeps", "the answer cell sleeps for an hour before defining anything", "cell", "zero",
          _before_cell("import time\ntime.sleep(3600)")),
    Fault("huge_allocation", "the answer allocates 12 GiB", "cell", "zero",
          _in_solution("_buffer = bytearray(12 * 2**30)")),
    Fault("missing_package", "the answer imports a package that is not installed", "cell", "zero",
          _in_solution("import nmautils_no_such_package")),
    Fault("wrong_shape", "the answer returns an extra leading dimension", "cell", "own",
          _wrap_outputs("wrong_shape")),
    Fault("wrong_dtype", "the answer returns float64 instead of float32 (or the reverse)", "cell",
          "own", _wrap_outputs("wrong_dtype")),
    Fault("nan_output", "the answer returns NaN", "cell", "own", _wrap_outputs("nan_output")),
    Fault("numpy_not_tensor", "the answer returns a numpy array where a tensor is expected", "cell",
          "own", _wrap_outputs("numpy_not_tensor")),
    Fault("prints_megabytes", "the answer cell prints 200,000 lines (~3 MB)", "cell", "keep",
          _after_cell("for _i in range(200_000):\n    print('debug output line', _i)"),
          stacks=True),
    Fault("default_dtype", "sets torch's default dtype to float64 and switches autograd off",
          "cell", "own",
          _after_cell("import torch\ntorch.set_default_dtype(torch.float64)\n"
                      "torch.set_grad_enabled(False)"), stacks=True),
    Fault("reseeds", "reseeds and consumes every random generator; numpy errors raise", "cell",
          "own",
          _after_cell("import random, numpy, torch\nrandom.seed(99)\nnumpy.random.seed(99)\n"
                      "torch.manual_seed(99)\ntorch.rand(12345)\nnumpy.random.rand(777)\n"
                      "numpy.seterr(all='raise')"), stacks=True),
    Fault("rebinds_names", "rebinds np, torch, nn and optim in the notebook namespace", "cell", "own",
          _after_cell("np = None\ntorch = None\nnn = None\noptim = None"), stacks=True),
    Fault("patches_libraries", "monkeypatches torch.allclose, numpy.allclose and an nmautils.checks helper",
          "cell", "own",
          _after_cell("import numpy as _np, torch as _torch, nmautils.checks as _checks\n"
                      "_torch.allclose = lambda *a, **k: False\n"
                      "_np.allclose = lambda *a, **k: False\n"
                      "_checks.check_shape = None\n_checks.check_close = None"), stacks=True),
)

KERNEL_FAULTS: tuple[Fault, ...] = (
    Fault("kills_kernel", "the answer calls os._exit (kills the kernel) when called", "kernel", "zero",
          _in_solution("import os\nos._exit(1)")),
    Fault("ignores_interrupt", "an endless loop that swallows KeyboardInterrupt", "kernel", "zero",
          _in_solution("while True:\n    try:\n        __import__('time').sleep(0.05)\n"
                       "    except BaseException:\n        pass")),
)

NOTEBOOK_FAULTS: tuple[Fault, ...] = (
    Fault("deleted_test_cell", "a test cell was deleted", "notebook", "keep"),
    Fault("edited_test_cell", "a test cell's hidden tests were replaced by `pass`", "notebook", "keep"),
    Fault("edited_readonly_cell", "a read-only cell was edited", "notebook", "keep"),
    Fault("misnamed_notebook", "the notebook was renamed (e.g. 'Copy of ...')", "notebook", "keep"),
    Fault("missing_notebook", "the submission folder holds no notebook", "notebook", "zero"),
    Fault("corrupted_json", "the notebook file is not valid JSON (truncated upload)", "notebook", "zero"),
)

CATALOGUE: dict[str, Fault] = {f.name: f for f in (*CELL_FAULTS, *KERNEL_FAULTS, *NOTEBOOK_FAULTS)}


def inject(source_cell: str, fault_names: list[str]) -> str:
    """Apply cell/kernel faults (in order) to the solution source of one answer cell."""
    for name in fault_names:
        source_cell = CATALOGUE[name].inject(source_cell)
    return source_cell


def pack_cell_faults(answers: list[str], faults: tuple[Fault, ...] = CELL_FAULTS
                     ) -> list[dict[str, list[str]]]:
    """Spread cell faults over as few submissions as possible.

    Each submission gets at most one non-stacking fault per answer cell; stacking faults
    (code that runs after the definitions) are added to cells whose main fault lets the cell
    reach its end (not a syntax error, an early raise, a sleep or a missing import).
    Returns one ``{answer grade id: [fault names]}`` per submission.
    """
    if not answers:
        return []
    main = [f.name for f in faults if not f.stacks]
    extra = [f.name for f in faults if f.stacks]
    blocking = {"syntax_error", "sleeps", "raises", "missing_package", "huge_allocation"}
    subs: list[dict[str, list[str]]] = []
    for i in range(0, len(main), len(answers)):
        chunk = main[i : i + len(answers)]
        subs.append({answers[j]: [name] for j, name in enumerate(chunk)})
    # stacking faults: one per (submission, answer) slot whose code reaches the end of the cell
    slots = [(k, a) for k, sub in enumerate(subs) for a in answers
             if not (set(sub.get(a, [])) & blocking)]
    slots.sort(key=lambda ka: len(subs[ka[0]].get(ka[1], [])))
    for name, (k, answer) in zip(extra, slots):
        subs[k].setdefault(answer, []).append(name)
    for name in extra[len(slots):]:  # more stacking faults than slots: a submission of their own
        subs.append({answers[0]: [name]})
    return subs


def tamper(nb: NotebookNode, fault: str) -> NotebookNode:
    """Apply a cell-editing notebook fault to a submission (returns a copy)."""
    nb = copy.deepcopy(nb)
    tests = [i for i, c in enumerate(nb.cells) if notebooks.cell_kind(c) == "test"]
    readonly = [i for i, c in enumerate(nb.cells)
                if notebooks.cell_kind(c) == "readonly" and c.cell_type == "code"]
    if fault == "deleted_test_cell":
        del nb.cells[tests[0]]
    elif fault == "edited_test_cell":
        cell = nb.cells[tests[-1]]
        cell.source = "pass  # the student replaced the checks"
    elif fault == "edited_readonly_cell":
        cell = nb.cells[readonly[-1]] if readonly else nb.cells[0]
        cell.source = cell.source + "\nraise SystemExit('student edit')"
    else:
        raise KeyError(f"{fault!r} is not a cell-editing notebook fault")
    return nb


def corrupt_json(nb: NotebookNode) -> str:
    """The text of a truncated notebook file (what a failed upload leaves)."""
    text = json.dumps(nb, indent=1)
    return text[: len(text) // 2]
