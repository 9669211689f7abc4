"""The explorers where learners run them (issue 22): ipywidgets 8 (JupyterLab) and 7.7.1 (Colab), and an
install of cnnlab that leaves Colab's own packages alone.

ipywidgets 7.7.1 is installed once into ``.venv-ipywidgets7/`` (a ``pip install --target`` folder, put
first on ``PYTHONPATH`` of a subprocess), so the rest of the environment is the course's own.
"""
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from explorer_cases import cases, check

ROOT = Path(__file__).resolve().parents[1]
IPYWIDGETS7 = ROOT / ".venv-ipywidgets7"

# What Colab ships, which `pip install cnnlab` must not replace: ipywidgets 7.7.1 (its widget display needs
# it: googlecolab/colabtools #3020, #4525), and torch/torchvision/numpy/matplotlib/tqdm of a recent runtime.
COLAB = {"ipywidgets": "7.7.1", "torch": "2.8.0", "torchvision": "0.23.0", "numpy": "2.0.2",
         "matplotlib": "3.10.0", "tqdm": "4.67.1"}


@pytest.mark.parametrize("name", sorted(cases()))
def test_explorer_displays_and_redraws_once_under_ipywidgets_8(name):
    import ipywidgets

    assert ipywidgets.__version__.startswith("8.")
    check(name)


@pytest.fixture(scope="module")
def ipywidgets7():
    """The folder holding ipywidgets 7.7.1 (and ipython_genutils, which it imports), installed once."""
    if not (IPYWIDGETS7 / "ipywidgets-7.7.1.dist-info").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(IPYWIDGETS7),
                        "ipywidgets==7.7.1", "ipython_genutils==0.2.0"], check=True, timeout=300)
    return IPYWIDGETS7


@pytest.mark.slow
def test_every_explorer_displays_and_redraws_once_under_ipywidgets_7(ipywidgets7):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ipywidgets7), str(ROOT)]), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "explorer_cases.py"], cwd=Path(__file__).parent, env=environment,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    found = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert found == [f"ok {name} (ipywidgets 7.7.1)" for name in cases()], result.stdout[-2000:]


def test_installing_cnnlab_keeps_what_colab_ships():
    """pip replaces an installed package only when it fails a requirement: every one of cnnlab's must accept
    Colab's version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    assert {r.name for r in requirements} <= set(COLAB), "a new dependency: add what Colab ships of it"
    refused = [f"{r} refuses Colab's {COLAB[r.name]}" for r in requirements if not r.specifier.contains(COLAB[r.name])]
    assert not refused


def test_controls_wrap_instead_of_squeezing():
    """Six sliders in one row squeezed their tracks to nothing in a 968 px output area: the row now wraps and
    every control keeps its natural width."""
    explorer = cases()["inception"][0]()
    row = explorer.widget.children[1]
    assert row.layout.flex_flow == "row wrap"
    assert all(control.layout.flex == "0 0 auto" and control.layout.width in (None, "") for control in row.children)
