"""A student's first contact in Colab's front end: the classic Notebook 6.5 with ipywidgets 7.

Colab renders widgets with ipywidgets 7 the way the classic Notebook does (its own editor aside),
so this is :mod:`test_student` again in the classic Notebook, served from ``build/colab-venv``
(``make test-colab``: ``constraints/colab.txt``'s versions) in headless Chromium (Playwright):

- tutorial 1's blank release, Cell > Run All: the set-up cell runs and the first check cell
  stops the run with one friendly line, not a traceback;
- tutorial 2's solution cut to its set-up cell and Section 6's code cells up to the explore
  cell (verbatim), Cell > Run All: no cell shows an error, training's progress bars render as
  widget bars, no widget falls back to its text form;
- the explore cell's rank browser (``nmautils.widgets.browse_ranks``): moving its percentile
  slider (keyboard, as the slider's handle takes it) sets the rank box and shows a new picture
  of the figure; typing a rank moves the slider and shows a new picture; no page error.

widgetsnbextension 3.6.7 to 3.6.10 (Colab pins 3.6.10) cannot make an Output widget in the
classic Notebook ("_deserialize_state is not a function" in the page; 3.6.6 can), so the rank
browser shows its figure in an Image widget, not an Output; this test fails on any page error.

Versions: all from ``constraints/colab.txt`` - notebook 6.5.7, widgetsnbextension 3.6.10 (its
nbextension enabled in the venv), ipywidgets 7.7.1, ipykernel 6.17.1, IPython 7.34.0,
jupyter_server 2.20.0. notebook 6.5 needs nbclassic, which ``constraints/colab.txt`` does not pin
(it is outside the course's dependency closure): pip picks the newest, 1.3.3, the version in
Colab's pip freeze. Every one of them installs from the local registry. Differences from Colab:
this machine's Python 3.11 (Colab: 3.13), the CPU torch 2.13.0 wheel (Colab: its CUDA build
2.11.0), the classic Notebook's page instead of Colab's editor, and the small synthetic data
(``NMAUTILS_SURROGATE_SIZE=small``), so that tutorial 2's training takes seconds.

Run by ``make test-colab``, which sets ``NMAUTILS_COLAB_VENV``; elsewhere it skips and says so.
Screenshots: ``build/browser/colab-*.png``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser_harness import (
    SCREENSHOTS,
    chromium_page,
    copy_notebook,
    image_digest,
    jupyter_server,
    require_browser,
    screenshot,
    wait_for_new_image,
)
from colab_notebooks import LIVE_ENV, REMOVED_ENV

from nmautils.course.build import EXECUTION_ENV, release_path, solution_path

VENV_VARIABLE = "NMAUTILS_COLAB_VENV"
#: The kernel's environment: a live run as on Colab (no CI, no NMAUTILS_PROGRESS, none of the
#: build's settings that the test suite puts in this process), on the small synthetic data.
KERNEL_ENV = {**LIVE_ENV, "NMAUTILS_SURROGATE_SIZE": "small"}
UNSET = tuple(REMOVED_ENV) + tuple(key for key in EXECUTION_ENV if key not in KERNEL_ENV)
#: What Colab ships (``constraints/colab.txt``) of the packages that draw the page and widgets.
EXPECTED_VERSIONS = {"notebook": "6.5.7", "widgetsnbextension": "3.6.10", "ipywidgets": "7.7.1"}
WIDGETS_EXTENSION = "jupyter-js-widgets/extension"
#: The text a widget view shows when the page cannot render it (ipywidgets 7's text/plain repr).
WIDGET_AS_TEXT = re.compile(r"(VBox|HBox|IntSlider|FloatProgress)\(children=|\(value=|"
                            r"Failed to display Jupyter Widget|Error displaying widget")
#: How long Run All of tutorial 2 may take on a loaded 2-core machine (a guard, not a measure).
TUTORIAL2_SECONDS = 1200


def _colab_python() -> str:
    venv = os.environ.get(VENV_VARIABLE)
    if not venv:
        pytest.skip(f"run by `make test-colab` (it sets {VENV_VARIABLE} to build/colab-venv, "
                    "Colab's versions with the classic Notebook)")
    python = Path(venv).resolve() / "bin" / "python"
    assert python.exists(), f"{VENV_VARIABLE}={venv} has no bin/python"
    return str(python)


def _versions(python: str) -> dict[str, str]:
    script = ("import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
              f"{sorted(EXPECTED_VERSIONS)!r} + ['nbclassic', 'ipykernel', 'ipython']}}))")
    return json.loads(subprocess.run([python, "-c", script], capture_output=True, text=True,
                                     check=True, timeout=120).stdout)


@pytest.fixture(scope="module")
def classic(tmp_path_factory):
    """``(page, base URL, folder, page errors)``: the classic Notebook of the Colab venv serving a
    scratch folder, and a browser page."""
    python = _colab_python()
    api = require_browser()
    versions = _versions(python)
    print(f"Colab venv: {versions}")
    assert {k: versions[k] for k in EXPECTED_VERSIONS} == EXPECTED_VERSIONS, versions
    folder = tmp_path_factory.mktemp("classic")
    with jupyter_server(folder, "notebook", env=KERNEL_ENV, python=python, classic=True,
                        unset=UNSET) as url, chromium_page(api) as page:
        config = json.load(urllib.request.urlopen(f"{url}/api/config/notebook", timeout=30))
        assert config.get("load_extensions", {}).get(WIDGETS_EXTENSION), (
            f"the widgets' nbextension is not enabled: {config}")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page, url, folder, errors


def _open(page, url: str, name: str) -> None:
    page.goto(f"{url}/notebooks/{name}")
    page.wait_for_selector("#notebook-container .cell", timeout=90_000)
    page.wait_for_selector("#kernel_indicator_icon.kernel_idle_icon", timeout=90_000)


def _run_all(page) -> None:
    page.locator("#celllink").click()
    page.locator("#run_all_cells").click()


def _kernel_python(page) -> str:
    """The interpreter of the page's kernel, asked through the page's own kernel connection."""
    return page.evaluate("""() => new Promise(resolve => {
        Jupyter.notebook.kernel.execute('import sys; print(sys.executable, end="")', {iopub: {
            output: msg => { if (msg.content.text) resolve(msg.content.text); }}});
    })""")


def test_running_the_blank_release_stops_at_a_friendly_line(classic):
    page, url, folder, errors = classic
    name = copy_notebook(release_path("tutorial1_decoding"), folder).name
    _open(page, url, name)
    assert Path(_kernel_python(page)).parent.parent == Path(_colab_python()).parent.parent
    _run_all(page)
    error = page.locator(".output_error").first
    try:
        error.wait_for(state="attached", timeout=180_000)
        page.wait_for_selector("#kernel_indicator_icon.kernel_idle_icon", timeout=60_000)
        error.scroll_into_view_if_needed()
    finally:
        screenshot(page, "colab-first-check")
    text = (error.text_content() or "").strip()
    assert re.search(r"not done yet", text, re.I), text
    assert len(text.splitlines()) <= 3, text
    assert "Traceback" not in text and "site-packages" not in text, text
    assert page.locator(".output_error").count() == 1, "Run All went on past the first error"
    assert not errors, errors


def explore_notebook(folder: Path) -> str:
    """Tutorial 2's solution cut to what its rank browser needs, cells verbatim: the set-up cell,
    then every code cell from Section 6's data (``load_data_split``) to the explore cell
    (``browse_ranks``), the training with its progress bar among them."""
    solution = nbformat.read(solution_path("tutorial2_encoding"), as_version=4)
    code = [c for c in solution.cells if c.cell_type == "code"]
    first = next(i for i, c in enumerate(code) if "load_data_split()" in c.source)
    last = next(i for i, c in enumerate(code) if "browse_ranks(" in c.source)
    cells = [code[0], *code[first:last + 1]]
    for cell in cells:
        cell.outputs, cell.execution_count = [], None
    nb = nbformat.v4.new_notebook(cells=cells, metadata=solution.metadata)
    nbformat.write(nb, folder / "tutorial2_explore.ipynb")
    return "tutorial2_explore.ipynb"


@pytest.fixture(scope="module")
def tutorial2(classic):
    """The page once Cell > Run All of :func:`explore_notebook` has finished."""
    page, url, folder, errors = classic
    errors.clear()
    _open(page, url, explore_notebook(folder))
    _run_all(page)
    try:
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.code_cell .input_prompt'))"
            ".every(p => /\\[\\d+\\]/.test(p.textContent)) || (document.querySelector("
            "'.output_error') && document.querySelector('#kernel_indicator_icon.kernel_idle_icon'))",
            timeout=TUTORIAL2_SECONDS * 1000, polling=1000)  # all ran, or Run All stopped
    finally:
        screenshot(page, "colab-tutorial2-run")
    return page, errors


def test_tutorial2_runs_without_errors_and_its_progress_bars_are_widgets(tutorial2):
    page, errors = tutorial2
    assert page.locator(".output_error").count() == 0, page.locator(".output_error").all_inner_texts()
    stderr = page.locator(".output_stderr").all_inner_texts()
    assert not [t for t in stderr if re.search(r"Error|Traceback|\d+%\|", t)], stderr
    bars = page.locator(".widget-hprogress")
    assert bars.count() >= 1, "training showed no widget progress bar"
    bars.first.scroll_into_view_if_needed()
    screenshot(page, "colab-progress")
    as_text = [t for t in page.locator(".output_text").all_inner_texts() if WIDGET_AS_TEXT.search(t)]
    assert not as_text, as_text
    assert not errors, errors


def test_the_rank_browser_of_tutorial2_changes_its_figure(tutorial2):
    page, errors = tutorial2
    for step in ("slider", "typed"):  # no stale picture of an earlier run stays beside this one's
        (SCREENSHOTS / f"colab-rank-{step}.png").unlink(missing_ok=True)
    rank_browser = page.locator(".widget-vbox").filter(has=page.locator(".widget-hslider")).first
    try:
        rank_browser.wait_for(timeout=60_000)
    finally:
        page.locator(".code_cell").last.scroll_into_view_if_needed()
        screenshot(page, "colab-rank-browser")
    rank_browser.scroll_into_view_if_needed()
    image = rank_browser.locator("img.widget-image")
    box = rank_browser.locator("input[type='number']")
    readout = rank_browser.locator(".widget-readout")
    first = wait_for_new_image(image, None)
    assert (box.input_value(), readout.inner_text().strip()) == ("0", "0")
    # the figure is the browser's image only: the inline backend does not show it again
    assert page.locator(".code_cell").last.locator(".output_png").count() == 0
    screenshot(page, "colab-rank-browser")

    rank_browser.locator(".ui-slider-handle").first.press("End")  # the slider to 100 %
    page.wait_for_function("box => box.value !== '0'", arg=box.element_handle(), timeout=30_000)
    last = int(box.input_value())
    assert last > 1 and readout.inner_text().strip() == "100", (last, readout.inner_text())
    at_end = wait_for_new_image(image, first)
    screenshot(page, "colab-rank-slider")

    half = last // 2
    box.fill(str(half))
    box.press("Enter")
    wait_for_new_image(image, at_end)
    assert readout.inner_text().strip() == "50", readout.inner_text()
    assert box.input_value() == str(half)
    assert image_digest(image) not in (first, at_end)
    screenshot(page, "colab-rank-typed")
    assert page.locator(".output_error").count() == 0
    assert not errors, errors
