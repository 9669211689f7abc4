# CNN Lab: `make book` builds the book, `make test` runs every test. Both create .venv on first use.
SHELL := /bin/bash
PYTHON_SYSTEM := $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
CNNLAB_DATA ?= $(CURDIR)/.data
export CNNLAB_DATA

.PHONY: book test notebooks check-notebooks bench clean chromium

# The venv is (re)installed whenever requirements.txt or pyproject.toml is newer than the stamp.
# pip uses the machine's own configuration (index, local wheels), so this works offline where they do.
$(INSTALLED): requirements.txt pyproject.toml
	@test -x $(PYTHON) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install -r requirements.txt
	@touch $@

# Formulas typeset offline: MathJax 3 comes from sphinx-mathjax-offline (requirements.txt) and is copied
# into _build/html/_static/mathjax (book/_ext/offline_mathjax.py); without it the pages use the CDN.
book: $(INSTALLED)
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is in _build/html/index.html"

test: $(INSTALLED) chromium
	CNNLAB_PROFILE=smoke $(PYTHON) -m pytest tests notebooks book/timeline.ipynb \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

# Headless Chromium drives the browser test of the built book (tests/test_book.py, through Playwright,
# which uses this browser and downloads none).
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "Chromium is missing: install it (Debian/Ubuntu: sudo apt-get install chromium) for the browser test; without it that test is skipped."; \
	fi

# Re-execute the chapters (and the timeline page) in place under the quick profile and stamp them.
notebooks: $(INSTALLED)
	$(PYTHON) tools/notebooks.py run --profile quick notebooks/*.ipynb book/timeline.ipynb

check-notebooks: $(INSTALLED)
	$(PYTHON) tools/notebooks.py check

bench: $(INSTALLED)
	$(PYTHON) -m cnnlab.bench

clean:
	rm -rf _build artifacts
