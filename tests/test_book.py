"""The built book, seen in a browser as a reader sees it, with no network.

Builds the book with warnings as errors, serves it on 127.0.0.1 and opens every notebook page of the
table of contents in one headless Chromium (driven by Playwright, the system's browser), which may
reach nothing but that server. Per page: every image has loaded and there is one figure per PNG output
of the notebook; no output area is empty where the notebook has an output; MathJax typeset every
formula and no raw TeX is left; the Colab and download buttons point at this notebook; the console
shows no error. Full-page screenshots go to artifacts/screenshots/<page>.png, plus a light and a dark
one of the first chapter with a figure, whose figures must stay on a light, opaque background.

``CNNLAB_BOOK_HTML=_build/html`` tests an already built book instead of building one.
"""
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import nbformat
import pytest
import yaml

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REMOVED_CELL = {"remove-cell", "remove_cell"}
REMOVED_OUTPUT = {"remove-output", "remove_output"} | REMOVED_CELL
# Dollar math or a LaTeX display in a notebook's markdown: the page must show typeset formulas.
MARKDOWN_MATH = re.compile(r"\$[^$\n]+\$|\\\[|\\begin\{")


def _toc_notebooks():
    """Every toc entry that is a notebook, as a path without suffix (e.g. notebooks/01_neocognitron_lenet)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node and (ROOT / f"{node['file']}.ipynb").is_file():
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))
    return found


PAGES = _toc_notebooks()


def _missing(message):
    """Fail in CI, skip elsewhere: the browser test needs a browser."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _colab_url(page):
    """Where the Colab button must lead: the notebook in the repository named by _config.yml."""
    repository = CONFIG["repository"]
    owner_repo = urllib.parse.urlparse(repository["url"]).path.strip("/")
    return (f"https://colab.research.google.com/github/{owner_repo}/blob/"
            f"{repository.get('branch', 'main')}/{page}.ipynb")


