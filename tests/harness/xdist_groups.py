"""Scheduling groups for ``pytest -n N --dist loadgroup`` that survive pytest >= 9.2.

pytest-xdist 3.8 marks a group by appending ``@group`` to each test's node id, which pytest
>= 9.2 no longer lets it change: every group is then split across the workers, silently
(pytest-dev/pytest-xdist#1386), and each worker repeats the expensive per-assignment grading and
fault runs. Here the group is derived from the node id instead (:func:`group_of`), and
``tests/conftest.py`` installs :func:`pytest_xdist_make_scheduler`.
"""

from __future__ import annotations

from functools import cache, lru_cache

#: Test files whose tests form one scheduling group per assignment (each assignment's grading or
#: fault run is made once, by the worker that runs its group), by group-name prefix.
PER_ASSIGNMENT = {"tests/grading/test_grading.py": "grading", "tests/grading/test_faults.py": "faults"}


@lru_cache(maxsize=1)
def _assignments() -> tuple[str, ...]:
    from nmautils.course.build import assignments

    return tuple(sorted(assignments(), key=len, reverse=True))


@cache
def group_of(nodeid: str) -> str:
    """The scheduling group of a test: its file, or ``<prefix>-<assignment>`` in the files of
    :data:`PER_ASSIGNMENT` (the assignment is read from the test's parameters).

    >>> group_of("tests/grading/test_faults.py::test_x[tutorial1_decoding]")
    'faults-tutorial1_decoding'
    >>> group_of("tests/unit/test_data.py::test_y[3]")
    'tests/unit/test_data.py'
    """
    nodeid = nodeid.split("]@", 1)[0] + "]" if "]@" in nodeid else nodeid.split("@", 1)[0]
    path, _, rest = nodeid.partition("::")
    prefix = PER_ASSIGNMENT.get(path)
    if prefix is not None and "[" in rest:
        params = rest[rest.index("[") + 1:]
        for assignment in _assignments():
            if assignment in params:
                return f"{prefix}-{assignment}"
    return path


def pytest_xdist_make_scheduler(config, log):
    """For ``--dist loadgroup``: xdist's scope scheduler with :func:`group_of` as the scope, so
    a group's tests all go to one worker (in collection order, with ``--no-loadscope-reorder``)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return ByGroup(config, log)
