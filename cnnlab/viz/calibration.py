"""The reliability diagram [guo2017calibration] of :func:`cnnlab.analysis.calibration.reliability`."""
from __future__ import annotations

import matplotlib.pyplot as plt

from ..analysis.calibration import Reliability

__all__ = ["plot_reliability"]


def plot_reliability(reliabilities: dict[str, Reliability], ax=None, title: str | None = None):
    """Accuracy against mean confidence, bin by bin, one line per model (name -> :class:`Reliability`), with
    the diagonal a calibrated model lies on; each point's area is proportional to the images in its bin, and
    the legend gives each model's expected calibration error (ECE)."""
    if not reliabilities:
        raise ValueError("plot_reliability needs at least one model: {name: Reliability}")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="calibrated")
    for name, r in reliabilities.items():
        shown = [(c, a, n) for c, a, n in zip(r.confidence, r.accuracy, r.counts) if n]
        confidence, accuracy, counts = zip(*shown)
        line, = ax.plot(confidence, accuracy, linewidth=1.2, label=f"{name}: ECE {100 * r.ece:.1f}%")
        ax.scatter(confidence, accuracy, s=[400 * n / r.images for n in counts], color=line.get_color(), alpha=0.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("confidence (mean largest softmax probability in the bin)")
    ax.set_ylabel("accuracy in the bin")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
