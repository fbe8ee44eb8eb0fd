"""The one build command: ``source/`` -> ``release/`` (nbgrader) + ``solutions/`` (executed).

Every assignment is a folder ``source/<assignment>/`` holding one notebook of the same name.
The release is what ``nbgrader generate_assignment`` produces; the solution notebook is the
source with markers, hidden tests and nbgrader metadata removed, executed on the synthetic data
so that its stored outputs are the same on every machine (nbval checks them in CI).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import homeurl, notebooks
from .grading import REPO_ROOT, temporary_course

#: Environment under which solution notebooks are executed (by the build and by nbval).
EXECUTION_ENV = {
    "NMAUTILS_DATA": "surrogate",
    "NMAUTILS_PROGRESS": "off",
    "NMAUTILS_DEVICE": "cpu",
    "PYTHONHASHSEED": "0",
    "THP_MEM_ALLOC_ENABLE": "1",
}

#: Seconds a single cell may run while building solutions.
CELL_TIMEOUT = 300


@dataclass
class BuiltNotebook:
    """What building one assignment produced."""

    assignment: str
    notebook: str
    seconds: float | None
    ok: bool
    error: str = ""


def assignments(repo_root: Path = REPO_ROOT) -> list[str]:
    """Names of the assignments in ``source/`` (folders holding ``<name>/<name>.ipynb``)."""
    src = repo_root / "source"
    return sorted(p.name for p in src.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_path(assignment: str, repo_root: Path = REPO_ROOT) -> Path:
    return repo_root / "source" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str, repo_root: Path = REPO_ROOT) -> Path:
    return repo_root / "release" / assignment / f"{assignment}.ipynb"


def solution_path(assignment: str, repo_root: Path = REPO_ROOT) -> Path:
    return repo_root / "solutions" / assignment / f"{assignment}.ipynb"


def generate_releases(names: list[str], out_root: Path, repo_root: Path = REPO_ROOT) -> None:
    """Run nbgrader generate_assignment for ``names`` and copy the results to ``out_root``."""
    with temporary_course(repo_root) as course:
        for name in names:
            course.add_source(name)
            produced = course.generate(name)
            dst = out_root / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(produced, dst)


def execute(nb, cwd: Path, timeout: int = CELL_TIMEOUT):
    """Execute a notebook in place with the build's environment; return the wall time (s)."""
    from nbclient import NotebookClient

    saved = {k: os.environ.get(k) for k in EXECUTION_ENV}
    os.environ.update(EXECUTION_ENV)
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def build_solution(assignment: str, repo_root: Path = REPO_ROOT, run: bool = True) -> BuiltNotebook:
    """Write ``solutions/<assignment>/`` from the source, executed unless ``run`` is False."""
    src = notebooks.read(source_path(assignment, repo_root))
    nb = notebooks.solution_notebook(src, assignment)
    out = solution_path(assignment, repo_root)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Copy any data files that sit beside the source notebook.
    for extra in source_path(assignment, repo_root).parent.iterdir():
        if extra.suffix != ".ipynb" and extra.is_file():
            shutil.copy2(extra, out.parent / extra.name)
    seconds, ok, error = None, True, ""
    if run:
        try:
            seconds = execute(nb, out.parent)
        except Exception as exc:  # the build reports it and fails at the end
            ok, error = False, f"{type(exc).__name__}: {str(exc)[-2000:]}"
        for cell in nb.cells:  # wall-clock stamps would change the file on every build
            cell.metadata.pop("execution", None)
            stabilise_animation_ids(cell)
    notebooks.write(nb, out)
    return BuiltNotebook(assignment, out.name, seconds, ok, error)


#: Element ids that matplotlib's ``to_jshtml`` animations draw at random (uuid4).
_ANIMATION_ID = re.compile(r"(anim(?:_[a-z_]*?[0-9]*_?)?)[0-9a-f]{32}")


def stabilise_animation_ids(cell) -> None:
    """Replace the random ids of JavaScript animations in a cell's outputs by ids derived from
    the cell id, so rebuilding an unchanged notebook leaves its file unchanged."""
    stable = hashlib.md5(str(cell.get("id", "")).encode()).hexdigest()
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "text/html" in data:
            text = data["text/html"]
            text = "".join(text) if isinstance(text, list) else text
            data["text/html"] = _ANIMATION_ID.sub(lambda m: m.group(1) + stable, text)


def build(names: list[str] | None = None, repo_root: Path = REPO_ROOT, run: bool = True
          ) -> list[BuiltNotebook]:
    """Regenerate release/ and solutions/ for ``names`` (default: every assignment)."""
    names = names or assignments(repo_root)
    homeurl.write_home_url(names, repo_root)  # badges and install cell from pyproject.toml
    check_sources(names, repo_root)
    generate_releases(names, repo_root / "release", repo_root)
    return [build_solution(name, repo_root, run=run) for name in names]


def check_sources(names: list[str], repo_root: Path = REPO_ROOT) -> None:
    """Fail clearly when a source notebook stores outputs or breaks the grade-id rules."""
    for name in names:
        nb = notebooks.read(source_path(name, repo_root))
        stored = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
        if stored:
            raise ValueError(f"source/{name}: cells {stored} store outputs; clear them first")
        notebooks.answer_tests(nb)  # raises when a test cell has no answer cell


def stale_files(repo_root: Path = REPO_ROOT) -> list[str]:
    """Generated files that differ from what the build would produce now (sources only).

    Releases are compared exactly; solution notebooks are compared without their outputs
    (nbval checks the outputs themselves).
    """
    import tempfile

    names = assignments(repo_root)
    stale: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        generate_releases(names, Path(tmp), repo_root)
        for name in names:
            fresh = Path(tmp) / name
            committed = repo_root / "release" / name
            fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
            committed_files = (
                {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
                if committed.exists() else set()
            )
            for rel in sorted(fresh_files ^ committed_files):
                stale.append(f"release/{name}/{rel}")
            for rel in sorted(fresh_files & committed_files):
                if _json_or_bytes(fresh / rel) != _json_or_bytes(committed / rel):
                    stale.append(f"release/{name}/{rel}")
    for name in names:
        expected = notebooks.solution_notebook(notebooks.read(source_path(name, repo_root)), name)
        path = solution_path(name, repo_root)
        if not path.exists():
            stale.append(f"solutions/{name}/{path.name}")
            continue
        committed_nb = notebooks.strip_outputs(notebooks.read(path))
        if _normalise(committed_nb) != _normalise(expected):
            stale.append(f"solutions/{name}/{path.name}")
    generated = {p.name for p in (repo_root / "release").iterdir()} if (repo_root / "release").exists() else set()
    for orphan in sorted(generated - set(names)):
        stale.append(f"release/{orphan} (no source)")
    return stale


def _json_or_bytes(path: Path):
    if path.suffix == ".ipynb":
        return json.loads(path.read_text())
    return path.read_bytes()


def _normalise(nb) -> dict:
    data = json.loads(json.dumps(nb))
    data.get("metadata", {}).pop("widgets", None)
    for cell in data["cells"]:
        cell.get("metadata", {}).pop("execution", None)
    data["metadata"] = {k: v for k, v in data.get("metadata", {}).items() if k in ("kernelspec",)}
    return data
