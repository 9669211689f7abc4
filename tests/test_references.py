"""The bibliography holds every paper the course cites: the keys in ``cnnlab`` docstrings (written
``[he2016deep]``) and the papers the seed material (DESIGN.md's sources) cites by name. Citations in
the book's pages are checked by its build, which runs with warnings as errors."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The papers the seed articles and slides cite in their reference lists, by our key.
SEED_CITED = {
    "gu2018recent", "fukushima1982neocognitron", "lecun1998gradient", "krizhevsky2012imagenet",
    "szegedy2016rethinking", "szegedy2017inception", "veit2016residual", "chollet2017xception",
    "zhang2017residual", "larsson2017fractalnet", "huang2017densely", "huang2016deep", "singh2016swapout",
    "howard2017mobilenets", "real2017large", "zoph2017neural", "liu2018hierarchical", "zoph2018learning",
    "liu2018progressive", "karpathy2014what", "lee2020compounding", "tan2019efficientnet",
    "cubuk2019autoaugment", "he2019bag", "li2019selective", "zhang2019making", "zhang2018mixup",
    "ghiasi2018dropblock", "hinton2015distilling", "chen2019biglittle", "muller2019does",
    "huang2018multiscale", "brock2021high",
}


def docstring_keys() -> dict[str, str]:
    """Each ``[key]`` or ``[key1, key2]`` cited in a cnnlab source file, with the file citing it."""
    keys = {}
    for path in sorted((ROOT / "cnnlab").rglob("*.py")):
        for group in re.findall(r"\[([a-z]+\d{4}[a-z]+(?:, ?[a-z]+\d{4}[a-z]+)*)\]", path.read_text(encoding="utf-8")):
            for key in re.split(r", ?", group):
                keys.setdefault(key, path.relative_to(ROOT).as_posix())
    return keys


def test_every_key_cited_in_cnnlab_is_in_the_bibliography(bib_keys):
    keys = docstring_keys()
    assert len(keys) > 40, "the docstring citation pattern found too few keys to be working"
    missing = {key: path for key, path in keys.items() if key not in bib_keys}
    assert not missing, f"cited in cnnlab but missing from book/references.bib: {missing}"


def test_every_paper_the_seed_material_cites_is_in_the_bibliography(bib_keys):
    assert not SEED_CITED - bib_keys, f"missing from book/references.bib: {sorted(SEED_CITED - bib_keys)}"
