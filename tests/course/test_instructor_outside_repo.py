"""An instructor's own course folder, outside this repository, with nmautils installed from a wheel.

The package is built as a wheel and installed (non-editable, ``--no-deps``) into a fresh virtual
environment whose other dependencies come from this checkout's venv through a ``.pth`` file, so
nothing of the repository is importable there. In a temporary course folder holding only
``source/tutorial1_decoding/`` and ``nbgrader_config.py``, the instructor runs nbgrader's
``generate_assignment``, then ``python -m nmautils.course grade ... --feedback`` from that folder,
then ``build``, ``check`` and ``publish`` (the students' edition, whose package then comes from
the installed wheel and its metadata) from elsewhere with ``--root``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from nmautils.course import homeurl, notebooks, sandbox
from nmautils.course.build import source_path
from nmautils.course.grading import find_course_root

REPO_ROOT = find_course_root(start=Path(__file__).parent)

ASSIGNMENT = "tutorial1_decoding"


def _run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.skipif(not sandbox.sandbox_available(), reason="grading needs the sandbox")
def test_instructor_tooling_from_a_course_folder_outside_the_repository(tmp_path):
    env = {**os.environ, "NMAUTILS_DATA": "surrogate", "NMAUTILS_SURROGATE_SIZE": "small",
           "NMAUTILS_PROGRESS": "off", "PYTHONPATH": ""}
    # 1. the wheel, and a fresh venv that has only it (plus this venv's dependencies)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(tmp_path / "dist"), str(REPO_ROOT)], tmp_path, env)
    wheel = next((tmp_path / "dist").glob("nmautils-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (purelib / "course_deps.pth").write_text(
        "\n".join(p for p in site.getsitepackages() if p.endswith("site-packages")) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
          str(wheel)], tmp_path, env)
    where = _run([str(python), "-c", "import nmautils; print(nmautils.__file__)"],
                 tmp_path, env).stdout.strip()
    assert where.startswith(str(venv)), where

    # 2. the instructor's course folder: source/ and nbgrader_config.py, nothing else
    course = tmp_path / "my-course"
    shutil.copytree(REPO_ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    shutil.copy2(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    # the dependencies' data files (nbconvert's HTML templates) come from this venv too
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    env["PATH"] = os.pathsep.join([str(venv / "bin"), str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    _run([str(python), "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
         course, env)
    release = notebooks.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    full = notebooks.fill_submission(release, notebooks.read(source_path(ASSIGNMENT)))
    notebooks.write(full, course / "submitted" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")

    # 3. class grading with feedback, run from the course folder
    proc = _run([str(python), "-m", "nmautils.course", "grade", ASSIGNMENT, "submitted",
                 "--workers", "1", "--out", "graded", "--feedback", "--timeout", "60"],
                course, env)
    assert "Kernel is running over TCP" not in proc.stdout + proc.stderr
    with open(course / "graded" / "grades.csv") as fh:
        row = next(csv.DictReader(fh))
    assert row["student"] == "ada" and row["status"] == "graded", (row, proc.stdout[-2000:].replace("\n", " | "))
    assert float(row["score"]) == float(row["max_score"]) > 0, row
    html = list((course / "graded" / "feedback" / "ada").rglob("*.html"))
    assert html, "no feedback written"
    assert "BEGIN HIDDEN TESTS" not in html[0].read_text()
    assert not (REPO_ROOT / "graded").exists()

    # 4. build, check and publish, pointed at the course folder from outside it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = ["--root", str(course)]
    # the solution's claims hold on the full-size surrogate the build uses, not the small one
    full = {k: v for k, v in env.items() if k != "NMAUTILS_SURROGATE_SIZE"}
    proc = _run([str(python), "-m", "nmautils.course", "build", *root], elsewhere, full)
    assert f"{ASSIGNMENT}" in proc.stdout and "FAILED" not in proc.stdout, proc.stdout
    solution = notebooks.read(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert any(c.get("outputs") for c in solution.cells)
    proc = _run([str(python), "-m", "nmautils.course", "check", *root], elsewhere, env)
    assert "up to date" in proc.stdout
    url = "https://github.com/someone/my-course-students"
    refused = subprocess.run([str(python), "-m", "nmautils.course", "publish", "edition", *root],
                             cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "--url" in refused.stdout  # no pyproject.toml: no URL
    _run([str(python), "-m", "nmautils.course", "publish", "edition", *root, "--url", url,
          "--with-solutions", ASSIGNMENT], elsewhere, env)
    edition = elsewhere / "edition"
    assert (edition / "nmautils" / "nmautils.mplstyle").is_file()
    assert not (edition / "nmautils" / "course").exists()
    project = (edition / "pyproject.toml").read_text()
    assert '"torch>=2.1"' in project and "nbgrader" not in project and url in project
    text = (edition / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert homeurl.badge_url(url, ASSIGNMENT) in text
    assert json.loads((edition / ".nmautils-edition.json").read_text())["solutions"] == [ASSIGNMENT]
    assert not (elsewhere / "build").exists() and not (REPO_ROOT / "edition").exists()
