"""The environment nbval executes solutions/ in (``make test`` runs this file beside solutions/).

nbval's notebook items sit outside tests/, so they get tests/conftest.py only when a test of
tests/ is collected in the same run: this file is that test, and it checks that the set-up
reached the kernels' environment - the build's variables (surrogate data, strict claims and
margins), each worker's share of the cores, kernels over Unix sockets, and the second
arithmetic (``conftest.NBVAL_CONFIG``).
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

    assert issubclass(nbval.kernel.KernelManager, BlockingIPCKernelManager)


def test_nbval_kernels_run_under_the_second_arithmetic():
    """The committed outputs come from the native build; nbval re-executes them under
    ``NBVAL_CONFIG``, which must reach the kernel (torch picks its kernels at import)."""
    from conftest import NBVAL_CONFIG
    from nbval.kernel import RunningKernel

    from nmautils.course.build import NUMERIC_CONFIGS

    config = NUMERIC_CONFIGS[NBVAL_CONFIG]
    assert config, "nbval must not run under the arithmetic that made the committed outputs"
    kernel = RunningKernel(":nbval-parent-env")
    try:
        names = sorted(config)
        kernel.kc.execute(f"import os, torch; print(repr({{k: os.environ.get(k) for k in {names!r}}}), "
                          "torch.backends.cpu.get_cpu_capability())")
        printed = ""
        while True:
            msg = kernel.kc.get_iopub_msg(timeout=60)
            if msg["msg_type"] == "stream":
                printed += msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        kernel.stop()
    seen, capability = printed.rsplit(" ", 1)
    assert eval(seen) == config, printed  # noqa: S307 (our own kernel's repr of a dict of str)
    assert capability.strip() == config["ATEN_CPU_CAPABILITY"].upper(), printed
