"""A Jupyter server and headless Chromium for the browser tests (``tests/browser/``).

The tests use Playwright for Python with Debian's Chromium (``make setup`` installs
both); without them they skip and say what to install. One server per test module, started on
loopback with no token, in a scratch folder the test fills; screenshots go to
``build/browser/`` so that a maintainer can look at each step.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "browser"
#: Flags for Chromium on a machine without network or display (no background connections).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def require_browser():
    """Playwright's sync API, or skip with what to install."""
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("needs Playwright for Python: run `make setup` (Playwright comes with the dev extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}: run `make setup` as root "
                    "(Debian package 'chromium')")
    return sync_api


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_options(root: Path, classic: bool) -> list[str]:
    """Loopback, no token, no password, ``root`` served: for jupyter_server 2 or the classic
    Notebook 6 (``NotebookApp``, whose token option is its own)."""
    if classic:
        return ["--NotebookApp.ip=127.0.0.1", "--NotebookApp.token=", "--NotebookApp.password=",
                "--NotebookApp.disable_check_xsrf=True", f"--NotebookApp.notebook_dir={root}"]
    return ["--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}"]


@contextmanager
def jupyter_server(root: Path, app: str = "lab", env: dict | None = None, timeout: float = 120,
                   python: str | None = None, classic: bool = False, unset: tuple = ()):
    """``jupyter <app>`` serving ``root`` on loopback without a token; yields its base URL.

    ``python``: the interpreter whose Jupyter runs (default: this one), so its venv's kernel too;
    ``classic``: the server is the classic Notebook 6; ``unset``: variables its kernels must not
    inherit from this process."""
    port = _free_port()
    python = python or sys.executable
    bindir = str(Path(python).parent)
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    environment.update({**(env or {}),
                        "PATH": bindir + os.pathsep + os.environ.get("PATH", "")})
    log = open(Path(root) / f".jupyter-{app}.log", "w")
    command = [python, "-m", "jupyter", app, "--no-browser", f"--port={port}",
               *_server_options(root, classic)]
    if os.geteuid() == 0:  # CI machines run as root
        command.append("--allow-root")
    proc = subprocess.Popen(command, cwd=root, env=environment, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Jupyter server did not start:\n"
                                       + (Path(root) / f".jupyter-{app}.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        log.close()


@contextmanager
def chromium_page(sync_api, width: int = 1400, height: int = 1000):
    """A page of a fresh headless Chromium."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save the page under ``build/browser/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


#: A digest of the bytes an ``<img>`` shows (a widget image's ``src`` is a blob: URL), so that a
#: test compares pictures, not URLs: a new URL with the same picture is no redraw.
_IMAGE_DIGEST = """async img => {
    if (!img.complete || !img.naturalWidth || !img.src) return null;
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let hash = 2166136261;
    for (const b of bytes) hash = Math.imul(hash ^ b, 16777619) >>> 0;
    return bytes.length + ':' + hash.toString(16);
}"""


def image_digest(image) -> str | None:
    """``length:FNV-1a`` of the picture the ``<img>`` locator shows; None until it has loaded."""
    return image.evaluate(_IMAGE_DIGEST)


def wait_for_new_image(image, before: str | None, timeout: float = 60) -> str:
    """The digest of the ``<img>`` locator's picture once it loaded and differs from ``before``."""
    image.wait_for(timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while True:
        digest = image_digest(image)
        if digest is not None and digest != before:
            return digest
        if time.monotonic() > deadline:
            raise AssertionError(f"the image did not change from {before} in {timeout} s "
                                 f"(now {digest})")
        time.sleep(0.25)


def copy_notebook(notebook: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(notebook, folder / Path(notebook).name))
