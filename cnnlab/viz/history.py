"""Training curves of a :class:`cnnlab.train.History`: one run (loss and accuracy), or several runs on one axis.

The held-out curve of each epoch is the validation split's when the run had one (``val_*``), else the
test split's (``test_*``); the title says which, and the final test accuracy of a run with a validation
split is marked as one point after the last epoch.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_history", "compare_histories"]


def _held_out(history) -> tuple[str, str]:
    """``("val", "validation")`` or ``("test", "test")``: which split the epochs were evaluated on."""
    return ("val", "validation") if history.has_validation else ("test", "test")


METRIC_NAMES = {"val_acc": "validation accuracy", "test_acc": "test accuracy", "train_acc": "training accuracy",
                "val_loss": "validation loss", "test_loss": "test loss", "train_loss": "training loss",
                "lr": "learning rate", "seconds": "seconds per epoch", "images_per_s": "training images per second"}
"""The words an axis shows for each History field."""


def _provenance(meta: dict) -> str:
    return f"device: {meta.get('device')} | profile: {meta.get('profile')} | data: {meta.get('data_source')}"


def plot_history(history):
    """Loss (left) and accuracy (right) per epoch: train dashed, validation (or test) solid."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    split, name = _held_out(history)
    epochs = history.column("epoch") if history.rows else []
    for ax, metric in ((ax_loss, "loss"), (ax_acc, "acc")):
        if history.rows:
            ax.plot(epochs, history.column(f"train_{metric}"), "--", color="C0", label="train")
            ax.plot(epochs, history.column(f"{split}_{metric}"), "-", color="C0", label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_ylabel("accuracy" if metric == "acc" else "cross-entropy loss")
        ax.grid(alpha=0.3)
    if history.test is not None and split == "val" and history.rows:
        ax_acc.plot([epochs[-1]], [history.test["accuracy"]], "*", color="C3", markersize=10,
                    label="test (once, at the end)")
    ax_loss.legend()
    ax_acc.legend()
    fig.suptitle(history.summary(), fontsize=8)
    fig.tight_layout()
    return fig


def compare_histories(histories, metric: str | None = None):
    """Several runs on one axis, one line each, e.g. ``compare_histories([h_plain, h_resnet])``.

    ``metric`` is a History field; by default ``val_acc`` when every run has a validation split, else
    ``test_acc``.
    """
    from ..train.history import History

    histories = list(histories)
    if not histories or not all(isinstance(h, History) for h in histories):
        raise ValueError("compare() expects a non-empty list of History objects")
    if metric is None:
        metric = "val_acc" if all(h.has_validation for h in histories) else "test_acc"
    columns = [h.column(metric) for h in histories]  # an unknown or absent field is refused here, named
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (h, values) in enumerate(zip(histories, columns)):
        ax.plot(h.column("epoch"), values, "-", color=f"C{i}", label=h.label)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(METRIC_NAMES.get(metric, metric))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(_provenance(histories[0].meta), fontsize=8)
    fig.tight_layout()
    return fig