def _expected(page):
    """From the notebook: per code cell the book shows, whether it has outputs; the PNG count; math or not."""
    nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    shown = [c for c in nb.cells if c.cell_type == "code" and not REMOVED_CELL & set(c.metadata.get("tags", []))]
    has_output = [bool(c.outputs) and not REMOVED_OUTPUT & set(c.metadata.get("tags", [])) for c in shown]
    pngs = sum("image/png" in o.get("data", {}) for c, out in zip(shown, has_output) if out for o in c.outputs)
    math = any(MARKDOWN_MATH.search(c.source) for c in nb.cells if c.cell_type == "markdown")
    return has_output, pngs, math


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """One build of the book per session, with -W, into a temporary directory (or CNNLAB_BOOK_HTML)."""
    if os.environ.get("CNNLAB_BOOK_HTML"):
        return Path(os.environ["CNNLAB_BOOK_HTML"]).resolve()
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
                             "--warningiserror", "--nitpick", "--keep-going"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"the book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def server(built_book):
    """The built HTML served over http on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module (the system's: Playwright downloads none)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        _missing("headless Chromium is needed for the browser test: run `make chromium` as root (it "
                 "apt-get installs Debian's chromium) or install it yourself, e.g. `sudo apt-get install chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright drives the browser test: `make test` installs it from requirements.txt")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class _Visit:
    """A page opened offline in a fresh context; records console errors, page errors and blocked requests."""

    def __init__(self, browser, server, url, color_scheme="light"):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme)
        self.errors, self.blocked = [], []
        self.context.route("**/*", functools.partial(self._offline, server))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.goto(url, wait_until="load")
        self.page.evaluate(WAIT_FOR_IMAGES_AND_MATH)

    def _offline(self, server, route):
        if route.request.url.startswith(server) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def screenshot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        self.context.close()


WAIT_FOR_IMAGES_AND_MATH = """async () => {
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
}"""

# Everything the checks read from the page, in one round trip.
READ_PAGE = """() => {
  const article = document.querySelector('article.bd-article');
  if (!article) return null;
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, .highlight, mjx-container, script, style').forEach(e => e.remove());
  const visible = e => e.offsetHeight > 0 && e.offsetWidth > 0;
  const shows = out => out !== null && visible(out) && (out.innerText.trim() !== '' ||
      [...out.querySelectorAll('img, svg, canvas, table')].some(visible));
  const math = [...article.querySelectorAll('.math')];
  return {
    text: prose.textContent,
    images: [...document.images].map(i => ({src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0})),
    figures: article.querySelectorAll('.cell_output img').length,
    cells: [...article.querySelectorAll('div.cell')].map(c => shows(c.querySelector(':scope > .cell_output'))),
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    typeset: article.querySelectorAll('mjx-container').length,
    mathjax: !!(window.MathJax && MathJax.startup),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    theme: document.documentElement.dataset.theme,
  };
}"""

# Per output figure: the smallest alpha of its pixels and the colour painted behind it.
READ_FIGURE_BACKDROPS = """() => [...document.querySelectorAll('article.bd-article .cell_output img')].map(img => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let minAlpha = 255;
  for (let k = 3; k < data.length; k += 4) minAlpha = Math.min(minAlpha, data[k]);
  return {src: img.getAttribute('src'), minAlpha, background: getComputedStyle(img).backgroundColor};
})"""


def _light_opaque(css_color):
    """True for an opaque CSS colour brighter than mid-grey, e.g. 'rgb(255, 255, 255)'."""
    values = [float(v) for v in re.findall(r"[\d.]+", css_color)]
    if len(values) < 3 or (len(values) == 4 and values[3] < 1):
        return False
    return sum(values[:3]) / 3 > 160


@pytest.fixture(scope="module")
def visit(browser, server):
    opened = []

    def open_page(page, color_scheme="light"):
        opened.append(_Visit(browser, server, urllib.parse.urljoin(server, f"{page}.html"), color_scheme))
        return opened[-1]

    yield open_page
    for page in opened:
        page.close()


def test_toc_has_the_notebook_pages():
    assert "book/timeline" in PAGES
    assert any(page.startswith("notebooks/") for page in PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_page_in_the_browser(page, visit):
    view = visit(page)
    view.screenshot(Path(page).name)
    seen = view.page.evaluate(READ_PAGE)
    assert seen is not None, f"{page}: no <article class='bd-article'>: the page did not render"
    has_output, pngs, math = _expected(page)

    assert not view.blocked, f"{page} needs the network (offline it cannot load): {view.blocked}"
    assert not view.errors, f"{page}: errors in the console on load: {view.errors}"
    assert "Traceback" not in seen["text"], f"{page} shows a Traceback"

    broken = [image["src"] for image in seen["images"] if not image["loaded"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    assert seen["figures"] == pngs, (f"{page} shows {seen['figures']} figures in its outputs, the notebook "
                                     f"has {pngs} PNG outputs")

    assert len(seen["cells"]) == len(has_output), (f"{page} shows {len(seen['cells'])} code cells, the "
                                                   f"notebook has {len(has_output)}")
    empty = [k for k, (shown, expected) in enumerate(zip(seen["cells"], has_output)) if expected and not shown]
    assert not empty, f"{page}: empty output areas where the notebook has outputs (code cells {empty}, from 0)"

    raw_tex = [token for token in ("\\(", "\\[", "$$") if token in seen["text"]]
    assert not raw_tex, f"{page} shows raw TeX ({raw_tex}): MathJax did not typeset it"
    if math:
        assert seen["mathjax"], f"{page} has formulas but MathJax did not load"
        assert seen["typeset"] > 0, f"{page}'s notebook has formulas but the page shows none typeset"
    assert not seen["untypeset"], f"{page}: formulas MathJax left as text: {seen['untypeset']}"

    colab = [link for link in seen["links"] if link.startswith("https://colab.research.google.com/")]
    assert colab == [_colab_url(page)], f"{page}: Colab links {colab}, expected [{_colab_url(page)}]"
    download = [link for link in seen["links"] if link.endswith(f"_sources/{page}.ipynb")]
    assert download, f"{page} has no button to download {page}.ipynb"


def test_figures_readable_in_light_and_dark_theme(visit):
    """Screenshots of one chapter in both themes; in the dark one every figure sits on light, opaque ground.

    The chapter: the first with figures and formulas (else the first with figures)."""
    with_figures = [p for p in PAGES if _expected(p)[1]]
    assert with_figures, "no chapter of the table of contents has a figure"
    page = next((p for p in with_figures if _expected(p)[2]), with_figures[0])
    for scheme in ("light", "dark"):
        view = visit(page, color_scheme=scheme)
        view.screenshot(f"{Path(page).name}-{scheme}")
        assert view.page.evaluate("() => document.documentElement.dataset.theme") == scheme, (
            f"{page} did not switch to the {scheme} theme with the reader's system setting")
    unreadable = [figure["src"] for figure in view.page.evaluate(READ_FIGURE_BACKDROPS)
                  if figure["minAlpha"] < 255 and not _light_opaque(figure["background"])]
    assert not unreadable, (f"{page}, dark theme: figures with transparent pixels on a dark background "
                            f"(black text vanishes): {unreadable}")
