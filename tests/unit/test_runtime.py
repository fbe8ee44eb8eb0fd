"""nmautils.runtime: the set-up line names the versions and the device."""

import pytest
import torch

import nmautils
from nmautils.runtime import runtime_line, show_runtime


def test_runtime_line_names_versions_and_device(monkeypatch, capsys):
    monkeypatch.setenv("NMAUTILS_DEVICE", "cpu")
    line = runtime_line()
    assert line == (f"nmautils {nmautils.__version__} | torch {torch.__version__.split('+')[0]} "
                    "| device: cpu")
    assert show_runtime() == torch.device("cpu")
    assert capsys.readouterr().out == line + "\n"


def test_cuda_is_named_with_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    try:
        line = runtime_line("cuda")
    except ValueError:  # pick_device may check more than is_available
        pytest.skip("pick_device needs a real GPU to accept 'cuda'")
    assert line.endswith("device: cuda (Tesla T4)")


def test_unknown_device_is_refused():
    with pytest.raises(ValueError):
        runtime_line("warp-drive")
