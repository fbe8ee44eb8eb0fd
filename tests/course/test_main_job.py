"""The main job (``make`` = ``python -m nmautils.course main``) leaves a clean tree in a fresh
clone, and its comparison of text outputs sees what it must.

The slow test copies the checkout into a fresh git repository (what a new user's clone holds:
tracked files plus uncommitted, not ignored ones), runs the main job's build-execute-compare there
for the cheapest assignment under ``--config generic`` (see ``NUMERIC_CONFIGS``), and asserts
that it found no difference with the committed release/ and solutions/ and that ``git status`` is
clean; tests/course/test_course_build.py checks every assignment's release and solution cells
for staleness without executing them. Every solution's outputs are checked under the second
arithmetic by nbval (``conftest.NBVAL_CONFIG``, tested in test_nbval_setup.py), so this test
need not execute them all a second time. The demo autograding is left out (``--no-demo``): the grading round-trip
tests cover it.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fresh_copies import fresh_clone
from fresh_copies import git as _git

from nmautils.course import build, notebooks
from nmautils.course.grading import find_course_root

REPO = find_course_root(start=Path(__file__).parent)


#: The assignment the fresh clone builds and executes (the quickest to execute).
FRESH_CLONE_ASSIGNMENT = "tutorial1_decoding"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_main_job_in_a_fresh_clone_under_generic_arithmetic_leaves_a_clean_tree(tmp_path):
    clone = fresh_clone(tmp_path / "clone", REPO)
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "nmautils.course", "main", FRESH_CLONE_ASSIGNMENT, "--config", "generic",
         "--no-demo"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=2400)
    report = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, "the main job found differences or failed:\n" + report
    assert "match this build" in proc.stdout
    assert (clone / "build" / "main" / "solutions").is_dir(), "the main job builds into build/"
    status = _git(clone, "status", "--porcelain", "--untracked-files=all")
    assert status == "", f"the main job changed the tree:\n{status}"


# --------------------------------------------------- the comparison itself (cheap, no kernels)


def _solution(name: str = "tutorial2_encoding"):
    return notebooks.read(build.solution_path(name))


def test_text_outputs_see_every_printed_line_and_ignore_figures_and_ignored_cells():
    nb = _solution("tutorial3_backprop")
    texts = build.text_outputs(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(texts) == len(code)
    joined = "\n".join(t for cell in texts for t in cell)
    assert "stdout: " in joined and "<Figure>" in joined  # sanitised figure reprs
    assert "image/png" not in joined
    ignored = [i for i, c in enumerate(code) if build.IGNORE_OUTPUT in c.source]
    assert ignored and all(texts[i] == [] for i in ignored)


def test_output_differences_report_a_changed_number_and_nothing_else():
    nb = _solution()
    assert build.output_differences(nb, copy.deepcopy(nb), "t2") == []
    changed = copy.deepcopy(nb)
    for cell in changed.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "test accuracy" in out.text:
                out.text = out.text.replace("test accuracy: about 0.", "test accuracy: about 1.")
    diffs = build.output_differences(nb, changed, "t2")
    assert len(diffs) == 1 and "test accuracy: about 1." in diffs[0]
    # A figure's memory address differs on every run; the sanitiser hides it.
    moved = copy.deepcopy(nb)
    for cell in moved.cells:
        for out in cell.get("outputs", []):
            if "text/plain" in out.get("data", {}):
                out.data["text/plain"] = "<Figure size 100x100 with 1 Axes>"
    assert build.output_differences(nb, moved, "t2") == []


def test_numeric_configs_differ_in_arithmetic():
    generic = build.NUMERIC_CONFIGS["generic"]
    assert build.NUMERIC_CONFIGS["native"] == {}
    assert generic["ATEN_CPU_CAPABILITY"] == "avx2" and generic["OMP_NUM_THREADS"] == "1"
    assert not set(generic) & set(build.EXECUTION_ENV)


def test_fresh_clone_holds_uncommitted_files_but_not_ignored_ones(tmp_path):
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / ".gitignore").write_text("build/\n")
    (repo / "a.txt").write_text("a")
    _git(repo, "init", "--quiet")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "a")
    (repo / "sub" / "new.txt").write_text("new")
    (repo / "build").mkdir()
    (repo / "build" / "junk.txt").write_text("junk")
    clone = fresh_clone(tmp_path / "clone", repo)
    assert (clone / "a.txt").read_text() == "a" and (clone / "sub" / "new.txt").exists()
    assert not (clone / "build").exists()
    assert _git(clone, "status", "--porcelain") == ""

