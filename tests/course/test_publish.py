"""The students' edition (``python -m nmautils.course publish``): published from a fresh clone it
holds the release notebooks, the student package and a README, and no line of a solution,
hidden test or model answer of source/ that the release does not show; students can install it
from a git URL and run a notebook's set-up cell. Cheaper tests: which assignments are graded,
refusals (graded solutions, leaks, foreign folders), publishing again, another URL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import tomllib
from fresh_copies import commit_all, fresh_clone, venv_with_checkout_deps
from notebook_markers import hidden_tests

from nmautils.course import build, homeurl, notebooks, publish, redact
from nmautils.course.grading import find_course_root

REPO = find_course_root(start=Path(__file__).parent)
PRACTICE = "tutorial1_decoding"
GRADED = "assignment3_interpret"


def _secret_finds(edition: Path, course: Path) -> list[tuple[str, str, str]]:
    """Secret lines of the course in the edition's files, computed here without publish's code:
    for every assignment of ``course``, the lines of source/'s solutions, hidden tests and model
    answers that no release notebook of the course shows (its release/ folder) and that are not
    declared public (``[tool.nmautils] public-lines``); a published practice solution may show
    its own and other practice tutorials' lines."""
    releases = [notebooks.read(p) for p in sorted((course / "release").glob("*/*.ipynb"))]
    assert releases
    declared = tomllib.loads((course / "pyproject.toml").read_text())["tool"]["nmautils"]
    secrets = {}
    for name in build.assignments(course):
        sources = [notebooks.read(p) for p in (course / "source" / name).glob("*.ipynb")]
        secrets[name] = redact.secrets_from_notebooks(sources, releases).without(
            declared.get("public-lines", []))
        assert len(secrets[name]) > 20, name  # the scan below has something to find
    finds = []
    for path in sorted(p for p in edition.rglob("*") if p.is_file() and ".git" not in p.parts):
        rel = path.relative_to(edition).as_posix()
        if path.suffix == ".ipynb":  # sources and every output, figures' bytes left out
            nb = json.loads(path.read_text())
            texts = [json.dumps(cell.get("source", "")) for cell in nb["cells"]]
            texts += [json.dumps({k: v for k, v in out.items() if k != "data"})
                      + json.dumps({k: v for k, v in out.get("data", {}).items()
                                    if k not in redact.BINARY_KEYS})
                      for cell in nb["cells"] for out in cell.get("outputs", [])]
        else:
            texts = [path.read_text()]
        for name, lines in secrets.items():
            if rel.startswith("solutions/") and name != GRADED:
                continue
            finds += [(rel, name, line) for text in texts for line in lines.found_in(text)]
    return finds


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_edition_from_a_fresh_clone_leaks_nothing_and_installs_from_git(tmp_path):
    clone = fresh_clone(tmp_path / "clone", REPO)
    edition = tmp_path / "edition"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "nmautils.course", "publish", str(edition),
                           "--with-solutions", PRACTICE], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "edition shows no line of a solution, hidden test or model answer" in proc.stdout

    # what it holds: release notebooks, the student package, README, pyproject; nothing else
    top = {p.name for p in edition.iterdir()}
    assert top == {"README.md", "pyproject.toml", "nmautils", "release", "solutions",
                   publish.MARKER}, top
    names = build.assignments(clone)
    assert sorted(p.name for p in (edition / "release").iterdir()) == names
    assert [p.name for p in (edition / "solutions").iterdir()] == [PRACTICE]
    assert not (edition / "nmautils" / "course").exists()
    assert (edition / "nmautils" / "nmautils.mplstyle").is_file()
    every = [p.relative_to(edition).as_posix() for p in edition.rglob("*") if p.is_file()]
    assert not [f for f in every if re.search(r"source/|tests/|mutants|nbgrader_config", f)]
    solution = notebooks.read(edition / "solutions" / PRACTICE / f"{PRACTICE}.ipynb")
    assert any(c.get("outputs") for c in solution.cells), "the solution is the executed one"
    students = homeurl.students_url(clone)
    for name in names:
        text = (edition / "release" / name / f"{name}.ipynb").read_text()
        assert homeurl.badge_url(students, name) in text
        assert homeurl.install_spec(students) in text
    project = (edition / "pyproject.toml").read_text()
    assert "nbgrader" not in project and '"torch>=2.1"' in project and students in project

    # the leak scan, over every file: notebook sources and outputs, text files
    assert _secret_finds(edition, clone) == []

    # students install it from a git URL and run a notebook's set-up cell
    commit_all(edition, "students' edition")
    venv = venv_with_checkout_deps(tmp_path / "venv")
    cell = next(c.source for c in notebooks.read(
        edition / "release" / PRACTICE / f"{PRACTICE}.ipynb").cells if c.cell_type == "code")
    assert f'%pip install --quiet "{homeurl.install_spec(students)}"' in cell
    cell = cell.replace(students, edition.as_uri())  # git+file:///.../edition
    script = tmp_path / "setup_cell.py"
    script.write_text(
        "import json, sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        f"result = InteractiveShell.instance().run_cell({cell!r})\n"
        "import nmautils\n"
        "print(json.dumps({'ok': result.success, 'file': nmautils.__file__}))\n")
    work = tmp_path / "work"
    work.mkdir()
    run_env = {**venv.env, "MPLBACKEND": "Agg", "NMAUTILS_DATA": "surrogate",
               "NMAUTILS_PROGRESS": "off"}
    out = subprocess.run([str(venv.python), str(script)], cwd=work, env=run_env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["ok"], out.stdout[-3000:]
    assert Path(info["file"]).is_relative_to(venv.purelib), info  # installed by the cell
    assert "nmautils 0.1.0 | torch" in out.stdout  # show_runtime's line


def test_findings_of_the_leak_scan_are_real(tmp_path):
    """The scan above can fail: a hidden-test line in any file of an edition is found."""
    edition = tmp_path / "edition"
    shutil.copytree(REPO / "release" / PRACTICE, edition / "release" / PRACTICE)
    (edition / "nmautils").mkdir()
    (edition / "nmautils" / "__init__.py").write_text('"""x"""\n')
    source = notebooks.read(build.source_path(PRACTICE, REPO))
    hidden = next(hidden_tests(c.source) for c in source.cells
                  if notebooks.cell_kind(c) == "test")
    line = next(s.strip() for s in hidden.splitlines() if redact.meaningful(s.strip()))
    (edition / "notes.txt").write_text(f"see {line}\n")
    finds = _secret_finds(edition, REPO)
    assert (("notes.txt", PRACTICE, line) in finds), finds


def test_graded_assignments_are_decided_by_their_notebooks():
    assert publish.graded_assignments(REPO) == [GRADED]
    nb = notebooks.read(build.source_path(PRACTICE, REPO))
    assert not publish.is_graded(nb)
    written = next(c for c in nb.cells if notebooks.cell_kind(c) == "written")
    written.metadata["nbgrader"]["points"] = 2.0
    assert publish.is_graded(nb)


def test_a_graded_solution_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(publish.PublishError, match=f"graded assignment: {GRADED}"):
        publish.publish(tmp_path / "out", [GRADED], with_solutions=[GRADED], course_root=REPO)
    with pytest.raises(publish.PublishError, match="not published"):
        publish.publish(tmp_path / "out", [GRADED], with_solutions=[PRACTICE], course_root=REPO)
    with pytest.raises(publish.PublishError, match="no such assignment"):
        publish.publish(tmp_path / "out", ["nothing"], course_root=REPO)
    with pytest.raises(publish.PublishError, match="holds the course"):
        publish.publish(REPO, [PRACTICE], course_root=REPO)
    foreign = tmp_path / "foreign"
    (foreign / "src").mkdir(parents=True)
    with pytest.raises(publish.PublishError, match="did not write"):
        publish.publish(foreign, [PRACTICE], course_root=REPO)
    assert not (tmp_path / "out").exists()


def test_a_secret_in_the_package_refuses_the_whole_edition(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    shutil.copytree(REPO / "nmautils", package, ignore=shutil.ignore_patterns("course", "__pycache__"))
    source = notebooks.read(build.source_path(GRADED, REPO))
    answer = next(notebooks.solution_region(c.source) for c in source.cells
                  if notebooks.cell_kind(c) == "answer")
    (package / "hints.py").write_text('"""Hints."""\n\nEXAMPLE = """\n' + answer + '\n"""\n')
    found = publish.StudentPackage(package, publish.student_package(REPO).project)
    monkeypatch.setattr(publish, "student_package", lambda course_root: found)
    with pytest.raises(publish.LeakFound, match=f"nmautils/hints.py: {GRADED}"):
        publish.publish(tmp_path / "out", [PRACTICE], course_root=REPO)
    assert not (tmp_path / "out").exists()


def test_publishing_again_replaces_its_own_files_and_keeps_the_others(tmp_path):
    out = tmp_path / "out"
    (out / ".git").mkdir(parents=True)
    (out / "LICENSE").write_text("BSD")
    first = publish.publish(out, [PRACTICE], course_root=REPO)
    assert first.url == homeurl.students_url(REPO) and first.rewritten == []
    assert (out / "release" / PRACTICE).is_dir()
    (out / "release" / PRACTICE / "stale.txt").write_text("not listed: kept")

    other = "https://github.com/someone/students"
    second = publish.publish(out, ["tutorial3_backprop"], url=other + ".git", course_root=REPO)
    assert second.url == other and second.rewritten == ["tutorial3_backprop"]
    assert not (out / "release" / PRACTICE / f"{PRACTICE}.ipynb").exists()
    assert (out / "release" / PRACTICE / "stale.txt").exists()
    assert (out / "LICENSE").read_text() == "BSD" and (out / ".git").is_dir()
    nb = nbformat.read(out / "release" / "tutorial3_backprop" / "tutorial3_backprop.ipynb", 4)
    text = "\n".join(c.source for c in nb.cells)
    assert homeurl.badge_url(other, "tutorial3_backprop") in text
    assert homeurl.install_spec(other) in text and homeurl.students_url(REPO) not in text
    assert other in (out / "pyproject.toml").read_text() and other in (out / "README.md").read_text()
    marker = json.loads((out / publish.MARKER).read_text())
    assert marker["assignments"] == ["tutorial3_backprop"] and marker["url"] == other
    with pytest.raises(ValueError, match="--url"):
        publish.publish(out, [PRACTICE], url="https://gitlab.com/a/b", course_root=REPO)
