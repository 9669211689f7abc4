"""Figures of what a network learned and where it fails: confusion matrix, its mistakes, and the input that
excites one channel most."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .images import show_images
from .images import image_for_display

__all__ = ["plot_confusion", "plot_misclassified", "plot_activation_maximization"]


def plot_confusion(matrix: torch.Tensor, classes: list[str] | None = None, normalize: bool = True, ax=None):
    """The confusion matrix ``matrix[true, predicted]`` (counts, e.g. ``cnnlab.train.evaluate(...).confusion``);
    with ``normalize`` each row is divided by its total, so the diagonal is the per-class accuracy."""
    matrix = torch.as_tensor(matrix).detach().cpu().float()
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (classes x classes), got shape {tuple(matrix.shape)}")
    if classes is not None and len(classes) != len(matrix):
        raise ValueError(f"got {len(classes)} class names for a {len(matrix)}x{len(matrix)} matrix")
    shown = matrix / matrix.sum(1, keepdim=True).clamp_min(1) if normalize else matrix
    n = len(matrix)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(0.45 * n + 2.5, 0.45 * n + 2))
    image = ax.imshow(shown.numpy(), cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class" if normalize else "images")
    names = classes or [str(k) for k in range(n)]
    ax.set_xticks(range(n), names, rotation=90, fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 12:
        for i in range(n):
            for j in range(n):
                text = f"{shown[i, j]:.2f}" if normalize else f"{int(shown[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.5 * shown.max() else "black")
    return fig


def plot_misclassified(images: torch.Tensor, true: torch.Tensor, predicted: torch.Tensor,
                       classes: list[str] | None = None, columns: int | None = None):
    """A grid of the images :func:`cnnlab.analysis.misclassified` found, titled ``true → predicted``."""
    if not len(images) == len(true) == len(predicted):
        raise ValueError(f"got {len(images)} images, {len(true)} true and {len(predicted)} predicted labels")
    if len(images) == 0:
        raise ValueError("no misclassified images to show")
    fig = show_images(images, columns=columns)
    name = (lambda k: classes[k]) if classes else str
    for ax, t, p in zip(fig.axes, true.tolist(), predicted.tolist()):
        ax.set_title(f"{name(t)} → {name(p)}", fontsize=7, color="tab:red")
    return fig


def plot_activation_maximization(image: torch.Tensor, history: list[float], title: str = ""):
    """The image :func:`cnnlab.analysis.activation_maximization` found, next to the target activation
    at each step of the gradient ascent."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3))
    left.imshow(image_for_display(image))
    left.set_title(title or "input that excites the channel", fontsize=9)
    left.set_axis_off()
    right.plot(range(len(history)), history)
    right.set_xlabel("step")
    right.set_ylabel("mean activation")
    fig.tight_layout()
    return fig
