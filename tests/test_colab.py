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

REPO = Path(__file__).resolve().parents[1]
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


@pytest.mark.slow
def test_dry_run_detects_a_range_colab_cannot_satisfy(tmp_path):
    """The check can fail: the old requirement ipywidgets>=8 is impossible under the pins."""
    proc, _ = dry_run(["ipywidgets>=8"], tmp_path)
    assert proc.returncode != 0
    assert "ResolutionImpossible" in proc.stderr or "conflict" in proc.stderr.lower()
