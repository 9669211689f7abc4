"""Figures of shift-invariance: consistency per model, equivariance error against shift size."""
from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["plot_shift_consistency", "plot_equivariance"]


def plot_shift_consistency(results: dict[str, float], title: str = "shift consistency"):
    """Bars of :func:`consistency` per model name (1.0: the prediction never changes)."""
    if not results:
        raise ValueError("results is empty; give {model name: consistency}")
    fig, ax = plt.subplots(figsize=(max(3.5, len(results) * 0.9), 3))
    names, values = list(results), [100 * v for v in results.values()]
    bars = ax.bar(names, values, color="tab:blue")
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_ylim(min(values) - 5 if min(values) > 5 else 0, 100.5)
    ax.set_ylabel("agreeing top-1 (%)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_equivariance(results: dict[str, dict], title: str = "feature-map equivariance error"):
    """Curves of :func:`equivariance_error` (error against shift) per model name."""
    if not results:
        raise ValueError("results is empty; give {model name: equivariance_error(...)}")
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for name, result in results.items():
        ax.plot(result["shifts"], result["errors"], marker="o", label=f"{name} (stride {result['stride']:g})")
    ax.set_xlabel("shift (pixels, diagonal)")
    ax.set_ylabel("relative error")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
