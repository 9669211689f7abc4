"""The explorers live, as a learner uses them (issue 22): JupyterLab 4 with ipywidgets 8 in headless Chromium.

A notebook that shows every explorer of ``tests/explorer_cases.py`` is opened in JupyterLab and run;
then one control of each explorer is moved with the keyboard (a slider step, or another option of a
drop-down) and its figure must change. Every slider track must be at least 120 px wide at the book's
content width (the notebook's output area is about 968 px there). Screenshots of each explorer go to
``artifacts/screenshots/lab-<name>.png``. Offline: the browser may reach nothing but the local server.
"""
import functools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from explorer_cases import cases

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
NAMES = list(cases())
MIN_TRACK_PX = 120


def _missing(message):
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(folder: Path) -> Path:
    """One cell builds the explorers; one cell per explorer shows it, its name printed above it."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                                          "from explorer_cases import cases\n"
                                          "built = {name: build() for name, (build, *_) in cases().items()}")]
    nb.cells += [nbformat.v4.new_code_cell(f"print('explorer: {name}')\nbuilt[{name!r}]") for name in NAMES]
    path = folder / "explorers.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a folder with the explorers' notebook, on a free local port; yields its URL."""
    folder = tmp_path_factory.mktemp("lab")
    _notebook(folder)
    port = _free_port()
    environment = {**os.environ, "JUPYTER_CONFIG_DIR": str(folder / ".config"),
                   "JUPYTER_RUNTIME_DIR": str(folder / ".runtime"), "CNNLAB_PROGRESS": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={folder}", "--ServerApp.token=", "--ServerApp.password=", "--allow-root",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=environment, stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=30)


def _offline(route, base):
    if route.request.url.startswith(base):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="module")
def page(lab):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        _missing("headless Chromium is needed for the live test: `make chromium` as root installs Debian's")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        context.route("**/*", functools.partial(_offline, base=lab))
        page = context.new_page()
        page.goto(f"{lab}/lab/tree/explorers.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)  # the kernel is connected
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        page.wait_for_function(f"document.querySelectorAll('.widget-output img').length >= {len(NAMES)}",
                               timeout=300_000)
        yield page
        browser.close()


def _explorer(page, name):
    """The widget view of the explorer printed after 'explorer: <name>'."""
    cell = page.locator(".jp-Cell", has_text=f"explorer: {name}").last
    return cell.locator(".widget-vbox").first


def _image(view) -> str:
    return view.locator(".widget-output img").first.get_attribute("src") or ""


@pytest.mark.parametrize("name", NAMES)
def test_moving_a_control_redraws_the_figure(page, name):
    view = _explorer(page, name)
    view.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view.screenshot(path=str(SCREENSHOTS / f"lab-{name}.png"))
    before = _image(view)
    handles = view.locator(".noUi-handle")
    if handles.count():
        handle = handles.first
        handle.focus()
        at_start = handle.get_attribute("aria-valuenow")
        handle.press("ArrowRight")
        if handle.get_attribute("aria-valuenow") == at_start:  # the slider started at its maximum
            handle.press("ArrowLeft")
    else:
        select = view.locator("select").last
        options = select.locator("option").all_text_contents()
        current = select.input_value()
        select.select_option(next(o for o in options if o != current))
    deadline = time.time() + 60
    while _image(view) == before:
        assert time.time() < deadline, f"{name}: the figure did not change after a control moved"
        time.sleep(0.25)


def test_no_slider_track_is_too_narrow_to_drag(page):
    output_width = page.evaluate("Math.max(...[...document.querySelectorAll('.jp-OutputArea-output')]"
                                 ".map(e => e.getBoundingClientRect().width))")
    widths = page.evaluate("[...document.querySelectorAll('.widget-slider .slider-container')]"
                           ".map(e => e.getBoundingClientRect().width)")
    assert widths, "no slider found"
    assert output_width <= 1100, f"the output area is {output_width:.0f} px wide: narrow the viewport to test"
    narrow = [w for w in widths if w < MIN_TRACK_PX]
    assert not narrow, f"{len(narrow)} slider tracks under {MIN_TRACK_PX} px (output area {output_width:.0f} px)"
