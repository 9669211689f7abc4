"""Explorer: DenseNet-BC's growth rate k, compression theta and depth -> channels, parameters, memory.

Within a dense block the channels each layer reads grow linearly, by k per layer; each transition
multiplies them by theta [huang2017densely]. The figure draws that saw-tooth, counts the parameters,
and measures the activation memory training keeps per image, naive and memory-efficient
[pleiss2017memory] (:func:`cnnlab.analysis.saved_activation_memory`).
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..analysis.complexity import count_parameters, saved_activation_memory
from ..models.densenet import cifar_densenet
from .base import Explorer

__all__ = ["densenet_explorer"]


def densenet_explorer(growth_rate: int = 12, compression: float = 0.5, depth: int = 100) -> Explorer:
    """Sliders for k (4..48), theta (0.1..1) and the depth L = 6n+4 (n = 1..16 layers per block) of a
    CIFAR DenseNet-BC; starts at the given values (the paper's L=100, k=12, theta=0.5)."""
    depths = [6 * n + 4 for n in range(1, 17)]
    if depth not in depths:
        raise ValueError(f"depth must be 6n+4 with n in 1..16 (a CIFAR DenseNet-BC: {depths[0]}..{depths[-1]}), "
                         f"got {depth!r}")
    if not isinstance(growth_rate, int) or not 4 <= growth_rate <= 48:
        raise ValueError(f"growth_rate k must be an integer in 4..48, got {growth_rate!r}")
    if not 0.1 <= compression <= 1.0:
        raise ValueError(f"compression theta must be in [0.1, 1], got {compression!r}")
    k = widgets.IntSlider(value=growth_rate, min=4, max=48, step=4, description="k")
    theta = widgets.FloatSlider(value=compression, min=0.1, max=1.0, step=0.1, description="theta")
    layers = widgets.SelectionSlider(options=depths, value=depth, description="depth L")

    def draw(k, theta, depth):
        model = cifar_densenet(depth, k, compression=round(theta, 2))
        blocks = [model.features.block1, model.features.block2, model.features.block3]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw=dict(width_ratios=[2, 1]))
        start = 1
        for b, block in enumerate(blocks, start=1):
            reads = [layer.conv1.in_channels for layer in block.layers]
            left.step(range(start, start + len(reads)), reads, where="mid", color="tab:blue",
                      label="channels a layer reads" if b == 1 else None)
            left.annotate(f"block {b}: {reads[0]} -> {block.out_channels}", (start, block.out_channels),
                          fontsize=7, va="bottom")
            start += len(reads)
            if b < len(blocks):
                left.axvline(start - 0.5, color="grey", linestyle=":", linewidth=1)
        left.set_xlabel("dense layer (along the network)")
        left.set_ylabel("input channels")
        left.set_ylim(0, max(block.out_channels for block in blocks) * 1.15)
        left.legend(fontsize=8, loc="upper left")
        left.set_title(f"DenseNet-BC L={depth}, k={k}, theta={theta:.1f}: {count_parameters(model) / 1e6:.3f}M "
                       f"parameters", fontsize=9)
        naive = saved_activation_memory(model) / 2**20
        efficient = saved_activation_memory(cifar_densenet(depth, k, compression=round(theta, 2),
                                                           memory_efficient=True)) / 2**20
        bars = right.barh(["naive", "memory-\nefficient"], [naive, efficient], color=["tab:red", "tab:green"])
        right.bar_label(bars, fmt="%.1f MB", fontsize=8)
        right.set_xlim(0, naive * 1.4)
        right.set_xlabel("kept for backward, per 32x32 image (MB)")
        right.set_title("activation memory in training", fontsize=9)
        fig.tight_layout()
        return fig

    return Explorer("DenseNet-BC growth rate and compression", {"k": k, "theta": theta, "depth": layers}, draw,
                    hint="raise k or the depth and watch the channels and the naive memory grow; lower theta "
                         "and see the transitions cut the channels each block starts with")
