"""Tests of nmautils.checks: good input passes silently, bad input fails with a helpful message."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nmautils import checks


def test_check():
    checks.check(True, "never shown")
    with pytest.raises(AssertionError, match=r"^loss should decrease\nHint: look at zero_grad$"):
        checks.check(False, "loss should decrease", hint="look at zero_grad")
    with pytest.raises(AssertionError, match=r"^plain message$"):
        checks.check(False, "plain message")


def test_check_type():
    checks.check_type(torch.zeros(2), torch.Tensor, "x")
    checks.check_type(3, (int, float), "n")
    with pytest.raises(AssertionError, match="x should be a Tensor, but it is a list"):
        checks.check_type([1, 2], torch.Tensor, "x")
    with pytest.raises(AssertionError, match="n should be a int or float, but it is a str"):
        checks.check_type("3", (int, float), "n")


def test_check_shape():
    checks.check_shape(torch.zeros(4, 1), (4, 1), "out")
    checks.check_shape(np.zeros((7, 3)), (None, 3), "out")
    checks.check_shape([1, 2, 3], (3,), "list")
    with pytest.raises(
        AssertionError, match=r"out should have shape \(4, 1\), but it has shape \(4,\)"
    ):
        checks.check_shape(torch.zeros(4), (4, 1), "out")
    with pytest.raises(
        AssertionError, match=r"should have shape \(any, 3\), but it has shape \(7, 2\)"
    ):
        checks.check_shape(torch.zeros(7, 2), (None, 3), "out")
    with pytest.raises(
        AssertionError,
        match=r"v should have shape \(5,\), but it has shape \(4,\)\.\nHint: flatten it",
    ):
        checks.check_shape(torch.zeros(4), (5,), "v", hint="flatten it")


def test_check_dtype():
    checks.check_dtype(torch.zeros(2), torch.float32, "x")
    checks.check_dtype(np.zeros(2, dtype=np.int64), np.int64, "y")
    with pytest.raises(
        AssertionError, match="should have dtype torch.int64, but it has dtype torch.float32"
    ):
        checks.check_dtype(torch.zeros(2), torch.int64, "classes")
    with pytest.raises(AssertionError, match="dtype None"):
        checks.check_dtype([1, 2], torch.int64, "classes")


def test_check_finite():
    checks.check_finite(torch.ones(3), "x")
    checks.check_finite(np.zeros((2, 2)), "x")
    with pytest.raises(AssertionError, match="loss contains NaN or infinite values"):
        checks.check_finite(torch.tensor([1.0, float("nan")]), "loss")
    with pytest.raises(AssertionError, match="NaN or infinite"):
        checks.check_finite(np.array([np.inf]), "w")
    checks.check_finite(torch.ones(2, requires_grad=True) * 2, "grad tensor")


def test_check_close():
    checks.check_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]), "w")
    checks.check_close(0.1 + 0.2, 0.3, "sum")
    with pytest.raises(AssertionError, match="sum should be 0.3, but it is 0.4"):
        checks.check_close(0.4, 0.3, "sum")
    with pytest.raises(AssertionError, match=r"largest difference 0\.5"):
        checks.check_close(torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]), "w")
    with pytest.raises(
        AssertionError, match=r"w should have shape \(3,\), but it has shape \(2,\)"
    ):
        checks.check_close(torch.zeros(2), torch.zeros(3), "w")
    checks.check_close(1.05, 1.0, "loose", rtol=0.1)


def test_passed(capsys):
    checks.passed()
    assert capsys.readouterr().out == "\u2714 All visible checks passed.\n"
    checks.passed("Well done.")
    assert capsys.readouterr().out == "\u2714 Well done.\n"


def test_public_names_are_tested():
    """Every public name of nmautils.checks is called or named by some other test here."""
    before, _, after = Path(__file__).read_text().partition("def test_public_names_are_tested")
    others = before + after.split("\n\n\n", 1)[-1]  # every test but this one
    untested = [name for name in checks.__all__ if f"{name}(" not in others and f"{name}," not in others]
    assert not untested


# ---------------------------------------------------------------------------------- refusing


def test_refusing_catches_aliases_and_copies_and_restores():
    import types

    from nmautils.analysis import stimulus_class
    from nmautils.analysis import stimulus_class as alias

    copy = types.FunctionType(stimulus_class.__code__, stimulus_class.__globals__)
    original_code = stimulus_class.__code__
    with checks.refusing(stimulus_class, exercise="exercise 4"):
        for f in (stimulus_class, alias, copy):
            with pytest.raises(checks.HelperRefused) as err:
                f(torch.tensor([10.0]), 2)
            assert str(err.value) == (
                "exercise 4 must be solved without nmautils.analysis.stimulus_class(); "
                "write the code yourself."
            )
            assert isinstance(err.value, AssertionError)  # a failed test, like a check
    assert stimulus_class.__code__ is original_code and copy.__code__ is original_code
    assert stimulus_class(torch.tensor([10.0, 200.0]), 2).tolist() == [0, 1]


def test_refusing_restores_after_an_error_and_takes_methods():
    from nmautils.models import Model
    from nmautils.train import train_full_batch

    code = train_full_batch.__code__
    with pytest.raises(ZeroDivisionError):
        with checks.refusing(train_full_batch, Model.loss):
            with pytest.raises(checks.HelperRefused, match="without nmautils.models.Model.loss"):
                Model.loss(np.zeros(2), np.zeros(2))
            raise ZeroDivisionError("a failing hidden test")
    assert train_full_batch.__code__ is code
    assert Model.loss(np.zeros(2), np.ones(2)) == 1.0


def test_refusing_helpers_with_a_closure():
    # a function with free variables, compiled as if it were part of the package
    path = checks.__file__
    namespace: dict = {}
    source = "def make(k):\n    def scaled(x):\n        return k * x\n    return scaled\n"
    exec(compile(source, path, "exec"), namespace)
    scaled = namespace["make"](3)
    with checks.refusing(scaled):
        with pytest.raises(checks.HelperRefused, match="without"):
            scaled(2)
    assert scaled(2) == 6


def test_refusing_rejects_what_it_cannot_refuse():
    def own(x):
        return x

    with pytest.raises(TypeError, match="defined in the nmautils package"):
        with checks.refusing(own):
            pass
    with pytest.raises(TypeError, match="Python functions of nmautils"):
        with checks.refusing(len):
            pass
    # a failed start leaves nothing swapped
    from nmautils.analysis import stimulus_class

    with pytest.raises(TypeError):
        with checks.refusing(stimulus_class, own):
            pass
    assert stimulus_class(torch.tensor([10.0]), 2).tolist() == [0]


def test_refusing_swaps_the_helper_even_when_gc_finds_nothing(monkeypatch):
    import gc

    from nmautils.analysis import stimulus_class

    monkeypatch.setattr(gc, "get_referrers", lambda *objects: [])  # an answer cell's sabotage
    with checks.refusing(stimulus_class):
        with pytest.raises(checks.HelperRefused):
            stimulus_class(torch.tensor([10.0]), 2)
    assert stimulus_class(torch.tensor([10.0]), 2).tolist() == [0]


# ------------------------------------------------------- what a notebook shows when it fails

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture
def shell():
    """A fresh IPython shell in this process (its tracebacks are printed to stdout)."""
    from IPython.core.interactiveshell import InteractiveShell

    saved_hooks = (sys.displayhook, sys.excepthook)
    ip = InteractiveShell.instance()
    try:
        yield ip
    finally:
        InteractiveShell.clear_instance()
        sys.displayhook, sys.excepthook = saved_hooks


def _shown(capsys) -> list[str]:
    """The non-empty lines the shell printed, without colours."""
    return [line for line in _ANSI.sub("", capsys.readouterr().out).splitlines() if line.strip()]


_NOT_DONE = "is not done yet: replace `raise NotImplementedError()` with your code."

_MODULE_ANSWER = """\
import torch
from torch import nn


