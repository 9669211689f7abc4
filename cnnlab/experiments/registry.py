"""``@experiment``: an experiment defined once, run live by a notebook and stored by the runner.

::

    @experiment("05", "degradation", minutes=90)
    def degradation(run):
        ...
        return {...}

makes ``degradation`` an :class:`Experiment`: ``degradation.run()`` runs it now under the current profile
(``quick`` in a notebook on a CPU, ``full`` on a GPU) and ``degradation.stored()`` reads the longer run
kept in the store. ``minutes`` is the budget of its ``long`` run on a 2-core CPU.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .. import profiles
from ..provenance import CodeUsage, machine
from . import store
from .run import Result, Run

__all__ = ["Experiment", "experiment", "EXPERIMENTS", "get", "list_experiments"]

EXPERIMENTS: dict[str, "Experiment"] = {}


@dataclass(frozen=True)
class Experiment:
    chapter: str
    name: str
    function: Callable[[Run], dict]
    minutes: int

    @property
    def id(self) -> str:
        return f"{self.chapter}/{self.name}"

    @property
    def description(self) -> str:
        return (self.function.__doc__ or "").strip().split("\n")[0]

    def run(self, profile: str | None = None, workdir: Path | None = None) -> Result:
        """Run the experiment now under ``profile`` (default: the current one). With ``workdir`` every
        training is checkpointed there and an interrupted run resumes."""
        profile = profile or profiles.get_profile().name
        before = profiles.get_profile().name
        profiles.set_profile(profile)
        run = Run(profile, workdir)
        earlier = _sittings(workdir)
        started = time.perf_counter()
        try:
            with CodeUsage() as usage:
                values = self.function(run) or {}
        finally:
            _save_sittings(workdir, earlier + time.perf_counter() - started)
            profiles.set_profile(before)
        histories = run.histories.values()
        provenance = {**machine(), "threads": torch.get_num_threads(),
                      "wall_seconds": round(earlier + time.perf_counter() - started, 1),
                      "data": sorted({h.meta["data_source"] for h in histories}),
                      "sizes": {k: h.meta.get("sizes") for k, h in run.histories.items()},
                      "recipes": {k: h.meta["options"] for k, h in run.histories.items()},
                      "code": usage.digests()}
        values = json.loads(json.dumps(values))  # as the store will give them back (dict keys become strings)
        return Result(self.id, profile, values, dict(run.histories), provenance, run.weights)

    def stored(self, profile: str | None = None) -> Result:
        """The stored result: of ``profile``, or of the best tier in the store (``full``, then ``long``)."""
        return store.load(self.id, profile)


def _sittings(workdir: Path | None) -> float:
    """Seconds spent in earlier sittings of a resumed run (kept in its work folder)."""
    path = workdir / "seconds" if workdir is not None else None
    return float(path.read_text()) if path is not None and path.exists() else 0.0


def _save_sittings(workdir: Path | None, seconds: float) -> None:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "seconds").write_text(f"{seconds:.1f}")


def experiment(chapter: str, name: str, minutes: int):
    """Register ``function`` as the experiment ``<chapter>/<name>`` (see the module docstring)."""
    def register(function) -> Experiment:
        made = Experiment(chapter, name, function, minutes)
        if made.id in EXPERIMENTS:
            raise ValueError(f"two experiments are called {made.id}")
        EXPERIMENTS[made.id] = made
        return made
    return register


def get(experiment_id: str) -> Experiment:
    if experiment_id not in EXPERIMENTS:
        raise KeyError(f"no experiment {experiment_id!r}; there are: {', '.join(sorted(EXPERIMENTS))}")
    return EXPERIMENTS[experiment_id]


def list_experiments(chapter: str | None = None) -> list[Experiment]:
    return [e for key, e in sorted(EXPERIMENTS.items()) if chapter is None or e.chapter == chapter]
