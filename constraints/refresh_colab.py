"""Rewrite ``constraints/colab.txt`` from Colab's published ``pip freeze``.

Colab publishes the package versions of its runtime in the public repository
``googlecolab/backend-info`` (``pip-freeze.gpu.txt`` for GPU runtimes). This script keeps the
Colab versions of every package the course touches: the dependency closure, in an environment
where nmautils is installed, of nmautils' runtime dependencies and of the notebook/kernel stack
that runs the notebooks (``KERNEL_STACK``), restricted to the packages Colab has.

Usage (from the repository root, after ``make setup``)::

    git clone --depth 1 https://github.com/googlecolab/backend-info /tmp/backend-info
    .venv/bin/python constraints/refresh_colab.py /tmp/backend-info/pip-freeze.gpu.txt \\
        --source "googlecolab/backend-info <commit> (<date>)"

then add every package Colab has that pip resolves for nmautils (repeat until unchanged)::

    sed 's/^torch==.*/torch==2.13.0/' constraints/colab.txt > build/colab-local.txt
    .venv/bin/python -m pip install --dry-run --ignore-installed --report build/dry.json \
        -c build/colab-local.txt .
    .venv/bin/python constraints/refresh_colab.py ... --report build/dry.json

and run the dry-run test (``tests/course/test_colab.py``) and ``make test-colab``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import re
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent

#: The notebook and kernel packages that run the course's notebooks on Colab (not dependencies
#: of nmautils, but their versions decide how widgets and progress bars behave).
KERNEL_STACK = (
    "ipykernel", "ipython", "jupyter_client", "jupyter_core", "traitlets", "ipywidgets",
    "widgetsnbextension", "jupyterlab_widgets", "nbformat", "nbclient", "pyzmq", "tornado",
    "pytest",
    # dependencies of Colab's older IPython 7 / ipykernel 6.17 that newer releases dropped
    "backcall", "decorator", "jedi", "nest_asyncio", "pickleshare", "entrypoints",
)

#: Packages pip itself needs; constraining them would change the installer, not the runtime.
INSTALLER = {"pip", "setuptools", "wheel"}


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(path: Path) -> dict[str, str]:
    """``{canonical name: requirement line}`` of the ``name==version`` lines of a pip freeze."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            pins[canonical(line.split("==")[0])] = line
    return pins


def closure(roots: list[str]) -> set[str]:
    """Canonical names of ``roots`` and all their installed runtime dependencies."""
    env = default_environment()
    env["extra"] = ""
    seen: set[str] = set()
    todo = [canonical(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(canonical(req.name))
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("freeze", type=Path, help="Colab's pip-freeze.gpu.txt")
    parser.add_argument("--source", default="googlecolab/backend-info",
                        help="where the freeze comes from (commit and date), for the header")
    parser.add_argument("--out", type=Path, default=HERE / "colab.txt")
    parser.add_argument("--report", type=Path, action="append", default=[],
                        help="a `pip install --dry-run --report` JSON of nmautils under the "
                             "current constraints: every package it resolves that Colab has is "
                             "pinned too (repeat until the file stops changing)")
    args = parser.parse_args(argv)

    pins = read_freeze(args.freeze)
    roots = [Requirement(r).name for r in md.requires("nmautils") or [] if "extra ==" not in r]
    wanted = closure(roots + list(KERNEL_STACK))
    for report in args.report:
        wanted |= {canonical(i["metadata"]["name"]) for i in json.loads(report.read_text())["install"]}
    names = sorted((wanted & set(pins)) - INSTALLER)
    header = [
        "# Colab's runtime versions of every package the course touches (GPU runtime, Python 3.13).",
        f"# Source: {args.source}, pip-freeze.gpu.txt.",
        f"# Written {dt.date.today().isoformat()} by constraints/refresh_colab.py; refresh: see README",
        "# ('Colab constraints'). torch is Colab's CUDA build: tests/course/test_colab.py and",
        "# `make test-colab` use the local CPU wheel torch==2.13.0 in its place.",
    ]
    args.out.write_text("\n".join(header + [pins[n] for n in names]) + "\n")
    print(f"{args.out}: {len(names)} pins")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
