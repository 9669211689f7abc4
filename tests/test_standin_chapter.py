"""A chapter still runs where neither CIFAR nor a copy of it can be had: on the offline stand-in.

`make test` runs every chapter under nbval on whatever data the machine has (here: the JPEG copy). This
test runs chapter 00 once more under `smoke` with an empty data directory, no image folder configured
and the download refused, and checks that it executes without an error and shows the stand-in's banner.
"""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "notebooks" / "00_start_here.ipynb"


@pytest.mark.slow
def test_chapter_00_runs_on_the_standin_with_its_banner(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "empty-data-dir"))
    monkeypatch.setenv("CNNLAB_PROFILE", "smoke")
    monkeypatch.delenv("CNNLAB_CIFAR10_DIR", raising=False)
    # No network: an address that refuses at once, so torchvision's download fails in milliseconds.
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    nb = nbformat.read(CHAPTER, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") if o.output_type == "stream" else str(o.get("data", {}).get("text/plain", ""))
                     for o in outputs)
    assert "NOT CIFAR" in text, "the chapter ran without saying that its numbers are not CIFAR numbers"
