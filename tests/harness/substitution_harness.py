"""Try every public ``nmautils`` callable, and hand-written delegates, as each exercise's answer.

An answer must not be within reach: no public helper of the package may pass an exercise's
tests in place of the student's own code (issue 10, "no answer within reach"). For one
assignment this module executes, in one process and without nbgrader, the notebook's set-up
cell, its definition-only cells and every solution, and then, for each candidate answer, the
candidate followed by the exercise's test cells from ``source/`` (hidden tests included):

- ``solution``: the model answer (sanity: the harness lets a right answer pass);
- ``mutant``: the plausible wrong answer of ``tests/grading/mutants/<assignment>.py`` (sanity: the
  harness sees a wrong answer fail);
- ``substitute``: ``<name> = helper`` for every signature-compatible public callable, once bound
  directly and once through an adapter that passes the exercise's arguments by position; for
  classes also a subclass whose solved methods (other than ``__init__``) delegate to the helper,
  with and without ``self`` as first argument;
- ``delegate``: the thin wrappers of ``DELEGATES`` in ``tests/grading/mutants/<assignment>.py`` around
  helpers that compute an exercise's core; each is run a second time with
  :func:`nmautils.checks.refusing` disabled (``delegate_unrefused``) to show that the refusal in
  the hidden tests is what stops it.

The work is split in two. :func:`make_plan` reads the source notebook (nbformat, IPython's
input transformer) and extracts the code to run; :func:`run_plan` executes it and :func:`judge`
lists what breaks the rules. Run as a script, this module reads plans (JSON files given with
``--plan``) and prints the :class:`Outcome` records (JSON) after :data:`RESULT_MARK`.
``tests/grading/test_substitution.py`` makes the plans and runs two such subprocesses at once, two
assignments each: the notebooks' global settings (threads, styles, seeds) stay out of pytest,
the subprocesses never import nbformat or IPython, and torch is imported twice, not four times.

What it cannot see: a helper whose use is legitimate (``decode_orientation`` is meant to call
``train_full_batch``) and code pasted from the package's public source.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import pkgutil
import random
import signal
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nmautils.course import hidden, verdicts
from nmautils.course.notebooks import strip_solution_markers

REPO = Path(__file__).resolve().parents[2]
MUTANTS_DIR = Path(__file__).resolve().parents[1] / "grading" / "mutants"

#: Prefix of the output line that carries the results (other output may precede it).
RESULT_MARK = "SUBSTITUTION-RESULTS "

#: The hidden tests' fixture seed in the harness (the grader draws one per run).
HIDDEN_SEED = 12_345
#: Seconds one candidate may run before it counts as failed (as a grading timeout would).
CANDIDATE_TIMEOUT_S = 30


@dataclass
class Outcome:
    """What one candidate answer did to the test cells of its exercise."""

    grade_id: str  # the answer cell, ex_<name>
    kind: str  # solution, mutant, substitute, delegate, delegate_unrefused
    label: str  # which candidate
    method_only: bool = False  # a class with one delegating method (other cells may pass)
    failed: dict[str, str] = field(default_factory=dict)  # test cell -> error
    passed: list[str] = field(default_factory=list)  # test cells that passed
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------
# The public callables of nmautils
# --------------------------------------------------------------------------------------------


def public_modules() -> list[str]:
    """Every public module of ``nmautils`` except the instructor tooling ``nmautils.course``."""
    import nmautils

    names = [
        m.name
        for m in pkgutil.iter_modules(nmautils.__path__)
        if not m.name.startswith("_") and m.name != "course"
    ]
    return [f"nmautils.{name}" for name in sorted(names)]


def public_callables() -> dict[str, Callable[..., Any]]:
    """Qualified name -> callable, for every public function, class and class-level method.

    A module's public names are its ``__all__`` (or its names without a leading underscore).
    Static and class methods of public classes count too (``Model.loss`` needs no instance).
    Re-exports and aliases (``rdm = RDM``) appear once.
    """
    found: dict[str, Callable[..., Any]] = {}
    seen: set[int] = set()

    def add(name: str, obj: Any) -> None:
        key = id(getattr(obj, "__func__", obj))
        if key not in seen:
            seen.add(key)
            found[name] = obj

    for modname in public_modules():
        mod = importlib.import_module(modname)
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType) or not callable(obj):
                continue
            add(f"{modname}.{name}", obj)
            if isinstance(obj, type):
                for attr, raw in vars(obj).items():
                    if not attr.startswith("_") and isinstance(raw, (staticmethod, classmethod)):
                        add(f"{modname}.{name}.{attr}", getattr(obj, attr))
    return found


def positional_arity(func: Callable[..., Any], low: int, high: int) -> int | None:
    """The largest k in [low, high] such that ``func`` accepts k positional arguments."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    for k in range(high, low - 1, -1):
        try:
            sig.bind(*range(k))
        except TypeError:
            continue
        return k
    return None


