"""Figures of a network's cost: parameters and FLOPs per layer."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_summary"]


def plot_summary(table, title: str = "where the parameters and the FLOPs are"):
    """Two bar charts (parameters, FLOPs) per layer of a :func:`summary` table; layers with neither are left out."""
    rows = [r for r in table if r["params"] or r["flops"]]
    if not rows:
        raise ValueError("the table has no layer with parameters or FLOPs")
    fig, axes = plt.subplots(2, 1, figsize=(max(5, len(rows) * 0.3), 5), sharex=True)
    x = np.arange(len(rows))
    axes[0].bar(x, [r["params"] for r in rows], color="tab:green")
    axes[0].set_ylabel("parameters")
    axes[1].bar(x, [r["flops"] for r in rows], color="tab:orange")
    axes[1].set_ylabel("FLOPs (2 per multiply-add)")
    axes[1].set_xticks(x, [r["name"] for r in rows], rotation=90, fontsize=7)
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
