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


def pytest_collection_modifyitems(config, items):
    """Keep each test file on one pytest-xdist worker (``--dist loadgroup``), as ``loadfile``
    would, except where a test names its own ``xdist_group``: the parametrised grading and fault
    modules group by assignment, so the assignments spread over the workers while each
    assignment's expensive grading run is made once."""
    for item in items:
        if not any(m.name == "xdist_group" for m in item.iter_markers()):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
