"""A searched cell drawn as a graph from its genotype, as NASNet's Fig. 4 draws its cells [zoph2018learning].

Nodes are the cell's states: its two inputs h[i-1] and h[i] on the left, one node per block (the sum of its
two inputs' operations), and the concatenation on the right. Each edge carries the operation applied to the
state it leaves: convolutions in blue, pooling in orange, the identity in grey.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from ..layers.nas_ops import Genotype

__all__ = ["plot_cell", "op_colour"]


def op_colour(op: str) -> str:
    """Blue for a convolution, orange for pooling, grey for the identity."""
    if op == "identity":
        return "tab:gray"
    return "tab:orange" if "pool" in op else "tab:blue"


def _positions(blocks: int) -> dict:
    spots = {0: (0.0, 1.4), 1: (0.0, -1.4)}
    for b in range(blocks):
        spots[b + 2] = (1.6 * (b + 1), 0.9 if b % 2 == 0 else -0.9)
    spots["out"] = (1.6 * (blocks + 1), 0.0)
    return spots


def _edge(ax, start, end, rad: float, colour: str, label: str | None = None) -> None:
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.6, shrinkA=14, shrinkB=14,
                                connectionstyle=f"arc3,rad={rad}"))
    if label:
        (x1, y1), (x2, y2) = start, end
        # matplotlib's arc3 curve is a quadratic Bezier with its control point at the chord's midpoint moved
        # by rad * (dy, -dx); the label sits on it 60% of the way, nearer the block it feeds
        cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
        t = 0.6
        x = (1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t ** 2 * x2
        y = (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t ** 2 * y2
        ax.text(x, y, label, ha="center", va="center", fontsize=7, color=colour,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=colour, lw=0.6))


def plot_cell(genotype: Genotype, title: str | None = None, ax=None):
    """Draw ``genotype``'s cell; returns the Figure (a new one unless ``ax`` is given)."""
    if not isinstance(genotype, Genotype):
        raise TypeError(f"plot_cell draws a cnnlab.layers.Genotype, got {type(genotype).__name__}")
    blocks = len(genotype.blocks)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.6 * blocks + 3.2, 4))
    else:
        fig = ax.figure
    spots = _positions(blocks)
    for b, pair in enumerate(genotype.blocks):
        for side, (op, index) in enumerate(pair):
            same = pair[0][1] == pair[1][1]  # both inputs from one state: bend the two edges apart
            rad = (0.25 if side == 0 else -0.25) if same else 0.12
            _edge(ax, spots[index], spots[b + 2], rad, op_colour(op), op)
    for index in genotype.concat:
        _edge(ax, spots[index], spots["out"], 0.0, "black")
    names = {0: "h[i-1]", 1: "h[i]", "out": "concat"}
    for key, (x, y) in spots.items():
        text = names.get(key, f"+\n{key}")
        ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=3,
                bbox=dict(boxstyle="circle" if key not in names else "round", fc="#f4f4f4", ec="black"))
    ax.set_xlim(-0.8, spots["out"][0] + 0.8)
    ax.set_ylim(-1.8, 1.8)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return fig
