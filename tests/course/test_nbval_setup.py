"""The environment nbval executes solutions/ in (``make test`` runs this file beside solutions/).

nbval's notebook items sit outside tests/, so they get tests/conftest.py only when a test of
tests/ is collected in the same run: this file is that test, and it checks that the set-up
reached the kernels' environment - the build's variables (surrogate data, strict claims and
margins), each worker's share of the cores, and kernels over Unix sockets.
"""

from __future__ import annotations

import os

from nmautils.course.build import EXECUTION_ENV
from nmautils.course.grading import THREAD_VARIABLES, available_cores


def test_kernels_get_the_build_environment():
    for key, value in EXECUTION_ENV.items():
        assert os.environ.get(key) == value, key
    assert os.environ["NMAUTILS_DATA"] == "surrogate"


def test_kernels_share_the_cores():
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    for key in THREAD_VARIABLES:
        assert 1 <= int(os.environ[key]) <= max(1, available_cores() // workers), key


def test_nbval_kernels_use_unix_sockets():
    import nbval.kernel

    from nmautils.course.sandbox import BlockingIPCKernelManager

    assert nbval.kernel.KernelManager is BlockingIPCKernelManager
