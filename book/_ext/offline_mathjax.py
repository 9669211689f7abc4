"""Sphinx extension: the book serves MathJax from its own static files, so formulas typeset offline.

MathJax 3 comes as files in the PyPI package ``sphinx-mathjax-offline`` (requirements.txt; its import
name has hyphens, so it is found here rather than listed as an extension). Its ``static/mathjax``
folder is copied into ``_build/html/_static/mathjax`` and ``mathjax_path`` points there. Where the
package is missing, the pages keep Sphinx's CDN URL and the build says so.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from sphinx.util import logging

PACKAGE = "sphinx-mathjax-offline"
# The same bundle as Sphinx's default CDN URL (TeX and MathML input, CommonHTML output).
BUNDLE = "tex-mml-chtml.js"

logger = logging.getLogger(__name__)


def mathjax_static_dir() -> Path | None:
    """The package's folder that holds ``mathjax/<BUNDLE>``, or None where it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "mathjax" / BUNDLE).is_file() else None


def use_local_mathjax(app, config) -> None:
    static = mathjax_static_dir()
    if static is None:
        logger.info(f"MathJax: {PACKAGE} is not installed, so the pages load MathJax from "
                    f"{config.mathjax_path} (online only); `make book` installs it.")
        return
    config.html_static_path = [*config.html_static_path, str(static)]
    config.mathjax_path = f"mathjax/{BUNDLE}"


def setup(app):
    app.connect("config-inited", use_local_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
