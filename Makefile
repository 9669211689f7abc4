# CNN Lab: `make lab` opens the course in JupyterLab, `make book` builds the book, `make test` runs every test.
# Each creates .venv on first use.
SHELL := /bin/bash
PYTHON_SYSTEM := $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
CNNLAB_DATA ?= $(CURDIR)/.data
export CNNLAB_DATA
CIFAR10_ARCHIVE := $(CURDIR)/../shared/data/cifar10-jpeg.tar.gz
CIFAR10_SHA256 := 45b041e867f5a40f79bfde38d3dd1fd511103d50068c1afecf6445e25234d4db
CIFAR10_FOLDER := $(CNNLAB_DATA)/cifar10-jpeg

.PHONY: lab book test notebooks check-notebooks bench clean chromium data runs

# The venv is (re)installed whenever requirements.txt or pyproject.toml is newer than the stamp.
# pip uses the machine's own configuration (index, local wheels), so this works offline where they do.
$(INSTALLED): requirements.txt pyproject.toml
	@test -x $(PYTHON) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install -r requirements.txt
	@touch $@

# The course in JupyterLab, with the same environment and data as the book and the tests (CNNLAB_DATA is
# exported above). Another profile: make lab CNNLAB_PROFILE=smoke
lab: $(INSTALLED) data
	$(VENV)/bin/jupyter lab notebooks/

# Formulas typeset offline: MathJax 3 comes from sphinx-mathjax-offline (requirements.txt) and is copied
# into _build/html/_static/mathjax (book/_ext/offline_mathjax.py); without it the pages use the CDN.
book: $(INSTALLED) data
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is in _build/html/index.html"

test: $(INSTALLED) chromium data
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
notebooks: $(INSTALLED) data
	$(PYTHON) tools/notebooks.py run --profile quick notebooks/*.ipynb book/timeline.ipynb

# Real CIFAR-10 where a copy comes with the machine (an offline workplace): the archive, when it exists, is
# checked against its sha256 and unpacked once into $(CNNLAB_DATA)/cifar10-jpeg, where cnnlab.data.load's
# source="auto" finds it. Where it does not exist nothing happens: cnnlab downloads CIFAR, or uses the stand-in.
data:
	@if [ -f "$(CIFAR10_ARCHIVE)" ] && [ ! -d "$(CIFAR10_FOLDER)" ]; then \
		echo "$(CIFAR10_SHA256)  $(CIFAR10_ARCHIVE)" | sha256sum --check --status \
			|| { echo "$(CIFAR10_ARCHIVE) does not have the sha256 $(CIFAR10_SHA256): not unpacked"; exit 1; }; \
		rm -rf "$(CNNLAB_DATA)/.cifar10-jpeg.partial" && mkdir -p "$(CNNLAB_DATA)/.cifar10-jpeg.partial" \
		&& tar -xzf "$(CIFAR10_ARCHIVE)" -C "$(CNNLAB_DATA)/.cifar10-jpeg.partial" \
		&& mv "$(CNNLAB_DATA)/.cifar10-jpeg.partial" "$(CIFAR10_FOLDER)" \
		&& echo "Unpacked real CIFAR-10 (JPEG copy) into $(CIFAR10_FOLDER)"; \
	fi

check-notebooks: $(INSTALLED)
	$(PYTHON) tools/notebooks.py check

# The stored longer runs (cnnlab/experiments): every missing or stale one, or one chapter's (make runs CH=05).
# Each resumes from its checkpoints when started again; one training job runs at a time.
runs: $(INSTALLED) data
	$(PYTHON) -m cnnlab.experiments run $(if $(CH),--chapter $(CH))

bench: $(INSTALLED)
	$(PYTHON) -m cnnlab.bench

clean:
	rm -rf _build artifacts
