"""Grading fails closed: with the course's grading tools unloadable, plain nbgrader refuses to
autograde or write feedback, and no student code runs (issue: a broken install graded
unsandboxed with the instructor's rights)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nmautils.course import notebooks
from nmautils.course.build import source_path
from nmautils.course.grading import REPO_ROOT, generated_release

ASSIGNMENT = "tutorial1_decoding"


def _nbgrader(course: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with one submission whose first answer writes a file into the course."""
    root = tmp_path_factory.mktemp("fail-closed")
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO_ROOT / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    source, release = notebooks.read(source_path(ASSIGNMENT)), generated_release(ASSIGNMENT)
    marker = root / "STUDENT-CODE-RAN"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    nb = notebooks.fill_submission(release, source, replace={"ex_deepnet_relu": code})
    notebooks.write(nb, root / "submitted" / "s1" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    proc = _nbgrader(root, env, "generate_assignment", ASSIGNMENT, "--force")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root, marker, env


def _broken_nmautils(tmp_path: Path) -> dict:
    stub = tmp_path / "stub" / "nmautils"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('a broken nmautils install')\n")
    return {"PYTHONPATH": str(stub.parent)}


def test_autograde_refuses_and_runs_no_student_code_without_the_guard(course, tmp_path):
    root, marker, env = course
    proc = _nbgrader(root, {**env, **_broken_nmautils(tmp_path)}, "autograde", ASSIGNMENT,
                     "--force", "--Execute.timeout=20")
    text = proc.stdout + proc.stderr
    assert "cannot be loaded" in text and "a broken nmautils install" in text, text[-3000:]
    assert not marker.exists(), "student code ran without the guard"
    graded = root / "autograded" / "s1" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert not graded.exists()


def test_with_the_guard_the_same_submission_is_sandboxed(course):
    """The control: with nmautils importable, the answer runs, but in the sandbox, so the
    course folder is out of its reach."""
    root, marker, env = course
    proc = _nbgrader(root, env, "autograde", ASSIGNMENT, "--force", "--Execute.timeout=20")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (root / "autograded" / "s1" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    assert not marker.exists(), "the sandbox let student code write into the course folder"


def test_feedback_refuses_without_the_guard(course, tmp_path):
    """Runs after the control above, so there is an autograded notebook to give feedback on."""
    root, _, env = course
    assert (root / "autograded" / "s1" / ASSIGNMENT).exists()
    proc = _nbgrader(root, {**env, **_broken_nmautils(tmp_path)}, "generate_feedback",
                     ASSIGNMENT, "--force")
    assert "cannot be loaded" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    assert not list(root.glob("feedback/**/*.html")), "feedback written without the filters"
