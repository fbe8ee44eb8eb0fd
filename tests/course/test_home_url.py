"""The course's URLs: pyproject.toml's [project.urls] Homepage (the instructor's repository) and
[tool.nmautils] students-url (the students' edition) feed the badges and the install cell, and
the install cell's kind of install (pip from a git URL) gives a working package with its data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fresh_copies import venv_with_checkout_deps

from nmautils.course import build, homeurl, notebooks
from nmautils.course.grading import find_course_root

REPO = find_course_root(start=Path(__file__).parent)
ASSIGNMENTS = build.assignments(REPO)
HOME = homeurl.home_url(REPO)
STUDENTS = homeurl.students_url(REPO)


def test_urls_are_read_from_pyproject():
    assert HOME == "https://github.com/nma-dl-neural-data/course"
    assert STUDENTS == "https://github.com/nma-dl-neural-data/course-students"
    assert homeurl.notebook_url(REPO) == STUDENTS  # the notebooks are the students'
    assert homeurl.badge_url(STUDENTS, "t1") == (
        "https://colab.research.google.com/github/nma-dl-neural-data/course-students/blob/main/"
        "release/t1/t1.ipynb")


@pytest.mark.parametrize("name", ASSIGNMENTS)
@pytest.mark.parametrize("kind", ["source", "release", "solutions"])
def test_every_notebook_uses_the_students_url(name, kind):
    nb = notebooks.read(REPO / kind / name / f"{name}.ipynb")
    text = "\n".join(c.source for c in nb.cells)
    badges = re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"']+", text)
    installs = re.findall(r"nmautils @ git\+[^\"'\s]+", text)
    assert badges and installs, "a badge and an install line are expected"
    assert set(badges) == {homeurl.badge_url(STUDENTS, name)}, "run `make build`"
    assert set(installs) == {homeurl.install_spec(STUDENTS)}, "run `make build`"


def _course(tmp_path: Path, pyproject: str) -> str:
    name = ASSIGNMENTS[0]
    (tmp_path / "source" / name).mkdir(parents=True)
    shutil.copy(build.source_path(name, REPO), tmp_path / "source" / name)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    return name


def test_build_rewrites_the_urls_of_the_sources(tmp_path):
    text = (REPO / "pyproject.toml").read_text().replace(STUDENTS, "https://github.com/someone/fork")
    name = _course(tmp_path, text)
    assert homeurl.write_home_url([name], tmp_path) == [name]
    nb_text = (tmp_path / "source" / name / f"{name}.ipynb").read_text()
    assert STUDENTS not in nb_text
    assert "github/someone/fork/blob/main/release" in nb_text
    assert "nmautils @ git+https://github.com/someone/fork" in nb_text
    assert homeurl.write_home_url([name], tmp_path) == []  # nothing left to change


def test_without_a_students_url_the_notebooks_carry_the_home_url(tmp_path):
    text = re.sub(r"(?m)^students-url = .*$", "", (REPO / "pyproject.toml").read_text())
    name = _course(tmp_path, text)
    assert homeurl.notebook_url(tmp_path) == HOME
    with pytest.raises(ValueError, match="--url"):
        homeurl.students_url(tmp_path)
    assert homeurl.write_home_url([name], tmp_path) == [name]
    nb = notebooks.read(tmp_path / "source" / name / f"{name}.ipynb")
    assert f'"{homeurl.install_spec(HOME)}"' in "\n".join(c.source for c in nb.cells)


def test_a_course_folder_without_pyproject_keeps_its_urls(tmp_path):
    name = _course(tmp_path, "")
    (tmp_path / "pyproject.toml").unlink()
    before = (tmp_path / "source" / name / f"{name}.ipynb").read_text()
    assert homeurl.write_home_url([name], tmp_path) == []
    assert (tmp_path / "source" / name / f"{name}.ipynb").read_text() == before


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "github.com/a/b", ""])
def test_home_url_must_be_github(url, tmp_path):
    text = (REPO / "pyproject.toml").read_text().replace(f'"{HOME}"', json.dumps(url))
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match="Homepage"):
        homeurl.home_url(tmp_path)
    text = (REPO / "pyproject.toml").read_text().replace(f'"{STUDENTS}"', json.dumps(url or "x"))
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match="students-url"):
        homeurl.students_url(tmp_path)


@pytest.mark.slow
def test_instructors_install_from_a_git_url(tmp_path):
    """pip-install the package the way the README tells instructors (``nmautils @ git+<home
    URL>``, without extras: their dependencies come from this venv), from a git URL of a clone
    of this checkout, into a fresh venv (``fresh_copies.venv_with_checkout_deps``): only nmautils
    itself is installed, non-editable, built in pip's isolated build environment. Then, outside
    any checkout, it is imported with its instructor tools and its packaged data (the matplotlib
    style, nbval's sanitiser). The students' edition is installed the same way by
    ``tests/course/test_publish.py``.
    """
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(REPO), str(clone)], check=True)
    spec = homeurl.install_spec(HOME).replace(HOME, clone.as_uri())  # git+file:///.../clone
    venv = venv_with_checkout_deps(tmp_path / "venv")
    venv.pip_install("--no-deps", "--ignore-installed", spec, cwd=tmp_path)

    probe = (
        "import json, nmautils, matplotlib; matplotlib.use('Agg'); "
        "import matplotlib.pyplot as plt; from nmautils.plotting import use_style; use_style(); "
        "from nmautils.course import build; "
        "print(json.dumps({'file': nmautils.__file__, 'version': nmautils.__version__, "
        "'top': plt.rcParams['axes.spines.top'], "
        "'layout': plt.rcParams['figure.constrained_layout.use'], "
        "'sanitizers': len(build.sanitizers())}))"
    )
    out = subprocess.run([str(venv.python), "-c", probe], capture_output=True, text=True,
                         env=venv.env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(info["file"]).is_relative_to(venv.purelib), info["file"]  # not the checkout
    assert not Path(info["file"]).is_relative_to(REPO)
    assert info["top"] is False and info["layout"] is True  # the packaged style was applied
    assert info["sanitizers"] >= 2  # nbval's sanitiser ships with the package
