"""``make test``'s scheduling groups (tests/harness/xdist_groups.py): a group stays on one worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from xdist_groups import group_of

HARNESS = Path(__file__).resolve().parents[1] / "harness"


def test_grading_and_fault_tests_are_grouped_by_assignment():
    assert group_of("tests/grading/test_grading.py::test_a[tutorial2_encoding]") == \
        "grading-tutorial2_encoding"
    assert group_of("tests/grading/test_grading.py::test_b[mixed1-tutorial2_encoding]") == \
        "grading-tutorial2_encoding"
    assert group_of("tests/grading/test_grading.py::test_c[assignment3_interpret-ex_cnn]") == \
        "grading-assignment3_interpret"
    assert group_of("tests/grading/test_faults.py::test_d[tutorial3_backprop]@x") == \
        "faults-tutorial3_backprop"
    assert group_of("tests/grading/test_hostile.py::test_e[read_instructor_files]") == \
        "tests/grading/test_hostile.py"


def test_every_group_runs_on_one_worker(tmp_path):
    """Two files of parametrised tests under ``-n 2 --dist loadgroup``: each file is a group, and
    all of its tests run in the same worker process (with pytest 9.2 and xdist 3.8 alone they
    were spread over both)."""
    (tmp_path / "conftest.py").write_text(
        "from xdist_groups import pytest_xdist_make_scheduler  # noqa: F401\n")
    for name in ("test_first.py", "test_second.py"):
        (tmp_path / name).write_text(
            "import json, os, pytest\n"
            "@pytest.mark.parametrize('k', range(6))\n"
            "def test_record(k):\n"
            f"    with open({str(tmp_path / 'log.jsonl')!r}, 'a') as f:\n"
            f"        f.write(json.dumps([{name!r}, os.getpid()]) + '\\n')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HARNESS),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup",
                           "-p", "no:cacheprovider", "-q", str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    workers = {name: {pid for n, pid in records if n == name} for name, _ in records}
    assert len(records) == 12
    assert all(len(pids) == 1 for pids in workers.values()), workers