def arity_range(sig: inspect.Signature) -> tuple[int, int]:
    """(required, total) positional parameters of an exercise's signature."""
    params = [
        p for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    required = sum(p.default is p.empty for p in params)
    return required, len(params)


def positional_adapter(
    name: str, sig: inspect.Signature, helper: Callable[..., Any], k: int, *, skip: int = 0
) -> Callable[..., Any]:
    """A function with the exercise's signature that passes its arguments on by position.

    The exercise's arguments are bound to ``sig`` (defaults filled in); the first ``skip`` of
    them are dropped (``self``, for a method that delegates without it) and the next ``k`` are
    passed to ``helper`` by position.
    """

    def adapter(*args: Any, **kwargs: Any) -> Any:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        values = list(bound.arguments.values())
        return helper(*values[skip : skip + k])

    adapter.__name__ = adapter.__qualname__ = name
    return adapter


# --------------------------------------------------------------------------------------------
# The notebook
# --------------------------------------------------------------------------------------------


def _python(cell_source: str) -> str:
    """Cell source as plain Python (IPython magics such as ``%pip`` become calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def _only_definitions(code: str) -> bool:
    """True when every top-level statement imports, defines, or is a docstring."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    return all(
        isinstance(node, allowed)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in tree.body
    )


def defined_names(code: str) -> list[str]:
    """Names of the functions and classes an answer cell defines at top level."""
    tree = ast.parse(code)
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def solved_methods(answer_source: str, class_name: str) -> list[str]:
    """Methods of ``class_name`` (not ``__init__``) that hold a solution region."""
    from nmautils.course.notebooks import BEGIN_SOLUTION

    lines = answer_source.splitlines()
    tree = ast.parse(answer_source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            return [
                f.name
                for f in node.body
                if isinstance(f, ast.FunctionDef)
                and f.name != "__init__"
                and any(BEGIN_SOLUTION in line for line in lines[f.lineno - 1 : f.end_lineno])
            ]
    return []


def load_mutant_module(assignment: str) -> types.ModuleType:
    path = MUTANTS_DIR / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_plan(assignment: str) -> dict[str, Any]:
    """Everything :func:`run_plan` needs to know about one assignment's source notebook.

    Returns
    -------
    dict
        ``assignment``; ``answer_tests`` (answer grade id -> its test cells); ``base``: pairs
        (grade id, Python code) of the cells run once - the set-up cell (the first code cell),
        every other locked or ordinary cell that only imports and defines, and every answer
        cell's solution; ``code``: grade id -> Python code of every answer (solution) and test
        cell (hidden tests included); ``methods``: answer grade id -> {class name: its solved
        methods other than ``__init__``}.
    """
    from nmautils.course import notebooks

    nb = notebooks.read(REPO / "source" / assignment / f"{assignment}.ipynb")
    plan: dict[str, Any] = {
        "assignment": assignment,
        "answer_tests": notebooks.answer_tests(nb),
        "base": [],
        "code": {},
        "methods": {},
    }
    first_code = True
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        kind = notebooks.cell_kind(cell)
        gid = notebooks.nbgrader_meta(cell).get("grade_id") or f"cell{index}"
        if kind == "answer":
            code = _python(strip_solution_markers(cell.source))
            plan["code"][gid] = code
            plan["base"].append((gid, code))
            plan["methods"][gid] = {
                name: solved_methods(cell.source, name) for name in defined_names(code)
            }
        elif kind == "test":
            plan["code"][gid] = _python(cell.source)
        elif first_code or _only_definitions(_python(cell.source)):
            plan["base"].append((gid, _python(cell.source)))
        first_code = False
    return plan


# --------------------------------------------------------------------------------------------
# Running candidates
# --------------------------------------------------------------------------------------------


def _reset_state() -> None:
    """What the grading guard does before every test cell: seeds and torch switches."""
    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)


