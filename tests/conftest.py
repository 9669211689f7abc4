"""Fixtures shared by several test modules."""
import re
from pathlib import Path

import pytest
import torch

BIBLIOGRAPHY = Path(__file__).resolve().parents[1] / "book" / "references.bib"


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Every test on one thread: the small batches of the tests run faster on one thread than on two cores
    shared with other jobs (measured on the 2-core machine: the stand-in learnability test 66 s -> 15 s,
    the logit-gap test 10.8 s -> 0.1 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def bib_keys() -> set[str]:
    """The entry keys of book/references.bib."""
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIBLIOGRAPHY.read_text(encoding="utf-8"), flags=re.M))


@pytest.fixture
def assert_reacts():
    """``assert_reacts(explorer, [(control, value), ...])``: each change redraws the explorer and changes
    its figure's pixels."""
    import matplotlib.pyplot as plt

    def pixels(fig) -> bytes:
        fig.canvas.draw()
        drawn = bytes(fig.canvas.buffer_rgba())
        plt.close(fig)
        return drawn

    def check(explorer, changes):
        for name, value in changes:
            before, redraws = pixels(explorer.figure()), explorer.redraws
            explorer.set(**{name: value})
            assert explorer.redraws > redraws and pixels(explorer.figure()) != before, f"{name}={value!r}"

    return check
