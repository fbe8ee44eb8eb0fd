"""One home URL: pyproject.toml's [project.urls] feeds the badges and the install cell, and the
install cell's kind of install (pip from a git URL) gives a working package with its data."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from nmautils.course import build, homeurl, notebooks

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = build.assignments()
HOME = homeurl.home_url()
COLAB_PIP = "pip==24.1.2"


def test_home_url_is_read_from_pyproject():
    assert HOME == "https://github.com/nma-dl-neural-data/course"
    assert homeurl.badge_url(HOME, "t1") == (
        "https://colab.research.google.com/github/nma-dl-neural-data/course/blob/main/release/"
        "t1/t1.ipynb")


@pytest.mark.parametrize("name", ASSIGNMENTS)
@pytest.mark.parametrize("kind", ["source", "release", "solutions"])
def test_every_notebook_uses_the_home_url(name, kind):
    nb = notebooks.read(REPO / kind / name / f"{name}.ipynb")
    text = "\n".join(c.source for c in nb.cells)
    badges = re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"']+", text)
    installs = re.findall(r"nmautils @ git\+[^\"'\s]+", text)
    assert badges and installs, "a badge and an install line are expected"
    assert set(badges) == {homeurl.badge_url(HOME, name)}, "run `make build`"
    assert set(installs) == {homeurl.install_spec(HOME)}, "run `make build`"


def test_build_rewrites_the_urls_of_the_sources(tmp_path):
    name = ASSIGNMENTS[0]
    (tmp_path / "source" / name).mkdir(parents=True)
    shutil.copy(build.source_path(name), tmp_path / "source" / name)
    text = (REPO / "pyproject.toml").read_text().replace(HOME, "https://github.com/someone/fork")
    (tmp_path / "pyproject.toml").write_text(text)
    assert homeurl.write_home_url([name], tmp_path) == [name]
    nb_text = (tmp_path / "source" / name / f"{name}.ipynb").read_text()
    assert HOME not in nb_text
    assert "github/someone/fork/blob/main/release" in nb_text
    assert "nmautils @ git+https://github.com/someone/fork" in nb_text
    assert homeurl.write_home_url([name], tmp_path) == []  # nothing left to change


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "github.com/a/b", ""])
def test_home_url_must_be_github(url, tmp_path):
    text = (REPO / "pyproject.toml").read_text().replace(HOME, url)
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match="Homepage"):
        homeurl.home_url(tmp_path)


@pytest.mark.slow
def test_install_cell_works_from_a_git_url(tmp_path):
    """pip-install the package as the notebooks' set-up cell does, from a git URL of a clone.

    The fresh venv sees this checkout's .venv for the dependencies (a .pth line; that folder's
    own .pth files, such as the editable install of nmautils, are not run), so only nmautils
    itself is installed, non-editable, from the clone (built in pip's isolated build environment,
    as on Colab). Then, outside any checkout, it is
    imported and its packaged matplotlib style applied. pip is Colab's version.
    """
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(REPO), str(clone)], check=True)
    cell = next(c.source for c in notebooks.read(build.source_path("tutorial1_decoding")).cells
                if c.cell_type == "code")  # the set-up cell comes first
    spec = re.search(r'%pip install --quiet "([^"]+)"', cell).group(1)
    assert spec == homeurl.install_spec(HOME)
    spec = spec.replace(HOME, clone.as_uri())  # git+file:///.../clone

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Colab's pip (its freeze of 2026-08-19); the pip bundled with Python 3.11 (23.2) rejects
    # git+file:/// requirements, which newer ones accept.
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", COLAB_PIP], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "repo_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                    "--no-deps", "--ignore-installed", spec],
                   check=True, env=env, cwd=tmp_path)

    probe = (
        "import json, nmautils, matplotlib; matplotlib.use('Agg'); "
        "import matplotlib.pyplot as plt; from nmautils.plotting import use_style; use_style(); "
        "print(json.dumps({'file': nmautils.__file__, 'version': nmautils.__version__, "
        "'top': plt.rcParams['axes.spines.top'], "
        "'layout': plt.rcParams['figure.constrained_layout.use']}))"
    )
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(info["file"]).is_relative_to(Path(site)), info["file"]  # not the checkout
    assert not Path(info["file"]).is_relative_to(REPO)
    assert info["top"] is False and info["layout"] is True  # the packaged style was applied
