"""Explorer: mutate an architecture step by step, as regularized evolution does [real2019regularized] (the
mutation itself is :func:`cnnlab.search.mutate`; the drawing is :func:`cnnlab.viz.plot_cell`)."""
from __future__ import annotations

import random

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..analysis.complexity import count_parameters
from ..search.space import Architecture, mutate, network
from ..viz.cell import plot_cell
from .base import Explorer

__all__ = ["mutation_explorer"]


def _changes(parent: Architecture, child: Architecture) -> list[str]:
    """Each input that differs, as 'normal block 2, input 1: conv_3x3@1 -> max_pool_3x3@1'."""
    found = []
    for name, before, after in zip(("normal", "reduction"), parent, child):
        for b, (old, new) in enumerate(zip(before.blocks, after.blocks)):
            for side in range(2):
                if old[side] != new[side]:
                    found.append(f"{name} block {b + 2}, input {side + 1}: {old[side][0]}@{old[side][1]} -> "
                                 f"{new[side][0]}@{new[side][1]}")
    return found


def mutation_explorer(architecture: Architecture, channels: int = 16, max_steps: int = 6) -> Explorer:
    """``steps`` mutations of ``architecture`` drawn with the generator of ``seed``; the figure shows the
    chosen ``cell`` before and after them, with the changed inputs listed and both networks' parameters at
    ``channels``."""
    if not isinstance(architecture, Architecture):
        raise TypeError(f"architecture must be a cnnlab.search.Architecture, got {type(architecture).__name__}")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    controls = {"steps": widgets.IntSlider(value=1, min=0, max=max_steps, description="mutations"),
                "seed": widgets.IntSlider(value=0, min=0, max=20, description="seed"),
                "cell": widgets.Dropdown(options=["normal", "reduction"], value="normal", description="cell")}

    def draw(steps, seed, cell):
        rng = random.Random(seed)
        child = architecture
        for _ in range(steps):
            child = mutate(child, rng)
        which = 0 if cell == "normal" else 1
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
        for ax, arch, name in ((left, architecture, "parent"), (right, child, f"after {steps} mutation(s)")):
            params = count_parameters(network(arch, channels))
            plot_cell(arch[which], f"{name}: {cell} cell ({params:,} parameters at width {channels})", ax)
        changes = _changes(architecture, child)
        fig.text(0.5, 0.01, "; ".join(changes) if changes else "no change", ha="center", va="bottom", fontsize=8,
                 wrap=True)
        return fig

    return Explorer("Mutations", controls, draw,
                    hint="add mutations or change the seed: each one rewires one input or swaps one operation "
                         "in one of the two cells")
