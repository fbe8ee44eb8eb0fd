"""Execute the solution notebooks as a student would on Colab and compare their text outputs.

Run by ``make test-colab`` with the Python of a venv built from ``constraints/colab.txt`` (Colab's
versions; the local CPU torch in place of Colab's CUDA build) into which nmautils was installed
from a wheel::

    build/colab-venv/bin/python tests/harness/colab_notebooks.py solutions

Unlike the build and ``make test``, the notebooks run *live*: neither ``CI`` nor
``NMAUTILS_PROGRESS`` is set, so tutorial 2 shows its slider (``interact``) and training shows
progress bars. Data stay the synthetic surrogate and the device the CPU, as in the stored outputs.

For every code cell the text a student reads - ``stdout`` and ``execute_result`` text - is
compared with the stored solution after the substitutions of
``nmautils/course/data/nbval_sanitize.cfg`` and of
:data:`LIVE_ONLY` (lines printed only in live runs, such as timings); ``stderr`` (progress bars in
text form, warnings) and displays (figures, widgets, HTML) are not compared. Errors fail. Then
the widgets are checked: tutorial 2's slider must produce a widget view whose model is an
``IntSlider``, and every notebook that shows progress bars must produce widget bars
(``FloatProgress``) - with the ipywidgets version installed (Colab: 7.7.1).
"""

from __future__ import annotations

import argparse
import configparser
import difflib
import os
import re
import sys
import time
from pathlib import Path

import nbformat

from nmautils.runtime import tune

HERE = Path(__file__).resolve().parent
SANITIZE = HERE.parents[1] / "nmautils" / "course" / "data" / "nbval_sanitize.cfg"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

#: Environment of the live run: the stored outputs' data and device; no CI, no NMAUTILS_PROGRESS.
LIVE_ENV = tune({"NMAUTILS_DATA": "surrogate", "NMAUTILS_DEVICE": "cpu", "PYTHONHASHSEED": "0",
                 "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
REMOVED_ENV = ("CI", "NMAUTILS_PROGRESS")

#: Lines that only live runs print (regex, replacement), applied to both sides.
LIVE_ONLY = [
    # tutorial 3: the measured speed-up of the matrix product (timings)
    (r"(?m)^loops: [0-9.]+ s, matrix product: .*\n", ""),
]

#: Widgets each notebook must show when run live: {assignment: {model name: minimum count}}.
EXPECTED_WIDGETS = {
    "tutorial2_encoding": {"IntSliderModel": 1},
    "tutorial3_backprop": {"FloatProgressModel": 1},
}


def sanitizers(path: Path = SANITIZE) -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of an nbval sanitize file, then :data:`LIVE_ONLY`."""
    parser = configparser.ConfigParser()
    parser.read(path)
    pairs = [(parser[s]["regex"], parser[s]["replace"]) for s in parser.sections()]
    return pairs + LIVE_ONLY


def cell_text(cell, subs: list[tuple[str, str]]) -> str:
    """What a student reads as text: stdout and execute_result text/plain, sanitised."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stdout":
            parts.append(out.text)
        elif out.output_type == "execute_result":
            parts.append(out.get("data", {}).get("text/plain", "") + "\n")
    text = "".join(parts)
    for regex, replace in subs:
        text = re.sub(regex, replace, text)
    return text


def compare(stored, executed, subs: list[tuple[str, str]]) -> list[str]:
    """Differences between the stored and the executed text outputs, one entry per cell."""
    problems = []
    code = [(s, e) for s, e in zip(stored.cells, executed.cells) if s.cell_type == "code"]
    for index, (s, e) in enumerate(code):
        errors = [o for o in e.get("outputs", []) if o.output_type == "error"]
        if errors:
            problems.append(f"code cell {index}: {errors[0].ename}: {errors[0].evalue}")
            continue
        a, b = cell_text(s, subs), cell_text(e, subs)
        if a != b:
            diff = "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "stored",
                                                  "live", lineterm="", n=1))
            problems.append(f"code cell {index} prints other text:\n{diff}")
    return problems


def widget_models(nb) -> dict[str, dict]:
    """``{model_id: state entry}`` of the widgets the executed notebook created."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    return dict(state.get("state", {}))


def check_widgets(name: str, nb) -> list[str]:
    """Problems with the widgets of an executed notebook (see :data:`EXPECTED_WIDGETS`)."""
    models = widget_models(nb)
    views = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells for o in c.get("outputs", [])
             if WIDGET_VIEW in o.get("data", {})]
    problems = [f"widget view of unknown model {v}" for v in views if v not in models]
    for model_name, least in EXPECTED_WIDGETS.get(name, {}).items():
        found = [m for m in models.values() if m.get("model_name") == model_name]
        if len(found) < least:
            problems.append(f"expected a {model_name} widget, found models "
                            f"{sorted({m.get('model_name') for m in models.values()})}")
    if EXPECTED_WIDGETS.get(name) and not views:
        problems.append("no widget view was displayed")
    return problems


def widget_versions(nb) -> set[str]:
    """The ``@jupyter-widgets/controls`` versions of the notebook's widget models."""
    return {m.get("model_module_version", "?") for m in widget_models(nb).values()
            if m.get("model_module") == "@jupyter-widgets/controls"}


def run(path: Path, timeout: int = 600):
    """Execute a copy of the notebook with the live environment; return it and the seconds."""
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="solutions/ (one folder per assignment)")
    parser.add_argument("--only", nargs="*", help="assignments to run (default: all)")
    args = parser.parse_args(argv)

    import ipywidgets
    from jupyter_client.kernelspec import KernelSpecManager

    for key in REMOVED_ENV:
        os.environ.pop(key, None)
    os.environ.update(LIVE_ENV)
    kernel = KernelSpecManager().get_kernel_spec("python3").argv[0]
    import importlib.util

    origin = importlib.util.find_spec("nmautils").origin
    print(f"# python {sys.version.split()[0]} ({sys.executable}); kernel {kernel}; nmautils {origin}; "
          f"ipywidgets {ipywidgets.__version__}", flush=True)
    subs = sanitizers()
    failed = 0
    names = args.only or sorted(p.name for p in args.folder.iterdir() if p.is_dir())
    for name in names:
        path = args.folder / name / f"{name}.ipynb"
        stored = nbformat.read(str(path), as_version=4)
        try:
            executed, seconds = run(path)
        except Exception as exc:  # a failing cell: report it and go on with the others
            print(f"FAIL {name}: {type(exc).__name__}: {str(exc)[-1500:]}", flush=True)
            failed += 1
            continue
        problems = compare(stored, executed, subs) + check_widgets(name, executed)
        versions = ",".join(sorted(widget_versions(executed))) or "-"
        status = "ok" if not problems else "FAIL"
        print(f"{status} {name}: {seconds:.0f} s, {len(widget_models(executed))} widget models "
              f"(controls {versions})", flush=True)
        for problem in problems:
            print("    " + problem.replace("\n", "\n    "), flush=True)
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
