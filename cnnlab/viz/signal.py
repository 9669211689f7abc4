"""Signal propagation plots [brock2021characterizing]: activation statistics (forward) and gradient norms
(backward) against depth, one line per network, so that growth (no normalization) and control (BN, scaled
residuals) are seen side by side."""
from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["plot_signal_propagation", "plot_gradient_propagation"]


def _per_block_panels(stats: dict[str, dict], keys: tuple[str, str], titles: tuple[str, str], xlabel: str):
    """Two log-scale panels, one line per network: ``result[key]`` against the block index (from 1)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, result in stats.items():
        blocks = range(1, len(result["layer"]) + 1)
        for ax, key in zip(axes, keys):
            ax.plot(blocks, result[key], marker="o", markersize=3, label=name)
    for ax, title in zip(axes, titles):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_signal_propagation(stats: dict[str, dict]):
    """``stats``: network name -> :func:`cnnlab.analysis.signal_propagation` result. Two panels against the
    block index: the average squared channel mean and the average channel variance (log scale)."""
    if not stats:
        raise ValueError("stats must map at least one network name to signal_propagation(...) results")
    return _per_block_panels(stats, ("mean_sq", "var"), ("average squared channel mean", "average channel variance"),
                             "residual block")


def plot_gradient_propagation(stats: dict[str, dict]):
    """``stats``: network name -> :func:`cnnlab.analysis.gradient_propagation` result. Two panels against the
    block index (input side on the left): the RMS of the loss gradient at each block's output and the norm of
    the gradient of each block's parameters (log scale)."""
    if not stats:
        raise ValueError("stats must map at least one network name to gradient_propagation(...) results")
    return _per_block_panels(stats, ("grad_rms", "param_grad_norm"),
                             ("gradient at the block's output (RMS)", "gradient of the block's weights (norm)"),
                             "block (input side left)")
