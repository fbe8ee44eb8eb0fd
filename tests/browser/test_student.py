"""A student's first contact, in JupyterLab in headless Chromium (Playwright).

- The release of tutorial 1, run from the top as a student does before writing anything: the
  first check cell stops the run with one friendly line, not a traceback.
- The course's widgets: the rank browser of tutorial 2 (a percentile slider and an exact box
  above an image of the figure) shows a new picture when a rank is typed and when the slider
  moves, and progress bars render as widgets, with no error.

Each test works in the notebook it opened, the visible panel: JupyterLab keeps the earlier
tests' notebooks open in hidden tabs.

Screenshots: ``build/browser/student-*.png``.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from browser_harness import (
    chromium_page,
    copy_notebook,
    image_digest,
    jupyter_server,
    require_browser,
    screenshot,
    wait_for_new_image,
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


def _open(page, url: str, name: str):
    """The panel of notebook ``name``, opened in JupyterLab, once its kernel is idle."""
    page.goto(f"{url}/lab/tree/{name}")
    # the notebook opened last is the visible one; earlier ones stay open in hidden tabs
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel"
                 f":text-is('{name}')").wait_for(timeout=90_000)
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-Cell").first.wait_for(timeout=90_000)
    # a notebook whose kernel name this server lacks asks for one, as it would a student
    select = page.locator(".jp-Dialog button.jp-mod-accept")
    try:
        select.wait_for(timeout=5_000)
        select.click()
    except Exception:  # noqa: BLE001 - no dialog: the kernel starts by itself
        pass
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
    return panel


def _run_all(page) -> None:
    page.get_by_role("menuitem", name="Run").click()
    page.locator("li[data-command='runmenu:run-all']").click()


def test_running_the_blank_release_stops_at_a_friendly_line(lab):
    page, url, folder = lab
    name = copy_notebook(release_path("tutorial1_decoding"), folder).name
    panel = _open(page, url, name)
    _run_all(page)
    error = panel.locator(STDERR).filter(has_text=re.compile("Error|not done yet")).first
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
            "def draw(rank):\n"
            "    fig, ax = plt.subplots(figsize=(4, 3))\n"
            "    ax.plot([0, 1], [0, rank])\n"
            "    ax.set_title(f'rank {rank}')\n"
            "    return fig\n\n"
            "browser = browse_ranks(draw, 23589)"),
        nbformat.v4.new_code_cell(
            "from nmautils.progress import progress\n"
            "for _ in progress(range(30), desc='steps'):\n"
            "    pass"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "widgets.ipynb")
    panel = _open(page, url, "widgets.ipynb")
    _run_all(page)
    rank_browser = panel.locator(".widget-vbox").filter(has=page.locator(".widget-hslider")).first
    rank_browser.wait_for(timeout=60_000)
    image = rank_browser.locator("img.widget-image")
    box = rank_browser.locator("input[type='number']")
    readout = rank_browser.locator(".widget-readout")
    first = wait_for_new_image(image, None)
    assert (box.input_value(), readout.inner_text().strip()) == ("0", "0")
    # the figure is the browser's image only: the inline backend does not show it again
    assert panel.locator(".jp-OutputArea-output > img").count() == 0

    box.fill("11794")  # a rank, typed: the slider follows and the figure is redrawn
    box.press("Enter")
    typed = wait_for_new_image(image, first)
    assert readout.inner_text().strip() == "50", readout.inner_text()
    screenshot(page, "student-rank-typed")

    rank_browser.locator(".noUi-handle").first.press("End")  # the slider to 100 %
    page.wait_for_function("box => box.value === '23588'", arg=box.element_handle(), timeout=30_000)
    wait_for_new_image(image, typed)
    assert readout.inner_text().strip() == "100", readout.inner_text()
    assert image_digest(image) not in (first, typed)

    panel.locator(".widget-hprogress, .progress-bar, .widget-progress").first.wait_for(timeout=60_000)
    screenshot(page, "student-widgets")
    assert panel.locator(STDERR).count() == 0, panel.locator(STDERR).all_inner_texts()
