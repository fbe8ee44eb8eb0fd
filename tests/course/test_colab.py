"""nmautils installs into Colab's runtime without changing it (constraints/colab.txt).

``constraints/colab.txt`` holds Colab's versions of every package the course touches. Colab's
torch is a CUDA build (``2.11.0+cu128``) that cannot be installed on the course machines; these
tests use the local CPU wheel ``torch==2.13.0`` in its place. The resolution runs on this
machine's Python (3.11), not Colab's 3.13. PyPI is the only network these tests use.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints" / "colab.txt"
LOCAL_TORCH = "torch==2.13.0"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_pins() -> dict[str, str]:
    """``{canonical name: version}`` of constraints/colab.txt."""
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.strip().split("==")
            pins[canonical(name)] = version
    return pins


def local_constraints(folder: Path) -> Path:
    """constraints/colab.txt with the local CPU torch wheel in place of Colab's CUDA build."""
    lines = [LOCAL_TORCH if canonical(line.split("==")[0]) == "torch" else line
             for line in CONSTRAINTS.read_text().splitlines()]
    path = folder / "colab-local.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def dry_run(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict | None]:
    """``pip install --dry-run`` under the local Colab constraints; its result and JSON report."""
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
           "--disable-pip-version-check", "--report", str(report),
           "-c", str(local_constraints(tmp_path)), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return proc, json.loads(report.read_text()) if report.exists() else None


def test_constraints_are_dated_colab_versions():
    text = CONSTRAINTS.read_text()
    date = re.search(r"\((\d{4}-\d\d-\d\d)\)", text)
    assert date, "the header must say which Colab freeze (and its date) the pins come from"
    assert dt.date.fromisoformat(date.group(1)) <= dt.date.today()
    pins = colab_pins()
    for name, version in {"ipywidgets": "7.7.1", "ipython": "7.34.0", "ipykernel": "6.17.1",
                          "numpy": "2.1.3", "tqdm": "4.67.3", "pooch": "1.9.0"}.items():
        assert pins[name] == version, f"{name}: expected Colab's {version}"
    assert pins["torch"].startswith("2.11.0"), "Colab's torch (the CUDA build) is recorded as is"
    assert not {"pip", "setuptools", "wheel"} & set(pins), "installer packages are not pinned"


def test_dependency_ranges_accept_colab_versions():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = colab_pins()
    checked = 0
    for text in project["dependencies"]:
        req = Requirement(text)
        name = canonical(req.name)
        if name in pins:
            checked += 1
            assert req.specifier.contains(Version(pins[name]), prereleases=True), (
                f"nmautils requires {text}, which rejects Colab's {req.name}=={pins[name]}: "
                "installing the course would change Colab's runtime"
            )
    assert checked >= 8


@pytest.mark.slow
def test_pip_resolves_nmautils_under_colab_constraints(tmp_path):
    """The package (as built from this checkout) installs without changing any Colab pin."""
    proc, report = dry_run([str(REPO)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pins = {**colab_pins(), "torch": LOCAL_TORCH.split("==")[1]}
    resolved = {canonical(i["metadata"]["name"]): i["metadata"]["version"]
                for i in report["install"]}
    assert "nmautils" in resolved
    changed = {n: (pins[n], v) for n, v in resolved.items()
               if n in pins and Version(v).public != Version(pins[n]).public}
    assert not changed, f"pip would change Colab's versions (pinned, resolved): {changed}"
    assert resolved["ipywidgets"] == "7.7.1"


# ---------------------------------------------------------------------------------------------
# the notebooks on a Colab GPU runtime


def _notebook(kind: str, name: str) -> dict:
    return json.loads((REPO / kind / name / f"{name}.ipynb").read_text())


@pytest.mark.parametrize("kind", ["source", "release"])
def test_tutorial2_asks_colab_for_a_gpu(kind):
    meta = _notebook(kind, "tutorial2_encoding")["metadata"]
    assert meta.get("accelerator") == "GPU"
    assert meta.get("colab", {}).get("gpuType"), "Colab needs the GPU type to open a GPU runtime"


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "source").iterdir()))
def test_every_notebook_prints_its_device(name):
    nb = _notebook("source", name)
    setup = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
    assert "show_runtime(" in setup, "the set-up cell prints the versions and the device"
    solution = _notebook("solutions", name)["cells"]
    printed = "".join("".join(o.get("text", "")) for c in solution if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    assert re.search(r"\| device: cpu\b", printed), "the stored run says it ran on the CPU"


# ---------------------------------------------------------------------------------------------
# the comparison of `make test-colab` (tests/harness/colab_notebooks.py) can fail


def _run_nb(*outputs_per_cell):
    import nbformat

    cells = []
    for outputs in outputs_per_cell:
        cell = nbformat.v4.new_code_cell("pass")
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def _out(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def test_live_comparison_of_text_outputs():
    from colab_notebooks import compare, sanitizers

    subs = sanitizers()
    fig = {"output_type": "display_data", "metadata": {},
           "data": {"text/plain": "<Figure size 640x480 with 1 Axes>"}}
    stored = _run_nb([_out("loss 0.5\n"), fig], [_out("Both give the same M.\n")])
    live = _run_nb([_out("loss 0.5\n"), _out("training: 100%\n", "stderr")],  # bar on stderr
                   [_out("Both give the same M.\nloops: 1.234 s, matrix product: 5 microseconds "
                         "(200 times faster)\n")])
    assert compare(stored, live, subs) == []  # live-only timing line and displays ignored
    changed = _run_nb([_out("loss 0.6\n")], [_out("Both give the same M.\n")])
    problems = compare(stored, changed, subs)
    assert len(problems) == 1 and "code cell 0" in problems[0] and "+loss 0.6" in problems[0]
    failed = _run_nb([{"output_type": "error", "ename": "ValueError", "evalue": "bad",
                       "traceback": []}], [])
    assert "ValueError: bad" in compare(stored, failed, subs)[0]


def test_widget_check_requires_the_slider():
    import nbformat
    from colab_notebooks import check_widgets

    nb = nbformat.v4.new_notebook()
    assert "expected a IntSliderModel widget" in " ".join(check_widgets("tutorial2_encoding", nb))
    assert check_widgets("tutorial1_decoding", nb) == []
