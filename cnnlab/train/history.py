"""``History``: what one training run did, epoch by epoch, and where it ran.

Every row is one epoch: ``epoch, train_loss, train_acc, lr, seconds, images_per_s`` and the held-out
accuracy of that epoch. With a validation split (``data.val``) that is ``val_loss, val_acc``, and the
test split is evaluated once, at the end (``history.test``): a best epoch is only ever chosen on
validation accuracy. Without one, every epoch is evaluated on the test split (``test_loss, test_acc``)
and no best epoch is chosen. ``meta`` names the model, device, profile and data source, so every result
printed or plotted says where it comes from.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

__all__ = ["History", "compare", "ROW_FIELDS", "TRAIN_FIELDS", "HELD_OUT_FIELDS"]

TRAIN_FIELDS = ("epoch", "train_loss", "train_acc", "lr", "seconds", "images_per_s")
HELD_OUT_FIELDS = {"val": ("val_loss", "val_acc"), "test": ("test_loss", "test_acc")}
ROW_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_s")
"""The fields of a row of a run without a validation split."""
_ALL_FIELDS = TRAIN_FIELDS + HELD_OUT_FIELDS["val"] + HELD_OUT_FIELDS["test"]


def _row_problem(row) -> str | None:
    """What is wrong with ``row`` as a History row, or None."""
    if not isinstance(row, dict):
        return f"a row must be a dict, got {type(row).__name__}"
    missing = [f for f in TRAIN_FIELDS if f not in row]
    if not any(all(f in row for f in pair) for pair in HELD_OUT_FIELDS.values()):
        missing += [f"{HELD_OUT_FIELDS['val']} or {HELD_OUT_FIELDS['test']}"]
    return f"missing the field(s) {', '.join(missing)}" if missing else None


def _json_safe(value):
    """NaN and infinities become None, so the file is valid JSON (which has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class History:
    """Per-epoch ``rows`` (list of dicts), run ``meta`` (dict) and the final ``test`` evaluation (dict
    ``accuracy, loss, epoch``, or None before the run has one)."""

    def __init__(self, rows: list[dict] | None = None, meta: dict | None = None, test: dict | None = None):
        self.rows = list(rows or [])
        self.meta = dict(meta or {})
        self.test = dict(test) if test is not None else None

    def append(self, row: dict) -> None:
        problem = _row_problem(row)
        if problem:
            raise ValueError(f"a History row needs the fields {TRAIN_FIELDS} and a held-out pair "
                             f"{HELD_OUT_FIELDS['val']} or {HELD_OUT_FIELDS['test']}; {problem}")
        self.rows.append(dict(row))

    @property
    def has_validation(self) -> bool:
        """True when the epochs were evaluated on a validation split (rows hold ``val_acc``)."""
        return bool(self.rows) and "val_acc" in self.rows[0]

    def column(self, name: str) -> list:
        """One field across epochs, e.g. ``history.column("val_acc")``."""
        if name not in _ALL_FIELDS:
            raise KeyError(f"unknown History field {name!r}; expected one of {_ALL_FIELDS}")
        if self.rows and name not in self.rows[0]:
            where = ("validation split: per epoch it has val_loss/val_acc, the test split is evaluated once "
                     "(history.test)" if self.has_validation else "no validation split: per epoch it has "
                     "test_loss/test_acc")
            raise KeyError(f"run {self.label!r} has no {name!r} column; it was trained with a {where}")
        return [row[name] for row in self.rows]

    def best_epoch(self) -> dict | None:
        """The row of the highest validation accuracy; None without a validation split (never chosen on test)."""
        if not self.has_validation:
            return None
        return max(self.rows, key=lambda row: row["val_acc"])

    # --- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"rows": self.rows, "meta": self.meta, "test": self.test}

    @classmethod
    def from_dict(cls, state: dict, source: str = "the History") -> "History":
        """A History from :meth:`to_dict`'s dict; every row is checked (``source`` names it in errors)."""
        if not isinstance(state, dict) or "rows" not in state or "meta" not in state:
            raise ValueError(f"{source}: expected a dict with 'rows' and 'meta' (as written by History.save)")
        if not isinstance(state["rows"], list) or not isinstance(state["meta"], dict):
            raise ValueError(f"{source}: 'rows' must be a list and 'meta' a dict")
        for i, row in enumerate(state["rows"]):
            problem = _row_problem(row)
            if problem:
                raise ValueError(f"{source}: row {i} is not a History row: {problem}")
        test = state.get("test")
        if test is not None and not (isinstance(test, dict) and {"accuracy", "loss"} <= set(test)):
            raise ValueError(f"{source}: 'test' must be None or a dict with 'accuracy' and 'loss', got {test!r}")
        return cls(state["rows"], state["meta"], test)

    def save(self, path) -> Path:
        """Write strict JSON (NaN/inf as null) atomically: a temp file in the same folder, then ``os.replace``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(_json_safe(self.to_dict()), f, indent=1, allow_nan=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path) -> "History":
        """Read a file written by :meth:`save`; a damaged or foreign file gets a ``ValueError`` naming it."""
        try:
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path} is not a History file (written by History.save) or it is damaged: {err}") \
                from None
        return cls.from_dict(state, source=str(path))

    # --- reading ------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.meta.get("name") or self.meta.get("model", "run")

    def summary(self) -> str:
        """One line: the final test accuracy, the best epoch on validation (if any), time, device, profile, data."""
        where = (f"device: {self.meta.get('device')} | profile: {self.meta.get('profile')} | "
                 f"data: {self.meta.get('data_source')}")
        if not self.rows:
            return f"{self.label}: no epoch finished | {where}"
        seconds = sum(row["seconds"] for row in self.rows)
        epochs = f"{len(self.rows)} epoch" + ("" if len(self.rows) == 1 else "s")
        stopped = f" ({self.meta['stopped']})" if self.meta.get("stopped") else (
            " (interrupted)" if self.meta.get("interrupted") else "")
        test = self.test if self.test is not None else (
            None if self.has_validation else {"accuracy": self.rows[-1]["test_acc"]})
        headline = f"test acc {test['accuracy']:.2%}" if test is not None else "test acc not measured"
        best = self.best_epoch()
        if best is not None:
            chosen = (f"val acc best {best['val_acc']:.2%} at epoch {best['epoch']}, "
                      f"final {self.rows[-1]['val_acc']:.2%}")
        else:
            chosen = "no validation split: no best epoch chosen"
        return f"{self.label}: {headline} after {epochs}{stopped} in {seconds:.0f} s | {chosen} | {where}"

    def __repr__(self) -> str:
        last = f", final test_acc={self.test['accuracy']:.4f}" if self.test else ""
        return f"History({self.label!r}, {len(self.rows)} epochs{last})"

    def plot(self):
        """Loss and accuracy per epoch (:func:`cnnlab.viz.history.plot_history`)."""
        from ..viz.history import plot_history

        return plot_history(self)


def compare(histories, metric: str | None = None):
    """Several runs on one axis (:func:`cnnlab.viz.history.compare_histories`)."""
    from ..viz.history import compare_histories

    return compare_histories(histories, metric)
