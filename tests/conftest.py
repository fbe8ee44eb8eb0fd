"""Test-suite set-up: notebooks (nbval kernels, autograding) run on the synthetic data, offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

# Shared harnesses (grading round trips, fault and hostile catalogues, the Colab comparison) live
# in tests/harness/ and are imported by name from the unit/, course/ and grading/ folders.
sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))


def pytest_configure(config):
    # Same environment the build executes solutions in, so nbval reproduces the stored outputs.
    from nmautils.course.build import EXECUTION_ENV
    from nmautils.course.grading import thread_budget

    os.environ.update(EXECUTION_ENV)
    # pytest-xdist workers run kernels side by side: each gets its share of the cores (two
    # kernels asking for all cores each run several times slower on a 2-core machine).
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    budget = thread_budget(workers)
    os.environ.update(budget)
    import torch

    torch.set_num_threads(int(budget["OMP_NUM_THREADS"]))
    # nbval's kernels talk over Unix sockets like every other kernel of the project.
    try:
        import nbval.kernel
    except ImportError:  # nbval not installed: nothing to configure
        return
    from nmautils.course.sandbox import BlockingIPCKernelManager

    nbval.kernel.KernelManager = BlockingIPCKernelManager


#: Test files that start before everything else under ``pytest -n 2 --dist loadgroup
#: --no-loadscope-reorder`` (``make test``): the main job in a fresh clone is the longest single
#: test (every solution notebook under the generic arithmetic), so it must not be the tail.
RUN_FIRST = ("tests/course/test_main_job.py",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into scheduling groups
def pytest_collection_modifyitems(session, config, items):
    """Order the tests, and give each an ``xdist_group`` for ``--dist loadgroup``.

    ``make test`` runs tests/ with ``--dist loadgroup``: a group per file, and one per
    assignment in the grading and fault modules (their own marks), so the two workers share
    the expensive per-assignment runs out. nbval's solutions run separately with
    ``--dist loadfile`` (a notebook's cells must share one kernel).
    Files run in this order: RUN_FIRST, then files with more tests first (xdist's default order,
    which ``--no-loadscope-reorder`` turns off so that RUN_FIRST can lead).
    """
    counts: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        counts[path] = counts.get(path, 0) + 1
        if not any(m.name == "xdist_group" for m in item.iter_markers()):
            item.add_marker(pytest.mark.xdist_group(path))

    def key(item):
        path = item.nodeid.split("::", 1)[0]
        return (path not in RUN_FIRST, -counts[path], path)

    items.sort(key=key)  # stable: tests keep their order within a file
