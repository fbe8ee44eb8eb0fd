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


def _share_reference_values(config) -> None:
    """One fixture seed for the whole run, drawn here, and one folder for the model answers'
    reference values: the suite's many grading processes (xdist workers, nbgrader and ``grade``
    commands, Dask) then run each model answer once instead of once per grading run. Set by the
    controller, which the workers and every process they start inherit; removed at the end."""
    from nmautils.course.guard import FIXTURE_SEED_VARIABLE
    from nmautils.course.verdicts import STORE_VARIABLE

    if hasattr(config, "workerinput") or os.environ.get(STORE_VARIABLE):
        return
    import secrets
    import tempfile

    folder = tempfile.mkdtemp(prefix="nmautils-references-")
    os.environ.update({STORE_VARIABLE: folder,
                       FIXTURE_SEED_VARIABLE: str(secrets.randbelow(2**31))})
    config._nmautils_reference_store = folder


def pytest_unconfigure(config):
    import shutil

    folder = getattr(config, "_nmautils_reference_store", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_configure(config):
    # Same environment the build executes solutions in, so nbval reproduces the stored outputs.
    from nmautils.course.build import EXECUTION_ENV
    from nmautils.course.grading import thread_budget

    os.environ.update(EXECUTION_ENV)
    _share_reference_values(config)
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
    nbval.kernel.KernelManager = _nbval_kernel_manager()


#: The arithmetic nbval executes the solutions under. The committed outputs come from the build's
#: native arithmetic, so running them under another one is the suite's cross-configuration check.
NBVAL_CONFIG = "generic"


def _nbval_kernel_manager():
    """nbval's kernel manager: private sockets, and :data:`NBVAL_CONFIG`'s variables in the
    kernel's environment."""
    from nmautils.course.build import NUMERIC_CONFIGS
    from nmautils.course.sandbox import BlockingIPCKernelManager

    class NbvalKernelManager(BlockingIPCKernelManager):
        def start_kernel(self, **kwargs):
            kwargs["env"] = {**os.environ, **kwargs.get("env", {}), **NUMERIC_CONFIGS[NBVAL_CONFIG]}
            return super().start_kernel(**kwargs)

    return NbvalKernelManager


#: Seconds the expensive groups took in ``make test`` on the 2-core CI machine (one thread per
#: kernel; fresh-clone run of 2026-12-03, rounded down for the load other jobs added). Groups are
#: handed to the workers longest first (longest-processing-time order), so no long group starts
#: last while the others idle; unlisted groups count 0.2 s a test.
GROUP_SECONDS = {
    "tests/grading/test_hostile.py": 500,
    "tests/course/test_classgrade_dask.py": 350,
    "tests/grading/test_hostile_nbgrader.py": 220,
    "grading-assignment3_interpret": 190,
    "faults-tutorial1_decoding": 120,
    "grading-tutorial3_backprop": 120,
    "solutions/tutorial2_encoding/tutorial2_encoding.ipynb": 110,
    "tests/course/test_instructor_outside_repo.py": 95,
    "tests/browser/test_formgrader.py": 90,
    "grading-tutorial2_encoding": 75,
    "tests/grading/test_competition.py": 75,
    "tests/course/test_classgrade.py": 30,
    "grading-tutorial1_decoding": 55,
    "tests/course/test_main_job.py": 55,
    "tests/course/test_colab.py": 45,
    "tests/grading/test_substitution.py": 40,
    "tests/course/test_publish.py": 35,
    "solutions/tutorial3_backprop/tutorial3_backprop.ipynb": 35,
    "tests/course/test_fail_closed.py": 30,
    "tests/browser/test_student.py": 30,
    "tests/course/test_instructor_workflow.py": 25,
    "tests/course/test_feedback.py": 25,
    "solutions/assignment3_interpret/assignment3_interpret.ipynb": 25,
    "tests/course/test_home_url.py": 20,
    "tests/course/test_sandbox.py": 16,
    "solutions/tutorial1_decoding/tutorial1_decoding.ipynb": 12,
}


from xdist_groups import group_of, pytest_xdist_make_scheduler  # noqa: E402,F401 (the hook)


@pytest.fixture(autouse=True)
def _no_figure_left_open(request):
    """A unit test that leaves a pyplot figure open fails: open figures pile up in a long run and
    make other tests' figure counts wrong."""
    if "unit" not in request.node.path.parts:
        yield
        return
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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Order the tests by scheduling group (:func:`group_of`).

    ``make test`` runs tests/ and nbval over solutions/ in one ``--dist loadgroup`` run
    (:func:`pytest_xdist_make_scheduler`): a group per file (a notebook's cells share one
    kernel), and one per assignment in the grading and fault modules, so the workers share the
    expensive per-assignment runs out.
    Groups run most expensive first (:data:`GROUP_SECONDS`; xdist keeps the order because
    ``make test`` passes ``--no-loadscope-reorder``).
    """
    sizes: dict[str, int] = {}
    for item in items:
        sizes[group_of(item.nodeid)] = sizes.get(group_of(item.nodeid), 0) + 1

    def key(item):
        group = group_of(item.nodeid)
        cost = GROUP_SECONDS.get(group, 0.2 * sizes[group])
        return (-cost, group)

    items.sort(key=key)  # stable: tests keep their order within a group
