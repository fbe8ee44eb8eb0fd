"""The kernel side of the grading guard, tested in-process on an IPython shell."""

from __future__ import annotations

import builtins
import sys

import numpy as np
import pytest
import torch
from torch import nn

from nmautils.course import kernel_guard


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    saved_hooks = (sys.displayhook, sys.excepthook)
    ip = InteractiveShell.instance()
    saved_state = kernel_guard._state
    kernel_guard._state = kernel_guard._State()
    try:
        yield ip
    finally:
        kernel_guard._state = saved_state
        InteractiveShell.clear_instance()
        sys.displayhook, sys.excepthook = saved_hooks


def test_reset_undoes_what_an_answer_cell_can_tamper_with(shell):
    ip = shell
    kernel_guard.install(0, ("numpy", "torch"), ("numpy", "torch"))
    original_eq, original_call = torch.Tensor.__eq__, nn.Module.__call__
    original_allclose, original_len = torch.allclose, builtins.len
    try:
        torch.Tensor.__eq__ = lambda self, other: True
        nn.Module.__call__ = lambda self, *a, **k: None
        torch.allclose = lambda *a, **k: True
        builtins.len = lambda x: 0
        builtins.sneaky = 1
        ip.showtraceback = lambda *a, **k: None
        ip.set_custom_exc((Exception,), lambda *a, **k: None)
        ip.input_transformers_cleanup.append(lambda lines: ["pass\n"])
        ip.ast_transformers.append(object())
        ip.events.register("post_run_cell", lambda result: None)
        sys.excepthook = lambda *a: None
        sys.settrace(lambda *a: None)

        changed = kernel_guard.reset()

        assert changed >= 10
        assert torch.Tensor.__eq__ is original_eq
        assert nn.Module.__call__ is original_call
        assert torch.allclose is original_allclose
        assert builtins.len is original_len
        assert not hasattr(builtins, "sneaky")
        assert "showtraceback" not in vars(ip)
        assert ip.custom_exceptions == ()
        assert all(getattr(t, "__name__", "") != "<lambda>" for t in ip.input_transformers_cleanup)
        assert ip.ast_transformers == []
        assert ip.events.callbacks["post_run_cell"] == kernel_guard._state.events["post_run_cell"]
        assert sys.gettrace() is None
        assert kernel_guard.reset() == 0  # nothing left to restore
    finally:
        torch.Tensor.__eq__, nn.Module.__call__ = original_eq, original_call
        torch.allclose, builtins.len = original_allclose, original_len
        sys.settrace(None)


def test_names_bound_by_instructor_cells_are_rebound(shell):
    ip = shell
    kernel_guard.install(0, ("numpy",), ("numpy",))
    ip.user_ns["np"] = np
    kernel_guard.record()
    ip.user_ns["np"] = "not numpy"
    kernel_guard.reset(seeds=False)
    assert ip.user_ns["np"] is np


def test_reset_reseeds_and_restores_torch_switches(shell):
    kernel_guard.install(0, ("torch",), ("torch",))
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    try:
        kernel_guard.reset()
        assert torch.get_default_dtype() == torch.float32
        assert torch.is_grad_enabled()
        first = torch.rand(3)
        kernel_guard.reset()
        assert torch.equal(first, torch.rand(3))
    finally:
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)

