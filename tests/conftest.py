"""Test-suite set-up: notebooks (nbval kernels, autograding) run on the synthetic data, offline."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")


def pytest_configure(config):
    # Same environment the build executes solutions in, so nbval reproduces the stored outputs.
    from nmautils.course.build import EXECUTION_ENV

    os.environ.update(EXECUTION_ENV)


#: Test files that start before everything else under ``pytest -n 2 --dist loadgroup
#: --no-loadscope-reorder`` (``make test``): the main job in a fresh clone is the longest single
#: test (every solution notebook under the generic arithmetic), so it must not be the tail.
RUN_FIRST = ("tests/test_main_job.py",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into scheduling groups
def pytest_collection_modifyitems(session, config, items):
    """Order the tests, and give each an ``xdist_group`` for ``--dist loadgroup``.

    ``make test`` uses ``--dist loadfile`` (nbval's cells of one notebook must share a kernel, and
    loadgroup splits them); the groups - one per file, one per assignment in the grading and
    fault modules - are for local runs of ``pytest tests -n 2 --dist loadgroup``.
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