class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
        self.in_layer = nn.Linear(n_inputs, n_hidden)

    def forward(self, r):
        # YOUR CODE HERE
        raise NotImplementedError()
"""


def test_a_failed_check_shows_the_cell_message_and_hint_without_nmautils_frames(shell, capsys):
    cell = ("from nmautils import checks\n"
            "_total = 0.4\n"
            "checks.check_close(_total, 0.3, 'sum', hint='add them')\n")
    result = shell.run_cell(cell)
    assert type(result.error_in_exec) is AssertionError  # the cell fails, as before
    shown = _shown(capsys)
    text = "\n".join(shown)
    assert str(Path(checks.__file__).parent) not in text and "checks.py" not in text
    assert shown[-2:] == ["AssertionError: sum should be 0.3, but it is 0.4.", "Hint: add them"]
    # the arrow still points at the cell's line (feedback.py finds hidden-test failures by it)
    assert re.search(r"^\s*-+>\s*3\b", text, re.M), text


def test_a_failed_check_renders_its_message_outside_ipython(monkeypatch):
    import pickle

    from nmautils import _tracebacks

    monkeypatch.setattr(_tracebacks, "_shell", lambda: None)
    with pytest.raises(AssertionError, match=r"^m\nHint: h$") as err:
        checks.check(False, "m", hint="h")
    assert type(err.value) is AssertionError
    assert err.value._render_traceback_() == ["AssertionError: m", "Hint: h"]
    assert str(pickle.loads(pickle.dumps(err.value))) == "m\nHint: h"


def test_an_unfinished_answer_shows_one_line_naming_the_exercise(shell, capsys):
    from nmautils import _tracebacks

    assert _tracebacks.install(shell)
    assert shell.run_cell(_MODULE_ANSWER).success
    result = shell.run_cell("# Checks for Exercise 1 (uses its own small networks).\n"
                            "import torch\n"
                            "_net = DeepNetReLU(3, 2)\n"
                            "_net(torch.zeros(4, 3))\n")
    assert type(result.error_in_exec) is NotImplementedError  # the cell still fails
    assert _shown(capsys) == [f"NotImplementedError: Exercise 1 (`DeepNetReLU.forward`) {_NOT_DONE}"]
    assert str(result.error_in_exec) == f"Exercise 1 (`DeepNetReLU.forward`) {_NOT_DONE}"


def test_an_unfinished_answer_without_an_exercise_number(shell, capsys):
    from nmautils import _tracebacks

    assert _tracebacks.install(shell)
    shell.run_cell("def fit_1d(x, y):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n")
    shell.run_cell("def outer(x):\n    return fit_1d(x, x)\n")
    shell.run_cell("_w = fit_1d(1.0, 2.0)\n")
    assert _shown(capsys) == [f"NotImplementedError: `fit_1d` {_NOT_DONE}"]
    # another exercise's stub reached through this cell's function: named, but not numbered
    shell.run_cell("# Checks for Exercise 4\n_w = outer(1.0)\n")
    assert _shown(capsys) == [f"NotImplementedError: `fit_1d` {_NOT_DONE}"]
    shell.run_cell("# YOUR CODE HERE\nraise NotImplementedError()\n")
    assert _shown(capsys) == [f"NotImplementedError: This cell {_NOT_DONE}"]


def test_other_not_implemented_errors_keep_their_traceback(shell, capsys):
    from nmautils import _tracebacks

    assert _tracebacks.install(shell)
    result = shell.run_cell("def f():\n    raise NotImplementedError('only for tensors')\nf()\n")
    assert str(result.error_in_exec) == "only for tensors"
    shown = _shown(capsys)
    assert len(shown) > 3 and shown[-1] == "NotImplementedError: only for tensors"
    assert not hasattr(result.error_in_exec, "_render_traceback_")


def test_install_keeps_another_custom_handler(shell):
    from nmautils import _tracebacks

    shell.set_custom_exc((KeyError,), lambda *args, **kwargs: None)
    assert not _tracebacks.install(shell)
    assert shell.custom_exceptions == (KeyError,)
