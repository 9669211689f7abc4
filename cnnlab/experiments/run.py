"""``Run``: what an experiment function is handed, and ``Result``: what it gives back.

An experiment is a plain function ``def name(run: Run) -> dict``. It asks ``run`` for its budget
(``run.scaled(...)``), trains with ``run.fit(key, model, data, ...)`` and keeps trained weights with
``run.keep(key, model)``; what it returns (numbers, lists, dicts) is stored beside the Histories.

In a notebook ``Run`` trains without checkpoints and prints one line per training run. Under the runner
(``make runs``) every ``run.fit`` writes a checkpoint into the run's work folder after each epoch, so an
interrupted experiment resumes where it stopped: finished trainings are read back, the unfinished one
continues from its last epoch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..train import History, fit

__all__ = ["Run", "Result"]


class Run:
    """The context of one execution of an experiment (see the module docstring)."""

    def __init__(self, profile: str, workdir: Path | None = None):
        self.profile = profile
        self.workdir = Path(workdir) if workdir is not None else None
        self.histories: dict[str, History] = {}
        self.weights: dict[str, dict] = {}

    def scaled(self, *, full, long, quick, smoke):
        """This profile's value of a budget (epochs, images, seeds, ...)."""
        return {"full": full, "long": long, "quick": quick, "smoke": smoke}[self.profile]

    def fit(self, key: str, model, data, **options) -> History:
        """``cnnlab.train.fit(model, data, **options)``, kept under ``key`` (checkpointed by the runner)."""
        if key in self.histories:
            raise ValueError(f"the experiment trains two runs under the key {key!r}; give each its own key")
        quiet = {"progress": False, "live": None if self.workdir is None else False}  # the runner logs epochs
        options = {**quiet, "name": key, **options}
        if self.workdir is not None:
            checkpoint = self.workdir / f"{key}.pt"
            options.update(checkpoint=checkpoint, resume=checkpoint.exists())
        history = fit(model, data, **options)
        if history.meta.get("interrupted"):
            raise KeyboardInterrupt  # Ctrl-C: the checkpoints stay, and the next run resumes from them
        self.histories[key] = history
        print(_one_line(key, history), flush=True)
        return history

    def once(self, key: str, compute):
        """``compute()``'s JSON value, computed once: the runner keeps it in the work folder, so a resumed
        experiment does not redo work that is not a ``fit`` (a textbook loop, a long measurement)."""
        path = self.workdir / f"{key}.json" if self.workdir is not None else None
        if path is not None and path.exists():
            return json.loads(path.read_text())["value"]
        value = compute()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"value": value}))
        return value

    def keep(self, key: str, model) -> None:
        """Keep ``model``'s trained weights under ``key`` (stored with the result)."""
        self.weights[key] = {name: tensor.detach().to("cpu", copy=True) for name, tensor in model.state_dict().items()}


def _one_line(key: str, history: History) -> str:
    rows, test = history.rows, history.test or {}
    seconds = sum(r["seconds"] for r in rows)
    best = history.best_epoch()
    chosen = f", val {100 * rows[-1]['val_acc']:.1f}% (best {100 * best['val_acc']:.1f}% at epoch {best['epoch']})" \
        if best else ""
    stopped = f" [stopped: {history.meta['stopped']}]" if history.meta.get("stopped") else ""
    tested = f", test {100 * test['accuracy']:.1f}%" if test else ""
    return f"{key}: {len(rows)} epochs, {seconds:.0f} s of training{chosen}{tested}{stopped}"


@dataclass
class Result:
    """One execution of an experiment: its returned ``values``, its ``histories``, trained ``weights``
    (``{key: state_dict}``) and where it came from (``provenance``). ``stored`` says whether it was read from
    the store (a longer run made earlier) or just run here."""

    experiment: str
    profile: str
    values: dict
    histories: dict[str, History]
    provenance: dict
    weights: dict[str, dict] = field(default_factory=dict, repr=False)
    stored: bool = False

    def label(self) -> str:
        """Where the numbers come from, for a figure title or the line above a table."""
        p = self.provenance
        minutes = p.get("wall_seconds", 0) / 60
        when = f", {p['date'][:10]}" if p.get("date") else ""
        data = f", {p['data'][0]}" if p.get("data") else ""
        if self.stored:
            chapter = self.experiment.split("/")[0]
            return (f"stored run ({self.profile} profile): {minutes:.0f} min on {p.get('device', '?')}{when}{data}; "
                    f"re-run with `make runs CH={chapter}`")
        return f"live run ({self.profile} profile): {minutes:.1f} min on {p.get('device', '?')}{data}"

    def load_weights(self, key: str, model):
        """``model`` with the weights kept under ``key``, in eval mode."""
        if key not in self.weights:
            raise KeyError(f"{self.experiment} kept no weights under {key!r}; it kept: {sorted(self.weights) or 'none'}")
        model.load_state_dict(self.weights[key])
        return model.eval()

    def to_json(self) -> dict:
        return {"experiment": self.experiment, "profile": self.profile, "values": self.values,
                "histories": {k: h.to_dict() for k, h in self.histories.items()}, "provenance": self.provenance}

    @classmethod
    def from_json(cls, state: dict, weights: dict | None, source: str) -> "Result":
        try:
            histories = {k: History.from_dict(h, source=f"{source}, history {k!r}") for k, h in state["histories"].items()}
            return cls(state["experiment"], state["profile"], state["values"], histories, state["provenance"],
                       weights or {}, stored=True)
        except KeyError as err:
            raise ValueError(f"{source} is not a stored experiment result: it lacks {err}") from None
