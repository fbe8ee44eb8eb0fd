"""Unit-test hygiene shared by tests/unit."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _no_figure_left_open():
    """A test that leaves a pyplot figure open fails: open figures pile up in a long run and make
    other tests' figure counts wrong."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    before = set(pyplot.get_fignums()) if pyplot is not None else set()
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    left = sorted(set(pyplot.get_fignums()) - before)
    for number in left:
        pyplot.close(number)
    assert not left, f"the test left {len(left)} pyplot figure(s) open"