def _warm_up() -> None:
    """Import what torch imports lazily on first use (optimisers pull in ``torch._dynamo``).

    A candidate's time limit must not interrupt such an import half-way: the half-initialised
    module would break every later candidate.
    """
    import torch

    weight = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    (weight**2).sum().backward()
    optimizer.step()
    torch.optim.Adam([weight], lr=0.1).step()


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"candidate ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _refusal_disabled() -> Iterator[None]:
    """Make :func:`nmautils.checks.refusing` a no-op (to show what it prevents)."""
    import nmautils.checks

    original = nmautils.checks.refusing

    @contextlib.contextmanager
    def no_refusal(*helpers: Any, **kwargs: Any) -> Iterator[None]:
        yield

    nmautils.checks.refusing = no_refusal
    try:
        yield
    finally:
        nmautils.checks.refusing = original


class Harness:
    """One assignment's notebook, executed once, ready to test candidate answers."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.assignment = plan["assignment"]
        self.answer_tests: dict[str, list[str]] = plan["answer_tests"]
        self.code: dict[str, str] = plan["code"]
        self.methods: dict[str, dict[str, list[str]]] = plan["methods"]
        self.base: dict[str, Any] = {"__name__": "__main__"}
        #: what the model answer reports in each test cell's hidden tests (the reference)
        self.reference: dict[str, dict[str, dict]] = {}
        with self._quiet():
            for gid, code in plan["base"]:
                exec(compile(code, f"<{self.assignment}:{gid}>", "exec"), self.base)
            _warm_up()

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield

    def run(
        self,
        grade_id: str,
        kind: str,
        label: str,
        install: Callable[[dict[str, Any]], None],
        method_only: bool = False,
    ) -> Outcome:
        """Install a candidate into a copy of the namespace and run the exercise's test cells."""
        import matplotlib.pyplot as plt

        outcome = Outcome(grade_id, kind, label, method_only)
        ns = dict(self.base)
        start = time.perf_counter()
        try:
            with self._quiet(), _time_limit(CANDIDATE_TIMEOUT_S):
                _reset_state()
                install(ns)
        except Exception as err:  # the answer cell itself fails: every test cell fails
            for test in self.answer_tests[grade_id]:
                outcome.failed[test] = f"answer cell: {type(err).__name__}: {err}"
        else:
            for test in self.answer_tests[grade_id]:
                code = self.code[test]
                records: list[dict] = []
                try:
                    with self._quiet(), _time_limit(CANDIDATE_TIMEOUT_S):
                        _reset_state()
                        hidden.configure(HIDDEN_SEED, grading=True, sink=records)
                        exec(compile(code, f"<{self.assignment}:{test}>", "exec"), ns)
                except Exception as err:
                    outcome.failed[test] = f"{type(err).__name__}: {err}"[:300]
                else:
                    problems = self._judge(test, kind, records)
                    if problems:
                        outcome.failed[test] = "; ".join(problems)[:300]
                    else:
                        outcome.passed.append(test)
                finally:
                    hidden.configure(hidden.DEFAULT_SEED, grading=False)
        finally:
            plt.close("all")
        outcome.seconds = time.perf_counter() - start
        return outcome

    def _judge(self, test: str, kind: str, records: list[dict]) -> list[str]:
        """The grader's verdict on the hidden tests' reports (the model answer's run, which
        comes first for every exercise, is the reference)."""
        outputs = [{"output_type": "display_data", "data": {hidden.MIME: r}} for r in records]
        if kind == "solution":
            self.reference[test] = verdicts.reference_records(outputs)
            return [] if self.reference[test] else ["the model answer reports nothing"]
        return verdicts.judge(self.reference.get(test, {}), verdicts.collect(outputs))

    # ---------------------------------------------------------------------------- candidates

    def source_installer(self, code: str) -> Callable[[dict[str, Any]], None]:
        """Run ``code`` (plain Python, no markers) as the answer cell."""

        def install(ns: dict[str, Any]) -> None:
            exec(compile(code, f"<{self.assignment}:candidate>", "exec"), ns)

        return install

    def substitutes(self, grade_id: str) -> Iterator[tuple[str, Callable[[dict[str, Any]], None], bool]]:
        """(label, installer, method_only) for every public callable that fits the exercise."""
        helpers = public_callables()
        for name, solved in self.methods[grade_id].items():
            solution = self.base[name]
            if isinstance(solution, type):
                sig = inspect.signature(solution.__init__)
                sig = sig.replace(parameters=list(sig.parameters.values())[1:])
                methods = [(m, inspect.signature(getattr(solution, m))) for m in solved]
            else:
                sig, methods = inspect.signature(solution), []
            low, high = arity_range(sig)
            for label, helper in helpers.items():
                k = positional_arity(helper, low, high)
                if k is not None:
                    yield f"{name} = {label}", _bind(name, helper), False
                    yield (
                        f"{name} = {label} (first {k} arguments)",
                        _bind(name, positional_adapter(name, sig, helper, k)),
                        False,
                    )
                for method, msig in methods:
                    mlow, mhigh = arity_range(msig)  # includes self
                    for with_self in (False, True):
                        lo, hi = (mlow, mhigh) if with_self else (mlow - 1, mhigh - 1)
                        k = positional_arity(helper, max(lo, 0), hi)
                        if k is None:
                            continue
                        adapter = positional_adapter(method, msig, helper, k, skip=0 if with_self else 1)
                        subclass = type(name, (solution,), {method: adapter})
                        yield (
                            f"{name}.{method} delegates to {label}"
                            + (" (self first)" if with_self else ""),
                            _bind(name, subclass),
                            True,
                        )


