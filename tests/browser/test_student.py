"""A student's first contact, in JupyterLab in headless Chromium (Playwright).

- The release of tutorial 1, run from the top as a student does before writing anything: the
  first check cell stops the run with one friendly line, not a traceback.
- The course's widgets: the rank browser of tutorial 2 (a percentile slider and an exact box)
  changes the figure, and progress bars render as widgets, with no error.

Screenshots: ``build/browser/student-*.png``.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from browser_harness import (
    chromium_page,
    copy_notebook,
    jupyter_server,
    require_browser,
    screenshot,
)

from nmautils.course.build import release_path

ENV = {"NMAUTILS_DATA": "surrogate", "NMAUTILS_SURROGATE_SIZE": "small", "NMAUTILS_PROGRESS": "auto"}
STDERR = "[data-mime-type='application/vnd.jupyter.stderr']"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``(page, base URL, folder)``: JupyterLab serving a scratch folder, and a browser page."""
    api = require_browser()
    folder = tmp_path_factory.mktemp("lab")
    with jupyter_server(folder, "lab", env=ENV) as url, chromium_page(api) as page:
        yield page, url, folder


def _open(page, url: str, name: str) -> None:
    page.goto(f"{url}/lab/tree/{name}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    # a notebook whose kernel name this server lacks asks for one, as it would a student
    select = page.locator(".jp-Dialog button.jp-mod-accept")
    try:
        select.wait_for(timeout=5_000)
        select.click()
    except Exception:  # noqa: BLE001 - no dialog: the kernel starts by itself
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)


def _run_all(page) -> None:
    page.get_by_role("menuitem", name="Run").click()
    page.locator("li[data-command='runmenu:run-all']").click()


def test_running_the_blank_release_stops_at_a_friendly_line(lab):
    page, url, folder = lab
    name = copy_notebook(release_path("tutorial1_decoding"), folder).name
    _open(page, url, name)
    _run_all(page)
    error = page.locator(STDERR).filter(has_text=re.compile("Error|not done yet")).first
    try:
        error.wait_for(state="attached", timeout=180_000)
        error.scroll_into_view_if_needed()
    finally:
        screenshot(page, "student-first-check")
    text = (error.text_content() or "").strip()
    assert re.search(r"not done yet", text, re.I), text
    assert len(text.splitlines()) <= 3, text
    assert "Traceback" not in text and "site-packages" not in text, text


def test_the_rank_browser_changes_the_figure_and_progress_bars_are_widgets(lab):
    page, url, folder = lab
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\n"
            "from nmautils.widgets import browse_ranks\n\n"
            "def show(rank):\n"
            "    fig, ax = plt.subplots(figsize=(4, 3))\n"
            "    ax.plot([0, 1], [0, rank])\n"
            "    ax.set_title(f'rank {rank}')\n"
            "    plt.show()\n\n"
            "browser = browse_ranks(show, 23589)"),
        nbformat.v4.new_code_cell(
            "from nmautils.progress import progress\n"
            "for _ in progress(range(30), desc='steps'):\n"
            "    pass"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "widgets.ipynb")
    _open(page, url, "widgets.ipynb")
    _run_all(page)
    image = page.locator(".jp-OutputArea-output img").first
    image.wait_for(timeout=60_000)
    before = image.get_attribute("src")
    box = page.locator(".widget-inline-hbox input[type='number']").first
    box.fill("11794")
    box.press("Enter")
    page.wait_for_function(
        "src => { const i = document.querySelector('.jp-OutputArea-output img');"
        " return i && i.getAttribute('src') !== src; }", arg=before, timeout=30_000)
    readout = page.locator(".widget-readout").first.inner_text()
    assert readout.strip() == "50", readout
    page.locator(".widget-hprogress, .progress-bar, .widget-progress").first.wait_for(timeout=60_000)
    screenshot(page, "student-widgets")
    assert page.locator(STDERR).count() == 0
