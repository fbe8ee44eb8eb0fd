"""The visible checks of every exercise reject wrong answers that have the right type and shape.

For each assignment the source notebook is run in this process, up to each test cell, with the
model answers filled in (cells that no answer or visible check needs are skipped, as grading
skips demonstrations). At each test cell its visible part - the hidden tests removed - runs
against the model answer, which must pass, and then against three kinds of wrong answer, each of
which must make it raise:

- ``zeros``: every function and method the answer cell defines returns zeros of the real
  result's type and shape (a tensor, an array, a float, a list or tuple of those, an Axes whose
  lines are flat);
- ``noise``: the same with seeded random numbers;
- ``mutant``: each plausible wrong answer of ``tests/grading/mutants/<assignment>.py`` (two or
  more per answer, each modelled on a student's mistake).

A test cell must reject ``zeros`` and ``noise`` with a hint whenever it calls a wrapped function
whose result could be replaced, and every mutant of an answer must be rejected by at least one of its test
cells with an ``AssertionError`` that carries a hint (the friendly message of
:mod:`nmautils.checks`).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import functools
import io
import random
import traceback

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from grading_harness import MUTANTS_DIR, load_all_mutants
from IPython.core.inputtransformer2 import TransformerManager
from matplotlib.axes import Axes
from nbformat import NotebookNode

from nmautils.course import notebooks, slicing
from nmautils.course.build import source_path

ASSIGNMENTS = ("tutorial1_decoding", "tutorial2_encoding", "tutorial3_backprop",
               "assignment3_interpret")

#: Answers whose results cannot be replaced by zeros or noise (an optimiser object): only their
#: mutants are checked.
NOT_NUMERIC = {("tutorial3_backprop", "ex_make_optimizer")}

#: The notebooks run on the small synthetic recording: the visible checks use their own fixtures.
ENVIRONMENT = {"NMAUTILS_SURROGATE_SIZE": "small", "NMAUTILS_DATA": "surrogate",
               "NMAUTILS_PROGRESS": "off"}


def mutant_comments(assignment: str) -> dict[str, list[str]]:
    """The comment line above each mutant in ``tests/grading/mutants/<assignment>.py`` (the
    student's mistake it models), in the order of ``MUTANTS``; "" where a mutant has none."""
    path = MUTANTS_DIR / f"{assignment}.py"
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    mapping = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", None) == "MUTANTS" for t in node.targets))
    comments: dict[str, list[str]] = {}
    for key, value in zip(mapping.keys, mapping.values):
        found = []
        for element in value.elts:
            above = lines[element.lineno - 2].strip()  # the line just above the element
            found.append(above.lstrip("# ").strip() if above.startswith("#") else "")
        comments[ast.literal_eval(key)] = found
    return comments


# ---------------------------------------------------------------------------------------------
# Wrong values of the right type and shape
# ---------------------------------------------------------------------------------------------


class _Replacer:
    """Turns results into zeros or seeded noise of the same type and shape, counting replacements."""

    def __init__(self, kind: str):
        self.kind = kind
        self.count = 0
        self.rng = np.random.default_rng(2024)

    def numbers(self, shape, integer: bool = False, high: int = 2) -> np.ndarray:
        if self.kind == "zeros":
            return np.zeros(shape, dtype=np.int64 if integer else np.float64)
        if integer:
            return self.rng.integers(0, max(high, 2), size=shape)
        return self.rng.normal(0.0, 1.0, size=shape)

    def replace(self, value):
        """A wrong value like ``value``, or ``value`` itself when it is not numeric."""
        if isinstance(value, torch.Tensor):
            integer = not (value.is_floating_point() or value.is_complex())
            high = int(value.abs().max().item()) + 2 if integer and value.numel() else 2
            fake = torch.as_tensor(self.numbers(tuple(value.shape), integer, high))
            fake = fake.to(value.dtype) if value.dtype != torch.bool else fake > 0
            if value.requires_grad:  # keep the graph, so only the values are wrong
                fake = value - value.detach() + fake
            self.count += 1
            return fake
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            integer = value.dtype.kind in "biu"
            high = int(np.abs(value).max()) + 2 if integer and value.size else 2
            self.count += 1
            return self.numbers(value.shape, integer, high).astype(value.dtype)
        if isinstance(value, (bool, np.bool_)):
            return value
        if isinstance(value, (float, int, np.floating, np.integer)):
            self.count += 1
            integer = isinstance(value, (int, np.integer))
            return type(value)(self.numbers((), integer, abs(int(value)) + 2).item())
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(self.replace(v) for v in value)
        if isinstance(value, Axes):
            for line in value.get_lines():
                x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
                line.set_data(self.numbers(x.shape), self.numbers(y.shape))
                self.count += 1
            return value
        return value

    def wrap(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return self.replace(func(*args, **kwargs))

        return wrapper

    def wrap_class(self, cls: type) -> type:
        """A subclass whose own methods (not dunder methods) return wrong values."""
        methods = {name: self.wrap(f) for name, f in vars(cls).items()
                   if callable(f) and not (name.startswith("__") and name.endswith("__"))}
        return type(cls.__name__, (cls,), {**methods, "__module__": cls.__module__})


def _defined_names(source: str) -> list[str]:
    """Top-level functions and classes an answer cell defines."""
    tree = ast.parse(source)
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


# ---------------------------------------------------------------------------------------------
# Running the notebook in this process
# ---------------------------------------------------------------------------------------------


def _python(source: str) -> str:
    """Cell source as plain Python (``%pip`` lines become calls that never run here)."""
    return TransformerManager().transform_cell(source)


@contextlib.contextmanager
def _restored(namespace: dict):
    """Run a variant, then put back the namespace (same dict object) and the random generators."""
    saved = dict(namespace)
    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    try:
        yield
    finally:
        namespace.clear()
        namespace.update(saved)
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
        plt.close("all")


def _run(code: str, namespace: dict, label: str) -> BaseException | None:
    """Execute ``code`` quietly; the exception it raised, or None."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, label, "exec"), namespace)
    except Exception as err:  # noqa: BLE001 - any error means the check rejected the answer
        return err
    return None


def _runnable_cells(nb: NotebookNode) -> tuple[list[NotebookNode], set[int]]:
    """The cells with hidden tests removed, and which of them no answer or visible check needs.

    Written answers and untagged instructor cells are treated as demonstrations here, so only
    what the answers and the visible checks read is executed.
    """
    cells = copy.deepcopy(nb.cells)
    for cell in cells:
        kind = notebooks.cell_kind(cell)
        if cell.cell_type != "code":
            continue
        if kind == "test":
            cell.source = notebooks.drop_regions(cell.source, ("hidden tests",))
        elif kind == "written" or kind is None:
            cell.source = notebooks.strip_solution_markers(cell.source)
            cell.metadata.setdefault("tags", []).append(slicing.DEMO_TAG)
            cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True,
                                         "grade_id": f"cell-{id(cell)}"}
        elif kind == "answer":
            cell.source = notebooks.strip_solution_markers(cell.source)
    return cells, slicing.cells_to_skip(cells)


def _hinted(err: BaseException | None) -> bool:
    """Whether ``err`` is a failed check of :mod:`nmautils.checks` that carries a hint."""
    return isinstance(err, AssertionError) and "\nHint: " in str(err)


def _describe(err: BaseException | None) -> str:
    if err is None:
        return "passed"
    return "".join(traceback.format_exception_only(type(err), err)).strip()


def _check_assignment(assignment: str) -> list[str]:
    """Every problem found with the visible checks of ``assignment`` (empty when all is well)."""
    nb = notebooks.read(source_path(assignment))
    mutants = load_all_mutants(assignment)
    tests_of = notebooks.answer_tests(nb)
    cells, skip = _runnable_cells(nb)
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    answers: dict[str, str] = {}  # answer grade id -> its code
    problems: list[str] = []
    caught: dict[str, set[str]] = {answer: set() for answer in tests_of}  # rejected mutants
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or index in skip or not cell.source.strip():
            continue
        kind = notebooks.cell_kind(cell)
        grade_id = notebooks.nbgrader_meta(cell).get("grade_id", f"cell {index}")
        code = _python(cell.source)
        if kind == "answer":
            answers[grade_id] = code
        if kind != "test":
            err = _run(code, namespace, f"<{assignment} {grade_id}>")
            assert err is None, f"{assignment} {grade_id} failed to run: {_describe(err)}"
            continue
        answer = f"ex_{notebooks.GradedCell(grade_id, kind, 0, 'code').exercise}"
        label = f"<{assignment} {grade_id} visible>"
        for wrong in ("zeros", "noise"):
            if (assignment, answer) in NOT_NUMERIC:
                continue
            replacer = _Replacer(wrong)
            with _restored(namespace):
                for name in _defined_names(answers[answer]):
                    obj = namespace[name]
                    is_class = isinstance(obj, type)
                    namespace[name] = replacer.wrap_class(obj) if is_class else replacer.wrap(obj)
                err = _run(code, namespace, label)
            if replacer.count and err is None:
                problems.append(f"{grade_id}: {wrong} pass the visible checks")
            elif replacer.count and not _hinted(err):
                problems.append(f"{grade_id}: {wrong} are rejected without a hint: {_describe(err)}")
            if replacer.count:  # the cell called the answer and got a wrong value back
                caught[answer].add(wrong)
        for number, mutant in enumerate(mutants.get(answer, [])):
            with _restored(namespace):
                _run(_python(mutant), namespace, f"<{assignment} mutant {answer}[{number}]>")
                err = _run(code, namespace, label)
            if _hinted(err):
                caught[answer].add(f"mutant {number}")
        # the model answer last, as the notebook runs it: later cells may use what it leaves
        err = _run(code, namespace, label)
        plt.close("all")
        if err is not None:
            problems.append(f"{grade_id}: the model answer fails: {_describe(err)}")
    for answer, found in caught.items():
        if len(mutants.get(answer, [])) < 2:
            problems.append(f"{answer}: has {len(mutants.get(answer, []))} mutants, not two or more")
        expected = {f"mutant {number}" for number in range(len(mutants.get(answer, [])))}
        if (assignment, answer) not in NOT_NUMERIC:
            expected |= {"zeros", "noise"}
        for wrong in sorted(expected - found):
            problems.append(f"{answer}: no visible check rejects its {wrong} with a hint"
                            f" ({mutant_comments(assignment)[answer][int(wrong.split()[1])]})"
                            if wrong.startswith("mutant") else
                            f"{answer}: no visible check gets a result to replace by {wrong}")
    return problems


@pytest.fixture(autouse=True)
def _process_state_restored():
    """The notebooks run in this process: their environment variables and matplotlib settings
    must not reach the tests (and nbval kernels) that run after them in the same worker."""
    import os

    import matplotlib

    saved = dict(os.environ)
    with matplotlib.rc_context():
        yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_checks_reject_wrong_answers(assignment, monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    problems = _check_assignment(assignment)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_answer_has_named_mutants(assignment):
    """Two or more mutants per answer cell, each under a one-line comment naming the mistake."""
    nb = notebooks.read(source_path(assignment))
    answers = set(notebooks.answer_tests(nb))
    mutants, comments = load_all_mutants(assignment), mutant_comments(assignment)
    assert set(mutants) == answers
    for answer, wrong in mutants.items():
        assert len(wrong) >= 2, f"{answer} has {len(wrong)} mutant(s)"
        assert len(set(wrong)) == len(wrong), f"{answer} has the same mutant twice"
        assert all(comments[answer]) and len(comments[answer]) == len(wrong), \
            f"{answer}: every mutant needs a comment line above it naming the mistake"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_checks_do_not_show_the_model_answer(assignment):
    """No line of a model answer (longer than a trivial one) stands in a visible check."""
    nb = notebooks.read(source_path(assignment))
    answer_lines = {line.strip() for cell in nb.cells if notebooks.cell_kind(cell) == "answer"
                    for line in notebooks.region_text(cell.source, "solution").splitlines()
                    if len(line.strip()) > 25 and not line.strip().startswith("#")}
    shown = {line.strip() for cell in nb.cells if notebooks.cell_kind(cell) == "test"
             for line in notebooks.drop_regions(cell.source, ("hidden tests",)).splitlines()}
    assert not answer_lines & shown