def _bind(name: str, obj: Any) -> Callable[[dict[str, Any]], None]:
    def install(ns: dict[str, Any]) -> None:
        ns[name] = obj

    return install


def run_plan(
    plan: dict[str, Any],
    mutants: dict[str, str] | None = None,
    delegates: dict[str, list[str]] | None = None,
) -> list[Outcome]:
    """Every candidate of every exercise of the plan's assignment (see :func:`make_plan`).

    ``mutants`` and ``delegates`` default to ``MUTANTS`` and ``DELEGATES`` of
    ``tests/grading/mutants/<assignment>.py``.
    """
    assignment = plan["assignment"]
    if mutants is None or delegates is None:
        module = load_mutant_module(assignment)
        if mutants is None:  # the first mutant of each answer (MUTANTS holds a list per answer)
            mutants = {answer: wrong[0] for answer, wrong in module.MUTANTS.items()}
        delegates = dict(getattr(module, "DELEGATES", {})) if delegates is None else delegates
    harness = Harness(plan)
    unknown = set(delegates) - set(harness.answer_tests)
    if unknown:
        raise KeyError(f"DELEGATES of {assignment} name no answer cells: {sorted(unknown)}")
    outcomes = []
    run, source = harness.run, harness.source_installer
    for grade_id in harness.answer_tests:
        outcomes.append(run(grade_id, "solution", "model answer", source(harness.code[grade_id])))
        if grade_id in mutants:
            outcomes.append(run(grade_id, "mutant", "MUTANTS", source(mutants[grade_id])))
        for i, text in enumerate(delegates.get(grade_id, [])):
            outcomes.append(run(grade_id, "delegate", f"DELEGATES[{i}]", source(text)))
            with _refusal_disabled():
                outcomes.append(run(grade_id, "delegate_unrefused", f"DELEGATES[{i}]", source(text)))
        for label, install, method_only in harness.substitutes(grade_id):
            outcomes.append(run(grade_id, "substitute", label, install, method_only))
    return outcomes


def judge(outcomes: list[Outcome]) -> list[str]:
    """One line per outcome that breaks the rules (empty when every exercise is safe).

    - the model answer passes every test cell (else the harness, not the candidates, fails);
    - a mutant and a delegate fail every test cell of their exercise;
    - a delegate passes every test cell when :func:`nmautils.checks.refusing` is disabled (so
      the refusal is what stops it, and the wrapper is a real answer worth keeping);
    - a public callable put in place of the exercise fails every test cell; a class with one
      delegating method fails at least one (its other methods are the model answer).
    """
    problems = []
    for o in outcomes:
        where = f"{o.grade_id}: {o.kind} {o.label!r}"
        if o.kind in ("solution", "delegate_unrefused") and o.failed:
            problems.append(f"{where} fails {o.failed}")
        elif o.kind in ("mutant", "delegate") and o.passed:
            problems.append(f"{where} passes {o.passed}")
        elif o.kind == "substitute" and o.method_only and not o.failed:
            problems.append(f"{where} passes every test cell {o.passed}")
        elif o.kind == "substitute" and not o.method_only and o.passed:
            problems.append(f"{where} passes {o.passed}")
    return problems


def main(argv: list[str]) -> int:
    """``substitution_harness.py --plan FILE...`` (plans as JSON) or ``... ASSIGNMENT...``.

    Prints :data:`RESULT_MARK` and a JSON object: assignment -> list of outcome records.
    """
    if argv[:1] == ["--plan"]:
        plans = [json.loads(Path(path).read_text()) for path in argv[1:]]
    else:
        plans = [make_plan(assignment) for assignment in argv]
    results = {plan["assignment"]: [asdict(o) for o in run_plan(plan)] for plan in plans}
    print(RESULT_MARK + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
