"""Figures of what attention blocks learned (:mod:`cnnlab.analysis.attention`).

* :func:`plot_excitation_by_class` -- mean SE excitation per channel, one line per class, one panel per block
  ([hu2020squeeze] Fig. 6 redrawn for a CIFAR net).
* :func:`plot_class_share` -- the share of the excitations' variance that lies between classes, block by block.
* :func:`plot_attention_vs_scale` -- the SK attention difference (larger kernel minus smaller) as the object is
  enlarged, per class, beside the control that only coarsens the image ([li2019selective] Fig. 3).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_excitation_by_class", "plot_class_share", "plot_attention_vs_scale"]


def _blocks(result: dict, blocks) -> list[str]:
    blocks = list(result) if blocks is None else list(blocks)
    unknown = [b for b in blocks if b not in result]
    if unknown or not blocks:
        raise KeyError(f"no attention block {unknown or blocks!r}; the result has: {', '.join(result)}")
    return blocks


def _grid(n: int, width: float = 3.4, height: float = 2.7):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols + 1.8, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def _class_names(classes, n: int) -> list[str]:
    if classes is None:
        return [f"class {c}" for c in range(n)]
    if len(classes) != n:
        raise ValueError(f"classes names {len(classes)} classes but the result has {n}")
    return list(classes)


def _legend_right(fig, ax, title: str | None, legend_inches: float):
    """``ax``'s legend for the whole figure, in a margin of ``legend_inches`` on the right; the title above."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1 - legend_inches / fig.get_figwidth(), 1))
    return fig


def plot_excitation_by_class(result: dict, blocks=None, classes=None, title: str | None = None):
    """One panel per SE block of ``result`` (:func:`cnnlab.analysis.attention_by_class`; ``blocks`` picks them):
    the mean excitation of every channel for each class's images, and for all images (black)."""
    blocks = _blocks(result, blocks)
    fig, axes = _grid(len(blocks))
    names = _class_names(classes, len(result[blocks[0]]["by_class"]))
    colours = plt.get_cmap("tab10")
    for ax, block in zip(axes, blocks):
        entry = result[block]
        for c, values in enumerate(entry["by_class"]):
            ax.plot(values, color=colours(c % 10), lw=0.9, alpha=0.85, label=names[c])
        ax.plot(entry["all"], color="black", lw=1.6, ls="--", label="all classes")
        ax.set_title(f"{block}\nbetween-class share {entry['class_share']:.2f}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xlabel("channel", fontsize=8)
        ax.set_ylabel("mean excitation", fontsize=8)
        ax.tick_params(labelsize=7)
    return _legend_right(fig, axes[0], title, legend_inches=1.6)


def plot_class_share(shares: dict[str, dict[str, float]], title: str | None = None):
    """The between-class share of the excitations' variance, block by block (in depth order), one line per
    entry of ``shares`` (``{label: {block: share}}``, e.g. one per seed)."""
    if not shares:
        raise ValueError("shares is empty: give {label: {block: share}}, e.g. one entry per trained network")
    blocks = list(next(iter(shares.values())))
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for label, by_block in shares.items():
        ax.plot(range(len(blocks)), [by_block[b] for b in blocks], marker="o", label=label)
    ax.set_xticks(range(len(blocks)))
    ax.set_xticklabels(blocks, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("SE block (input side on the left)")
    ax.set_ylabel("share of variance\nbetween classes")
    ax.set_ylim(0, max(1e-3, max(max(v.values()) for v in shares.values()) * 1.15))
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_attention_vs_scale(enlarged: dict, softened: dict | None = None, blocks=None, classes=None,
                            title: str | None = None):
    """One panel per SK block: the attention difference (last branch minus first) against the scale, for each
    class's images (thin) and all images (thick) when the object is enlarged (:func:`cnnlab.analysis.enlarge`),
    and, dashed, for all images when the image is only coarsened (``softened``, :func:`cnnlab.analysis.soften`)."""
    blocks = _blocks(enlarged, blocks)
    fig, axes = _grid(len(blocks), width=3.0)
    names = _class_names(classes, len(enlarged[blocks[0]]["by_class"][0]))
    colours = plt.get_cmap("tab10")
    for ax, block in zip(axes, blocks):
        entry = enlarged[block]
        per_class = np.array(entry["by_class"])
        for c in range(per_class.shape[1]):
            ax.plot(entry["scales"], per_class[:, c], color=colours(c % 10), lw=0.8, alpha=0.7, label=names[c])
        ax.plot(entry["scales"], entry["all"], color="black", lw=2, marker="o", label="all images, enlarged")
        if softened is not None and block in softened:
            ax.plot(softened[block]["scales"], softened[block]["all"], color="grey", lw=2, ls="--", marker="s",
                    label="all images, coarsened only")
        ax.axhline(0, color="lightgrey", lw=0.8, zorder=0)
        ax.set_title(block, fontsize=9)
        ax.set_xticks(entry["scales"])
        ax.set_xlabel("object enlarged (x)", fontsize=8)
        ax.set_ylabel("weight of larger kernel\nminus smaller", fontsize=8)
        ax.tick_params(labelsize=7)
    return _legend_right(fig, axes[0], title, legend_inches=1.9)
