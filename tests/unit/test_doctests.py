"""The docstring examples of every nmautils module run and print what they show.

``pytest tests`` covers them through this file (``make test`` is unchanged); the option flags
are pyproject's ``[tool.pytest.ini_options] doctest_optionflags``, so ``pytest --doctest-modules
nmautils`` checks the same examples the same way. Examples that need the network (downloading
the real data) carry ``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import matplotlib
import tomllib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import nmautils  # noqa: E402

#: Modules that are scripts, not libraries: importing them would run them.
SCRIPTS = {"nmautils.course.__main__", "nmautils.course._sandbox_entry"}

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(nmautils.__path__, prefix="nmautils.")
    if info.name not in SCRIPTS
)


def _optionflags() -> int:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    names = tomllib.loads(pyproject.read_text())["tool"]["pytest"]["ini_options"].get(
        "doctest_optionflags", ""
    )
    flags = 0
    for name in names.split():
        flags |= doctest.OPTIONFLAGS_BY_NAME[name]
    return flags


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """The examples run offline, on the CPU, without bars (as in the build)."""
    monkeypatch.setenv("NMAUTILS_DATA", "surrogate")
    monkeypatch.setenv("NMAUTILS_SURROGATE_SIZE", "small")
    monkeypatch.setenv("NMAUTILS_PROGRESS", "off")
    monkeypatch.setenv("NMAUTILS_DEVICE", "cpu")
    yield
    plt.close("all")


def test_the_walk_finds_every_module():
    assert {f"nmautils.{name}" for name in nmautils._SUBMODULES} <= set(MODULES)
    assert "nmautils._validate" in MODULES


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=_optionflags())
    failures = []
    for test in finder.find(module, module_name):
        runner.run(test, out=failures.append)
    assert not failures, "".join(failures)
