"""The one build command: ``source/`` -> ``release/`` (nbgrader) + ``solutions/`` (executed).

Every assignment is a folder ``source/<assignment>/`` holding one notebook of the same name.
The release is what ``nbgrader generate_assignment`` produces; the solution notebook is the
source with markers, hidden tests and nbgrader metadata removed, executed on the synthetic data
so that its stored outputs are the same on every machine (nbval checks them in CI).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .. import runtime
from . import homeurl, notebooks
from .grading import resolve_root, temporary_grading_folder

#: Environment under which solution notebooks are executed (by the build and by nbval). Its
#: kernels also allocate big tensors faster (:func:`nmautils.runtime.tune`; no number changes).
EXECUTION_ENV = runtime.tune({
    "NMAUTILS_DATA": "surrogate",
    "NMAUTILS_PROGRESS": "off",
    "NMAUTILS_DEVICE": "cpu",
    "PYTHONHASHSEED": "0",
    # nmautils.report.approx raises when a printed number lies closer to a rounding boundary
    # than its measured cross-machine spread (the build and CI check every such margin).
    "NMAUTILS_CHECK_MARGINS": "1",
    # nmautils.report.verdict raises when a claim the text makes does not hold on the surrogate.
    "NMAUTILS_STRICT_CLAIMS": "1",
})

#: Numeric configurations the solutions are executed under, on top of :data:`EXECUTION_ENV`.
#: ``native`` is whatever this machine does by default (all cores, its widest vector
#: instructions, e.g. AVX-512 ATen kernels and multi-threaded MKL/oneDNN). ``generic`` is a
#: genuinely different arithmetic on the same machine, that of a generic x86-64 machine without
#: AVX-512 (the AMD EPYC machines on which stored outputs first failed to reproduce): torch's
#: AVX2 ATen kernels (8 lanes instead of 16, so other summation orders in reductions and
#: elementwise ops), one thread (no reductions split across threads, other BLAS blocking), MKL's
#: BLAS and oneDNN's convolutions capped at AVX2 (other GEMM and convolution kernels), and numpy's
#: OpenBLAS on one thread with its Haswell (AVX2) kernels. torch's scalar kernels
#: (``ATEN_CPU_CAPABILITY=default``) are not used: they make training several times slower,
#: which CI cannot afford. Capping MKL at AVX or SSE4.2 would be
#: slower still and makes MKL print a deprecation warning into the notebook. Stored text outputs
#: must come out the same under both; CI's nbval runs the second (``NBVAL_CONFIG`` in
#: tests/conftest.py), and ``python -m nmautils.course main --config generic`` runs the main job
#: under it.
NUMERIC_CONFIGS: dict[str, dict[str, str]] = {
    "native": {},
    "generic": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "DNNL_MAX_CPU_ISA": "AVX2",
        # numpy's OpenBLAS: one thread, Haswell (AVX2) kernels instead of the detected ones
        "OPENBLAS_NUM_THREADS": "1",
        "OPENBLAS_CORETYPE": "Haswell",
    },
}

#: Seconds a single cell may run while building solutions.
CELL_TIMEOUT = 300

#: The regex replacements nbval applies before comparing text (one definition for both): package
#: data, so that a course folder outside this repository compares like the repository's CI
#: (the Makefile's ``--nbval-sanitize-with`` names the same file).
SANITIZE_FILE = Path(__file__).resolve().parent / "data" / "nbval_sanitize.cfg"

#: Marker (comment in the cell source, or cell tag) of outputs nbval does not compare.
IGNORE_OUTPUT = "NBVAL_IGNORE_OUTPUT"


@dataclass
class BuiltNotebook:
    """What building one assignment produced."""

    assignment: str
    notebook: str
    seconds: float | None
    ok: bool
    error: str = ""


def assignments(course_root: Path | None = None) -> list[str]:
    """Names of the assignments in ``source/`` (folders holding ``<name>/<name>.ipynb``) of the
    course folder ``course_root`` (default: :func:`~nmautils.course.grading.resolve_root`, as for
    every function here)."""
    src = resolve_root(course_root) / "source"
    return sorted(p.name for p in src.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_path(assignment: str, course_root: Path | None = None) -> Path:
    return resolve_root(course_root) / "source" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str, course_root: Path | None = None) -> Path:
    return resolve_root(course_root) / "release" / assignment / f"{assignment}.ipynb"


def solution_path(assignment: str, course_root: Path | None = None) -> Path:
    return resolve_root(course_root) / "solutions" / assignment / f"{assignment}.ipynb"


def generate_releases(names: list[str], out_root: Path, course_root: Path | None = None) -> None:
    """Run nbgrader generate_assignment for ``names`` and copy the results to ``out_root``."""
    with temporary_grading_folder(course_root) as course:
        for name in names:
            course.add_source(name)
            produced = course.generate(name)
            dst = out_root / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(produced, dst)


def execute(nb, cwd: Path, timeout: int = CELL_TIMEOUT, config: str = "native") -> float:
    """Execute a notebook in place with the build's environment; return the wall time (s).

    ``config`` names one of :data:`NUMERIC_CONFIGS`; its variables are set on top of
    :data:`EXECUTION_ENV` for the kernel (which inherits this process's environment).
    """
    from nbclient import NotebookClient

    from .grading import environment
    from .sandbox import IPCKernelManager

    with environment({**EXECUTION_ENV, **NUMERIC_CONFIGS[config]}):
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                kernel_manager_class=IPCKernelManager,
                                resources={"metadata": {"path": str(cwd)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


def build_solution(assignment: str, course_root: Path | None = None, run: bool = True,
                   out_root: Path | None = None, config: str = "native") -> BuiltNotebook:
    """Write ``<out_root>/<assignment>/`` (default ``solutions/``) from the source, executed
    under the numeric ``config`` unless ``run`` is False."""
    course_root = resolve_root(course_root)
    src = notebooks.read(source_path(assignment, course_root))
    nb = notebooks.solution_notebook(src, assignment)
    out = (out_root or course_root / "solutions") / assignment / f"{assignment}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    # Copy any data files that sit beside the source notebook.
    for extra in source_path(assignment, course_root).parent.iterdir():
        if extra.suffix != ".ipynb" and extra.is_file():
            shutil.copy2(extra, out.parent / extra.name)
    seconds, ok, error = None, True, ""
    if run:
        try:
            # one scalar thread is several times slower than the native kernels
            timeout = CELL_TIMEOUT if config == "native" else 3 * CELL_TIMEOUT
            seconds = execute(nb, out.parent, timeout=timeout, config=config)
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


def build(names: list[str] | None = None, course_root: Path | None = None, run: bool = True,
          out_root: Path | None = None, config: str = "native") -> list[BuiltNotebook]:
    """Generate ``release/`` and ``solutions/`` for ``names`` (default: every assignment).

    Without ``out_root`` the tracked folders of ``course_root`` are rewritten (``make build``);
    with it, ``<out_root>/release`` and ``<out_root>/solutions`` are written instead and the
    tracked files are left alone (``make``, see :func:`verify`).
    """
    course_root = resolve_root(course_root)
    names = names or assignments(course_root)
    homeurl.write_home_url(names, course_root)  # badges and install cell: pyproject.toml's URL
    check_sources(names, course_root)
    base = out_root if out_root is not None else course_root
    generate_releases(names, base / "release", course_root)
    return [build_solution(name, course_root, run=run, out_root=base / "solutions", config=config)
            for name in names]


def sanitizers(path: Path = SANITIZE_FILE) -> list[tuple[re.Pattern[str], str]]:
    """The (regex, replacement) pairs of nbval's sanitize file, in file order."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


#: Output data nbval does not compare (without ``--nbdime``).
_NOT_COMPARED = ("image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json")


def text_outputs(nb, rules: list[tuple[re.Pattern[str], str]] | None = None) -> list[list[str]]:
    """What nbval compares, per code cell, sanitised.

    Streams are joined per stream name (nbval merges consecutive stream outputs); results and
    displays give every data type but images and widget ids (``text/plain``, ``text/html``...);
    errors give their name and value. Cells marked ``NBVAL_IGNORE_OUTPUT`` give nothing.
    """
    rules = sanitizers() if rules is None else rules
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        ignored = IGNORE_OUTPUT in cell.source or IGNORE_OUTPUT in cell.metadata.get("tags", [])
        streams: dict[str, str] = {}
        data: list[str] = []
        for output in [] if ignored else cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                name = output.get("name", "stdout")
                streams[name] = streams.get(name, "") + _text(output.get("text", ""))
            elif kind == "error":
                data.append(f"error: {output.get('ename')}: {output.get('evalue')}")
            else:
                data += [f"{key}: {_text(value)}" for key, value in output.get("data", {}).items()
                         if key not in _NOT_COMPARED]
        texts = [f"{name}: {text}" for name, text in sorted(streams.items())] + data
        for i, text in enumerate(texts):
            for pattern, replacement in rules:
                text = pattern.sub(replacement, text)
            texts[i] = text
        cells.append(texts)
    return cells


def output_differences(committed, fresh, label: str) -> list[str]:
    """Human-readable differences between the compared text outputs of two notebooks."""
    import difflib

    a, b = text_outputs(committed), text_outputs(fresh)
    if len(a) != len(b):
        return [f"{label}: {len(a)} code cells committed, {len(b)} built"]
    diffs = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            lines = difflib.unified_diff("\n".join(x).splitlines(), "\n".join(y).splitlines(),
                                         "committed", "built", lineterm="", n=0)
            diffs.append(f"{label}, code cell {i}:\n    " + "\n    ".join(list(lines)[2:]))
    return diffs


def verify(names: list[str] | None = None, out_root: Path | None = None,
           course_root: Path | None = None, config: str = "native"
           ) -> tuple[list[BuiltNotebook], list[str]]:
    """Build into ``out_root`` (default ``build/main``), then compare with the committed files.

    Returns the build results and the differences: release notebooks must be identical;
    solution notebooks must have the same cells and the same sanitised text outputs (what nbval
    compares). Nothing tracked is written, so ``git status`` stays clean.
    """
    course_root = resolve_root(course_root)
    names = names or assignments(course_root)
    out_root = out_root or course_root / "build" / "main"
    if out_root.exists():
        shutil.rmtree(out_root)
    results = build(names, course_root, out_root=out_root, config=config)
    diffs: list[str] = []
    for name in names:
        fresh_release = out_root / "release" / name
        committed_release = course_root / "release" / name
        for path in sorted(p for p in fresh_release.rglob("*") if p.is_file()):
            rel = path.relative_to(fresh_release)
            other = committed_release / rel
            if not other.exists() or _json_or_bytes(other) != _json_or_bytes(path):
                diffs.append(f"release/{name}/{rel} differs from the build")
        fresh = notebooks.read(out_root / "solutions" / name / f"{name}.ipynb")
        path = solution_path(name, course_root)
        if not path.exists():
            diffs.append(f"solutions/{name}/{path.name} is missing")
            continue
        committed = notebooks.read(path)
        if _normalise(notebooks.strip_outputs(committed)) != _normalise(
                notebooks.strip_outputs(fresh)):
            diffs.append(f"solutions/{name}/{path.name}: cells differ from the source")
        diffs += output_differences(committed, fresh, f"solutions/{name}/{path.name}")
    for folder in ("release", "solutions"):
        generated = course_root / folder
        orphans = {p.name for p in generated.iterdir() if p.is_dir()} if generated.is_dir() else set()
        diffs += [f"{folder}/{o} has no source" for o in sorted(orphans - set(assignments(course_root)))]
    return results, diffs


def check_sources(names: list[str], course_root: Path | None = None) -> None:
    """Fail clearly when a source notebook stores outputs or breaks the grade-id rules."""
    course_root = resolve_root(course_root)
    for name in names:
        nb = notebooks.read(source_path(name, course_root))
        stored = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
        if stored:
            raise ValueError(f"source/{name}: cells {stored} store outputs; clear them first")
        notebooks.answer_tests(nb)  # raises when a test cell has no answer cell


def stale_files(course_root: Path | None = None) -> list[str]:
    """Generated files that differ from what the build would produce now (sources only).

    Releases are compared exactly; solution notebooks are compared without their outputs
    (nbval checks the outputs themselves).
    """
    import tempfile

    course_root = resolve_root(course_root)
    names = assignments(course_root)
    stale: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        generate_releases(names, Path(tmp), course_root)
        for name in names:
            fresh = Path(tmp) / name
            committed = course_root / "release" / name
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
        if not solution_is_current(name, course_root):
            stale.append(f"solutions/{name}/{solution_path(name, course_root).name}")
    generated = {p.name for p in (course_root / "release").iterdir()} if (course_root / "release").exists() else set()
    for orphan in sorted(generated - set(names)):
        stale.append(f"release/{orphan} (no source)")
    return stale


def solution_is_current(assignment: str, course_root: Path | None = None) -> bool:
    """Whether ``solutions/<assignment>`` exists and has the cells its source makes (outputs
    are not compared: nbval checks them)."""
    path = solution_path(assignment, course_root)
    if not path.exists():
        return False
    expected = notebooks.solution_notebook(notebooks.read(source_path(assignment, course_root)),
                                           assignment)
    return _normalise(notebooks.strip_outputs(notebooks.read(path))) == _normalise(expected)


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
