"""Fixtures shared by several test modules."""
import re
from pathlib import Path

import pytest
import torch

BIBLIOGRAPHY = Path(__file__).resolve().parents[1] / "book" / "references.bib"


@pytest.fixture(scope="module")
def one_thread():
    """Small batches run faster on one thread than on two cores shared with other jobs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def bib_keys() -> set[str]:
    """The entry keys of book/references.bib."""
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIBLIOGRAPHY.read_text(encoding="utf-8"), flags=re.M))
