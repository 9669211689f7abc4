"""``History``: what one training run did, epoch by epoch, and where it ran.

Every row is one epoch (``epoch, train_loss, train_acc, test_loss, test_acc, lr, seconds,
images_per_s``); ``meta`` names the model, device, profile and data source, so every result
printed or plotted says where it comes from.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

__all__ = ["History", "compare", "ROW_FIELDS"]

ROW_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "images_per_s")


class History:
    """Per-epoch ``rows`` (list of dicts) and run ``meta`` (dict)."""

    def __init__(self, rows: list[dict] | None = None, meta: dict | None = None):
        self.rows = list(rows or [])
        self.meta = dict(meta or {})

    def append(self, row: dict) -> None:
        missing = [f for f in ROW_FIELDS if f not in row]
        if missing:
            raise ValueError(f"a History row needs the fields {ROW_FIELDS}; missing {missing}")
        self.rows.append(dict(row))

    def column(self, name: str) -> list:
        """One field across epochs, e.g. ``history.column("test_acc")``."""
        if name not in ROW_FIELDS:
            raise KeyError(f"unknown History field {name!r}; expected one of {ROW_FIELDS}")
        return [row[name] for row in self.rows]

    # --- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"rows": self.rows, "meta": self.meta}

    @classmethod
    def from_dict(cls, state: dict) -> "History":
        if not isinstance(state, dict) or "rows" not in state or "meta" not in state:
            raise ValueError("expected a dict with 'rows' and 'meta' (as written by History.save)")
        return cls(state["rows"], state["meta"])

    def save(self, path) -> Path:
        """Write JSON atomically (a temp file in the same folder, then ``os.replace``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.to_dict(), f, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path) -> "History":
        with open(path) as f:
            return cls.from_dict(json.load(f))

    # --- reading ------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.meta.get("name") or self.meta.get("model", "run")

    def summary(self) -> str:
        """One line: best and final test accuracy, time, device, profile and data source."""
        if not self.rows:
            return f"{self.label}: no epoch finished | device: {self.meta.get('device')}"
        accs = self.column("test_acc")
        seconds = sum(self.column("seconds"))
        stopped = " (interrupted)" if self.meta.get("interrupted") else ""
        epochs = f"{len(self.rows)} epoch" + ("" if len(self.rows) == 1 else "s")
        return (f"{self.label}: best test acc {max(accs):.2%}, final {accs[-1]:.2%} after {epochs}"
                f"{stopped} in {seconds:.0f} s | device: {self.meta.get('device')} | profile: "
                f"{self.meta.get('profile')} | data: {self.meta.get('data_source')}")

    def __repr__(self) -> str:
        last = f", final test_acc={self.rows[-1]['test_acc']:.4f}" if self.rows else ""
        return f"History({self.label!r}, {len(self.rows)} epochs{last})"

    def plot(self) -> plt.Figure:
        """Loss and accuracy per epoch: train dashed, test solid."""
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
        _draw(self, ax_loss, ax_acc, color="C0")
        ax_loss.legend()
        fig.suptitle(self.summary(), fontsize=8)
        fig.tight_layout()
        return fig


def _draw(history: History, ax_loss, ax_acc, color: str, label: str = "") -> None:
    epochs = history.column("epoch")
    prefix = f"{label} " if label else ""
    for ax, metric in ((ax_loss, "loss"), (ax_acc, "acc")):
        ax.plot(epochs, history.column(f"train_{metric}"), "--", color=color, label=f"{prefix}train")
        ax.plot(epochs, history.column(f"test_{metric}"), "-", color=color, label=f"{prefix}test")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_ylabel("accuracy" if metric == "acc" else "cross-entropy loss")
        ax.grid(alpha=0.3)


def compare(histories, metric: str = "test_acc") -> plt.Figure:
    """Several runs on one axis, one line each, e.g. ``compare([h_plain, h_resnet])``."""
    histories = list(histories)
    if not histories or not all(isinstance(h, History) for h in histories):
        raise ValueError("compare() expects a non-empty list of History objects")
    if metric not in ROW_FIELDS:
        raise KeyError(f"unknown metric {metric!r}; expected one of {ROW_FIELDS}")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, h in enumerate(histories):
        ax.plot(h.column("epoch"), h.column(metric), "-", color=f"C{i}", label=h.label)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    meta = histories[0].meta
    ax.set_title(f"device: {meta.get('device')} | profile: {meta.get('profile')} | data: {meta.get('data_source')}",
                 fontsize=8)
    fig.tight_layout()
    return fig
