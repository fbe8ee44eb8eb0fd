"""Test-suite set-up: notebooks (nbval kernels, autograding) run on the synthetic data, offline."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")


def pytest_configure(config):
    # Same environment the build executes solutions in, so nbval reproduces the stored outputs.
    from nmautils.course.build import EXECUTION_ENV

    os.environ.update(EXECUTION_ENV)
