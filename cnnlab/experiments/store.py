"""The store of longer runs: results kept with the book, each with where it came from.

::

    cnnlab/stored/<chapter>/<name>/<profile>.json   values, Histories and provenance of one experiment
    cnnlab/stored/<chapter>/<name>/<profile>.pt     the weights it kept, when it kept any

The store ships inside the package, so a notebook finds it in Colab as well as here. Two tiers can be
stored: ``long`` (the CPU's longer run, ``make runs``) and ``full`` (the paper's recipe, once someone runs
it on a GPU); :func:`load` gives the best one there is. A stored result is *stale* when a cnnlab module
whose code ran in it has changed since (:mod:`cnnlab.provenance`); ``make check-notebooks`` lists them.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..provenance import PACKAGE, module_digests
from .run import Result

__all__ = ["STORE", "TIERS", "result_path", "save", "load", "tiers_stored", "stale_reason"]

STORE = PACKAGE / "stored"
TIERS = ("full", "long")
"""The tiers a store can hold, best first."""


def result_path(experiment_id: str, profile: str) -> Path:
    """``cnnlab/stored/05/degradation/long.json`` for ``("05/degradation", "long")``."""
    return STORE / experiment_id / f"{profile}.json"


def save(result: Result) -> Path:
    """Write ``result`` (and its weights) into the store, atomically; returns the JSON file's path."""
    if result.profile not in TIERS:
        raise ValueError(f"only the {' and '.join(TIERS)} profiles are stored, not {result.profile!r}")
    path = result_path(result.experiment, result.profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = path.with_suffix(".pt")
    if result.weights:
        partial = weights.with_name(weights.name + ".partial")
        torch.save(result.weights, partial)
        partial.replace(weights)
    elif weights.exists():
        weights.unlink()
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def tiers_stored(experiment_id: str) -> list[str]:
    """The tiers the store holds for an experiment, best first."""
    return [tier for tier in TIERS if result_path(experiment_id, tier).exists()]


def load(experiment_id: str, profile: str | None = None) -> Result:
    """The stored result of ``experiment_id``: of ``profile``, or of the best tier stored."""
    tiers = [profile] if profile is not None else tiers_stored(experiment_id)
    chapter = experiment_id.split("/")[0]
    if not tiers or not result_path(experiment_id, tiers[0]).exists():
        raise FileNotFoundError(f"the store holds no {profile or 'stored'} result of {experiment_id}: run "
                                f"`make runs CH={chapter}` (or `python -m cnnlab.experiments run {experiment_id}`)")
    path = result_path(experiment_id, tiers[0])
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); re-run `make runs CH={chapter}`") from None
    weights_path = path.with_suffix(".pt")
    weights = torch.load(weights_path, map_location="cpu", weights_only=True) if weights_path.exists() else {}
    return Result.from_json(state, weights, source=f"{experiment_id}/{path.name} in the store")


def stale_reason(result: Result) -> str | None:
    """Why a stored result no longer matches the code (a module whose code ran in it changed), or None."""
    recorded = result.provenance.get("code")
    if not recorded:
        return "no record of the code it ran"
    changed = [f for f, digest in module_digests(recorded).items() if digest != recorded[f]]
    return f"changed since it ran: {', '.join(changed)}" if changed else None
