"""The built book, seen in a browser: builds it with warnings as errors, serves it on 127.0.0.1 and
opens every notebook page of the table of contents in headless Chromium.

Per page: it loads (title), every image of the article is a real, non-blank PNG/SVG, no Traceback is
shown, the Colab button opens this page's notebook, and saved widget state is embedded where the
notebook has widgets. Screenshots go to artifacts/screenshots/<page>.png for a person to look at.
"""
import functools
import http.server
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import numpy as np
import pytest
import yaml
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=5000"]


def _tools():
    spec = importlib.util.spec_from_file_location("cnnlab_tools_notebooks", ROOT / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def _chromium():
    """The Chromium executable; without one, fail in CI and skip elsewhere, saying how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = ("headless Chromium is needed for the browser test: run `make test` as root (it apt-get installs "
               "Debian's chromium) or install it yourself, e.g. `sudo apt-get install chromium`")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """One build of the book per session, with -W, into a temporary directory."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
                             "--warningiserror", "--nitpick", "--keep-going"],
                            capture_output=True, text=True, timeout=600)
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


class _Article(HTMLParser):
    """Collects the page title, the article's text and images, and every link of the page."""

    def __init__(self):
        super().__init__()
        self.title, self.text, self.images, self.links = "", [], [], []
        self._in_title, self._article_depth, self._depth = False, None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in {"img", "br", "hr", "meta", "link", "input", "source", "wbr"}:
            self._depth += 1
        if tag == "title":
            self._in_title = True
        if tag == "article" and "bd-article" in (attrs.get("class") or "") and self._article_depth is None:
            self._article_depth = self._depth
        if tag == "img" and self._article_depth is not None:
            self.images.append(attrs.get("src", ""))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag == "article" and self._article_depth == self._depth:
            self._article_depth = -1
        if tag not in {"img", "br", "hr", "meta", "link", "input", "source", "wbr"}:
            self._depth -= 1

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._article_depth is not None and self._article_depth >= 0:
            self.text.append(data)


def _chromium_run(url, *flags, profile_dir):
    command = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *flags, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"chromium failed on {url}: {result.stderr[-2000:]}"
    return result.stdout


def _assert_real_image(data: bytes, src: str):
    if src.lower().endswith(".svg") or data.lstrip().startswith(b"<"):
        root = ElementTree.fromstring(data)
        assert root.tag.endswith("svg") and len(root) > 0, f"{src} is not an SVG with content"
        return
    image = Image.open(io.BytesIO(data))
    assert image.format in {"PNG", "JPEG", "GIF"}, f"{src} is a {image.format}, expected PNG/SVG"
    pixels = np.asarray(image.convert("RGB"), dtype=float)
    assert pixels.std() > 0, f"{src} is blank (all pixels equal)"


@pytest.fixture(scope="module")
def tools():
    return _tools()


def test_toc_has_the_notebook_pages():
    assert "book/timeline" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_page_in_the_browser(page, server, tools, tmp_path):
    url = urllib.parse.urljoin(server, f"{page}.html")
    dom = _chromium_run(url, "--dump-dom", profile_dir=tmp_path / "dom")
    article = _Article()
    article.feed(dom)
    assert article.title.strip(), f"{url} has no title: the page did not load"
    assert article._article_depth == -1, f"{url} has no <article class='bd-article'>"

    text = " ".join(article.text)
    assert "Traceback" not in text, f"{page} shows a Traceback"

    for src in article.images:
        with urllib.request.urlopen(urllib.parse.urljoin(url, src), timeout=30) as response:
            _assert_real_image(response.read(), src)

    colab = [link for link in article.links if link.startswith("https://colab.research.google.com/")]
    assert colab == [tools.colab_url(f"{page}.ipynb")], f"{page}: Colab links {colab}"

    nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    has_widgets = any(WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    if has_widgets:
        assert WIDGET_STATE in dom, f"{page} has widget outputs but the page embeds no saved widget state"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{Path(page).name}.png"
    _chromium_run(url, f"--screenshot={shot}", "--window-size=1280,2000", profile_dir=tmp_path / "shot")
    _assert_real_image(shot.read_bytes(), str(shot))
