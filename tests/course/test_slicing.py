"""Which demonstration cells grading skips (nmautils/course/slicing.py, used by guard.py)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nmautils.course import notebooks, slicing
from nmautils.course.build import assignments, source_path


def _cell(source: str, role: str) -> nbformat.NotebookNode:
    """A code cell: "demo" (locked, tagged), "locked" (locked, untagged), "answer", "test", "free"."""
    cell = new_code_cell(source)
    if role in ("demo", "locked"):
        cell.metadata.nbgrader = {"grade_id": f"ro{id(cell)}", "locked": True, "solution": False,
                                  "grade": False}
    elif role == "answer":
        cell.metadata.nbgrader = {"grade_id": "ex_a", "locked": False, "solution": True,
                                  "grade": False}
    elif role == "test":
        cell.metadata.nbgrader = {"grade_id": "test_a", "locked": True, "solution": False,
                                  "grade": True, "points": 1}
    if role == "demo":
        cell.metadata.tags = [slicing.DEMO_TAG]
    return cell


def skipped(*cells: tuple[str, str]) -> list[int]:
    return sorted(slicing.cells_to_skip([_cell(src, role) for src, role in cells]))


def test_a_demonstration_nothing_reads_is_skipped_and_its_sources_kept():
    assert skipped(
        ("import numpy as np", "locked"),
        ("data = np.arange(3)", "demo"),        # read by the answer: kept
        ("fig = plot(data)", "demo"),           # may change data: kept
        ("fig = plot(np.ones(3))", "demo"),     # nothing reads fig: skipped
        ("unused = np.zeros(9)", "demo"),       # skipped
        ("def total():\n    return data.sum()", "answer"),
        ("assert total() == 3", "test"),
    ) == [3, 4]


def test_chains_are_kept_whole():
    assert skipped(
        ("raw = load()", "demo"),
        ("clean = raw * 2", "demo"),
        ("model = fit(clean)", "demo"),
        ("def f():\n    return model", "answer"),
    ) == []


def test_a_use_that_may_change_data_keeps_the_cell():
    assert skipped(
        ("import numpy as np\nnet = make()", "locked"),
        ("train(net, 100)", "demo"),                 # may change net, which the answer reads
        ("print(len(np.ones(3)))", "demo"),          # np, print, len: nothing changes
        ("def g(x):\n    return net(x) + np.pi", "answer"),
    ) == [2]
    for change in ("net.fit()", "net.layer.weight.zero_()", "net.w = 0", "net[0] = 1",
                   "del net[0]", "alias = net", "show([net])", "f(key=net)", "net(x)",
                   "for k in net:\n    pass", "with net:\n    pass", "[k for k in net]"):
        assert skipped(("net = make()", "locked"), (change, "demo"),
                       ("def g():\n    return net", "answer")) == [], change


def test_reading_data_in_operators_f_strings_and_pure_builtins_changes_nothing():
    for read in ("print(f'{err:.1f}', len(err))", "ok = err > 3 * base", "y = -err + 1",
                 "if err:\n    pass", "z = table[err]", "w = err.shape[0] + 1", "err"):
        assert skipped(("err = compute()", "locked"), (read, "demo"),
                       ("def g():\n    return err", "answer")) == [1], read
    # ... unless a cell rebinds the builtin
    assert skipped(("err = compute()\nprint = record", "locked"), ("print(err)", "demo"),
                   ("def g():\n    return err", "answer")) == []


def test_what_a_function_changes_counts_for_every_cell_that_calls_something():
    cells = [("log = []", "locked"), ("def note(k):\n    log.append(k)", "locked"),
             ("note(1)", "demo"), ("x = 2", "demo"), ("def g():\n    return log", "answer")]
    assert skipped(*cells) == [3]
    cells[1] = ("class Box:\n    def put(self):\n        global log\n        log = [1]", "locked")
    cells[2] = ("box.put()", "demo")
    assert skipped(*cells) == [3]
    # a lambda that calls a function by name: whoever calls the lambda may run the function
    cells[1] = ("def note(k):\n    log.append(k)\nlater = lambda: note(1)", "locked")
    cells[2] = ("run(later)", "demo")
    assert skipped(*cells) == [3]


def test_a_name_surely_replaced_later_frees_the_cells_above():
    cells = [("x = slow()", "demo"), ("x = 1", "demo"), ("y = x", "answer")]
    assert skipped(*cells) == [0]
    # a binding in a branch or loop may not happen: the cell above stays
    assert skipped(("x = slow()", "demo"), ("if c:\n    x = 1", "demo"), ("y = x", "answer")) == []
    assert skipped(("x = slow()", "demo"), ("for i in r:\n    x = i", "demo"),
                   ("y = x", "answer")) == []
    # a cell that reads x before binding it needs the x above
    assert skipped(("x = slow()", "demo"), ("x = x + 1", "demo"), ("y = x", "answer")) == []


def test_local_names_of_functions_and_comprehensions_are_not_global_reads():
    assert skipped(
        ("net = big()\nk = 3", "demo"),
        ("def f(net):\n    k = 2\n    return [net * i for i in range(k)]", "answer"),
    ) == [0]
    assert skipped(("k = 3", "demo"), ("def f(x):\n    return x * k", "answer")) == []


def test_code_that_reaches_the_namespace_dynamically_keeps_everything_above():
    for dynamic in ("globals()['data']", "eval('data')", "import sys\nsys.modules['__main__']",
                    "get_ipython().user_ns", "Out[3]", "from helpers import *", "def f(:"):
        cells = [("data = 1", "demo"), ("other = 2", "demo"), (dynamic, "answer"),
                 ("late = 3", "demo")]
        assert skipped(*cells) == [3], dynamic


def test_instructor_cells_that_always_run_may_use_magics():
    assert skipped(("%pip install x\nimport numpy as np", "locked"), ("z = np.ones(1)", "demo"),
                   ("def f():\n    return np.pi", "answer")) == [1]


def test_only_tagged_locked_cells_are_ever_skipped():
    for role in ("locked", "answer", "test", "free"):
        cell = _cell("unused = 1", role)
        cell.metadata.setdefault("tags", []).append(slicing.DEMO_TAG)
        assert slicing.cells_to_skip([cell]) == (set() if role != "locked" else {0}), role


@pytest.mark.parametrize("assignment", assignments())
def test_every_read_only_cell_after_the_setup_cell_is_a_demo(assignment):
    nb = notebooks.read(source_path(assignment))
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not slicing.is_demo(code[0]), "the set-up cell must always run"
    untagged = [c.source[:60] for c in code[1:] if notebooks.cell_kind(c) == "readonly"
                and not slicing.is_demo(c)]
    assert not untagged, f"read-only cells after the set-up cell without the demo tag: {untagged}"
    for cell in nb.cells:
        if slicing.DEMO_TAG in cell.metadata.get("tags", []):
            assert slicing.is_demo(cell), cell.source[:60]


def test_the_solutions_of_the_tutorials_need_none_of_their_demonstrations():
    """Tutorials 1 and 2 test every answer on its own fixtures: grading runs no demonstration."""
    for assignment in ("tutorial1_decoding", "tutorial2_encoding"):
        nb = notebooks.read(source_path(assignment))
        demos = {i for i, c in enumerate(nb.cells) if slicing.is_demo(c)}
        assert demos and slicing.cells_to_skip(nb.cells) == demos, assignment


def test_grading_skips_what_nothing_needs_and_runs_the_rest():
    """The guarded executor on a small notebook: a demonstration that would fail or kill the kernel
    is skipped; one that changes what the answer reads runs; with skipping off, all run."""
    from nmautils.course.guard import GuardedExecute

    def make():
        return new_notebook(cells=[
            _cell("total = 0", "locked"),
            _cell("data = [1, 2, 3]", "demo"),
            _cell("raise RuntimeError('a demonstration ran')", "demo"),
            _cell("data.append(4)", "demo"),
            _cell("def answer():\n    return sum(data)", "answer"),
            _cell("assert answer() == 10\n### BEGIN HIDDEN TESTS\n"
                  "from nmautils.course.hidden import expect\nexpect('sum', answer())\n"
                  "### END HIDDEN TESTS", "test"),
            _cell("import os\nos._exit(1)", "demo"),
        ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}})

    # reference mode: the toy test's values are recorded (a grading run would compare them with
    # those of a source notebook, which this toy has none of)
    resources = {"nbgrader": {"assignment": "toy"}, "metadata": {"path": "."}}
    nb, _ = GuardedExecute(timeout=60, sandbox=False, reference_mode=True).preprocess(
        make(), dict(resources))
    errors = [i for i, c in enumerate(nb.cells) if any(o.output_type == "error" for o in c.outputs)]
    ran = [i for i, c in enumerate(nb.cells) if c.execution_count]
    assert errors == [] and ran == [0, 1, 3, 4, 5]

    nb, _ = GuardedExecute(timeout=60, sandbox=False, skip_demo_cells=False, reference_mode=True,
                           max_kernel_restarts=1).preprocess(make(), dict(resources))
    assert any(o.output_type == "error" for o in nb.cells[2].outputs)
    assert nb.cells[5].execution_count and not any(o.output_type == "error"
                                                   for o in nb.cells[5].outputs)
