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
    # kernels asking for all cores each run several times slower on a 2-core machine). The
    # controller of an xdist run executes nothing: it must not set the variables, or its
    # workers would inherit its one-process budget as a value "the user set".
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
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

#: Seconds the expensive groups took in ``make test`` on the 2-core CI machine (one thread per
#: kernel). Groups are handed to the workers longest first (longest-processing-time order), so
#: no long group starts last while the other worker idles; unlisted groups count 0.2 s a test.
GROUP_SECONDS = {
    "grading-tutorial3_backprop": 200,
    "grading-tutorial2_encoding": 150,
    "grading-assignment3_interpret": 150,
    "grading-tutorial1_decoding": 90,
    "faults-tutorial3_backprop": 120,
    "faults-tutorial2_encoding": 90,
    "faults-assignment3_interpret": 90,
    "faults-tutorial1_decoding": 90,
    "tests/grading/test_hostile.py": 140,
    "tests/grading/test_substitution.py": 90,
    "tests/grading/test_competition.py": 90,
    "tests/course/test_instructor_outside_repo.py": 90,
    "tests/course/test_instructor_workflow.py": 90,
    "tests/course/test_classgrade.py": 60,
    "tests/course/test_feedback.py": 40,
    "tests/course/test_colab.py": 40,
}


def _group(item) -> str:
    return next(m.args[0] for m in item.iter_markers("xdist_group"))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into scheduling groups
def pytest_collection_modifyitems(session, config, items):
    """Order the tests, and give each an ``xdist_group`` for ``--dist loadgroup``.

    ``make test`` runs tests/ with ``--dist loadgroup``: a group per file, and one per
    assignment in the grading and fault modules (their own marks), so the two workers share
    the expensive per-assignment runs out. nbval's solutions run separately with
    ``--dist loadfile`` (a notebook's cells must share one kernel).
    Groups run in this order: RUN_FIRST, then the most expensive first (:data:`GROUP_SECONDS`;
    xdist keeps the order because ``make test`` passes ``--no-loadscope-reorder``).
    """
    for item in items:
        if not any(m.name == "xdist_group" for m in item.iter_markers()):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    sizes: dict[str, int] = {}
    for item in items:
        sizes[_group(item)] = sizes.get(_group(item), 0) + 1

    def key(item):
        group = _group(item)
        cost = GROUP_SECONDS.get(group, 0.2 * sizes[group])
        return (item.nodeid.split("::", 1)[0] not in RUN_FIRST, -cost, group)

    items.sort(key=key)  # stable: tests keep their order within a group
