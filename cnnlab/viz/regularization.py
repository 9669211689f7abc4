"""Figures of regularizers: dropped pixels, mixed images with their soft labels, residual units under
Shake-Shake / stochastic depth / ShakeDrop / Swapout, stochastic depth's survival probabilities, label
smoothing's clusters and AGC's gradient-to-weight ratios."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .images import image_for_display

__all__ = ["plot_regularizer_masks", "plot_mixed_samples", "plot_branch_mix", "plot_survival",
           "plot_penultimate_projection", "plot_logit_gaps", "plot_unitwise_ratios"]

_METHOD_TITLES = {"dropout": "dropout", "dropblock": "DropBlock", "cutout": "Cutout",
                  "random_erasing": "Random Erasing"}


def _image_row(axes, images, titles):
    for ax, image, title in zip(axes, images, titles):
        ax.imshow(image_for_display(image), interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()


def plot_regularizer_masks(images: torch.Tensor, masks: dict[str, torch.Tensor], count: int = 4):
    """One row per method of :func:`cnnlab.analysis.regularizer_masks`: the first ``count`` images with
    their dropped pixels set to zero, titled by the share dropped."""
    count = min(count, len(images))
    fig, axes = plt.subplots(len(masks) + 1, count, figsize=(1.6 * count, 1.7 * (len(masks) + 1)), squeeze=False)
    _image_row(axes[0], images[:count], ["original"] * count)
    for row, (method, mask) in zip(axes[1:], masks.items()):
        kept = images[:count].float() * mask[:count, None]
        titles = [f"{_METHOD_TITLES.get(method, method)}: {1 - m.mean().item():.0%}" for m in mask[:count]]
        _image_row(row, kept, titles)
    fig.tight_layout()
    return fig


def _label_text(soft: torch.Tensor, classes: list[str] | None) -> str:
    weights, indices = soft.topk(min(2, len(soft)))
    parts = [f"{w:.2f} {classes[i] if classes else i}" for w, i in zip(weights.tolist(), indices.tolist()) if w > 0]
    return "\n".join(parts)


def plot_mixed_samples(mixed: torch.Tensor, soft_labels: torch.Tensor, classes: list[str] | None = None,
                       count: int = 4):
    """Mixed images (mixup or CutMix) titled by the two largest weights of their soft labels."""
    count = min(count, len(mixed))
    fig, axes = plt.subplots(1, count, figsize=(1.8 * count, 2.2), squeeze=False)
    _image_row(axes[0], mixed[:count], [_label_text(s, classes) for s in soft_labels[:count]])
    fig.tight_layout()
    return fig


def plot_branch_mix(first: torch.Tensor, second: torch.Tensor, out: torch.Tensor, titles: list[str],
                    names: tuple[str, str] = ("x (identity)", "F(x) (branch)"), count: int = 4):
    """Columns per image: the two inputs of a residual unit (``names``), and its output titled by
    ``titles`` (e.g. Shake-Shake's α or the factor stochastic depth / ShakeDrop gave the branch)."""
    count = min(count, len(first))
    fig, axes = plt.subplots(3, count, figsize=(1.6 * count, 5.2), squeeze=False)
    _image_row(axes[0], first[:count], [names[0]] * count)
    _image_row(axes[1], second[:count], [names[1]] * count)
    _image_row(axes[2], out[:count], titles[:count])
    fig.tight_layout()
    return fig


def plot_survival(probabilities: list[float], ax=None):
    """Bars of the survival probability of each residual block (stochastic depth's linear decay rule,
    :func:`cnnlab.layers.survival_probabilities`) [huang2016deep]."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3))
    blocks = np.arange(1, len(probabilities) + 1)
    ax.bar(blocks, probabilities, color="tab:blue")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("residual block l")
    ax.set_ylabel("survival probability $p_l$")
    ax.set_title(f"$p_l = 1 - l/L\\,(1 - p_L)$, L = {len(probabilities)}, $p_L$ = {probabilities[-1]:.2f}")
    fig.tight_layout()
    return fig


def plot_penultimate_projection(projections: dict[str, dict], classes: list[str] | None = None):
    """One scatter per entry of ``projections`` (title -> :func:`cnnlab.analysis.penultimate_projection`),
    e.g. ``{"no smoothing": ..., "label smoothing 0.1": ...}``: points by class, each class's template as a
    star of its colour."""
    fig, axes = plt.subplots(1, len(projections), figsize=(4 * len(projections), 4), squeeze=False)
    for ax, (title, projection) in zip(axes[0], projections.items()):
        points, labels, templates = projection["points"], projection["labels"], projection["templates"]
        for k, label in enumerate(projection["classes"].tolist()):
            chosen = points[labels == label]
            name = classes[label] if classes else str(label)
            ax.scatter(chosen[:, 0], chosen[:, 1], s=6, alpha=0.6, color=f"C{k}", label=name)
            ax.scatter(*templates[k], marker="*", s=220, color=f"C{k}", edgecolors="black")
        ax.set_title(title, fontsize=10)
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_logit_gaps(gaps: dict[str, torch.Tensor], optimum: float | None = None, ax=None):
    """Histograms of :func:`cnnlab.analysis.logit_gaps` per model (name -> gaps), with the gap label
    smoothing aims at (:func:`cnnlab.analysis.optimal_logit_gap`) marked when ``optimum`` is given."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3))
    pooled = torch.cat([values.detach().flatten().cpu() for values in gaps.values()])
    bins = np.linspace(min(pooled.min().item(), 0.0), pooled.max().item(), 60)  # shared, so heights compare
    for name, values in gaps.items():
        ax.hist(values.detach().cpu().numpy(), bins=bins, alpha=0.6, label=name)
    if optimum is not None and np.isfinite(optimum):
        ax.axvline(optimum, color="black", linestyle="--", label=f"label smoothing's target gap {optimum:.2f}")
    ax.set_xlabel("true-class logit minus mean of the other logits")
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_unitwise_ratios(ratios: dict[str, torch.Tensor], clip: float | None = 0.01, ax=None):
    """Histogram of the unit-wise ratios ``||G||/||W||`` (all layers pooled, log scale), with AGC's clipping
    threshold ``clip`` marked: units to its right have their gradient scaled down. Units with a zero
    gradient (no log) are counted in the title."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3))
    values = torch.cat([r.detach().flatten() for r in ratios.values()]).cpu()
    nonzero = values[values > 0].log10().numpy()
    ax.hist(nonzero, bins=40, color="tab:blue")
    if clip is not None:
        share = float((values > clip).float().mean())
        ax.axvline(np.log10(clip), color="tab:red", label=f"clip = {clip} ({share:.0%} of units clipped)")
        ax.legend(fontsize=8)
    ax.set_title(f"{len(values)} units, {len(values) - len(nonzero)} with a zero gradient", fontsize=9)
    ax.set_xlabel("log10 ||G|| / ||W|| per unit")
    ax.set_ylabel("units")
    fig.tight_layout()
    return fig
