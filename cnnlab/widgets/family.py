"""Explorers of the ResNet family (chapter 06): the fractal expansion rule with drop-path
[larsson2017fractalnet], and width against depth of a Wide ResNet [zagoruyko2016wide].

:func:`fractal_paths` lays out a fractal block of ``C`` columns as :class:`cnnlab.layers.FractalBlock`
builds it (column ``j``, shallowest first, is a chain of ``2^j`` convs; joins meeting at one depth are
merged) and draws one drop-path sample in plain Python: *local* drops each input of a join with
probability ``p_local`` and keeps at least one; *global* keeps one column everywhere. A conv is *live*
when its output reaches the block's output through the kept join inputs. :func:`draw_fractal_block`
draws it; :func:`fractal_explorer` lets the learner change ``C``, the mode and the sample.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from ..analysis import count_flops, count_parameters
from .base import Explorer

__all__ = ["FractalLayout", "fractal_paths", "draw_fractal_block", "fractal_explorer", "width_depth_explorer"]

MODES = ("all paths (eval)", "local drop-path", "global drop-path")


@dataclass
class FractalLayout:
    """One fractal block and one drop-path sample: ``convs[(j, i)] = (first depth, last depth, live)``
    for conv ``i`` of column ``j``; ``joins[d] = (columns joined, columns kept)`` at depth ``d`` (1-based,
    only where two or more columns meet)."""

    columns: int
    depth: int
    convs: dict[tuple[int, int], tuple[int, int, bool]]
    joins: dict[int, tuple[list[int], list[int]]]


def fractal_paths(columns: int, mode: str = MODES[0], seed: int = 0, p_local: float = 0.15) -> FractalLayout:
    """The layout of a ``columns``-column fractal block and which convs one drop-path draw keeps."""
    if not isinstance(columns, int) or not 1 <= columns <= 6:
        raise ValueError(f"columns must be an integer from 1 to 6, got {columns!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0.0 <= p_local < 1.0:
        raise ValueError(f"p_local must lie in [0, 1), got {p_local!r}")
    rng = random.Random(seed)
    depth = 2 ** (columns - 1)
    spans = [depth // 2 ** j for j in range(columns)]
    chosen = rng.randrange(columns)
    kept = {}
    for d in range(1, depth + 1):
        ending = [j for j in range(columns) if d % spans[j] == 0]
        if mode == MODES[1] and len(ending) > 1:
            keep = [j for j in ending if rng.random() >= p_local] or [rng.choice(ending)]
        elif mode == MODES[2] and chosen in ending:
            keep = [chosen]
        else:
            keep = ending
        kept[d] = (ending, keep)
    live_join = {depth: True}
    live_conv = {}
    for d in range(depth, 0, -1):  # backwards: a join is live if a live conv reads it
        ending, keep = kept[d]
        if d < depth:
            live_join[d] = any(live_conv.get((j, d // spans[j]), False) for j in ending)
        for j in ending:
            live_conv[(j, d // spans[j] - 1)] = live_join[d] and j in keep
    convs = {(j, i): (i * spans[j] + 1, (i + 1) * spans[j], live_conv[(j, i)])
             for j in range(columns) for i in range(2 ** j)}
    joins = {d: kept[d] for d in kept if len(kept[d][0]) > 1}
    return FractalLayout(columns, depth, convs, joins)


def draw_fractal_block(ax, layout: FractalLayout, title: str | None = None) -> None:
    """Draw ``layout`` on ``ax``: one box per conv (column j at x = j, depth downwards), joins as green
    bars; convs whose output a drop-path sample discards are grey."""
    for (j, _i), (first, last, live) in layout.convs.items():
        ax.add_patch(Rectangle((j - 0.3, first - 0.9), 0.6, last - first + 0.75,
                               facecolor="tab:blue" if live else "0.88", edgecolor="0.3", linewidth=0.6))
    for d, (ending, keep) in layout.joins.items():
        ax.plot([min(ending) - 0.4, max(ending) + 0.4], [d, d], color="tab:green", linewidth=3, solid_capstyle="butt")
        for j in ending:
            if j not in keep:
                ax.plot(j, d - 0.05, marker="x", color="tab:red", markersize=7, mew=2)
    ax.set_xlim(-0.6, layout.columns - 0.4)
    ax.set_ylim(layout.depth + 0.5, -0.5)
    ax.set_xticks(range(layout.columns), [f"{2 ** j}" for j in range(layout.columns)], fontsize=7)
    ax.set_xlabel("convs in the column", fontsize=7)
    ax.set_yticks([])
    ax.set_title(title or f"C = {layout.columns}", fontsize=9)


def fractal_explorer(p_local: float = 0.15) -> Explorer:
    """Fractal block of C columns, with one drop-path sample of the chosen mode."""
    columns = widgets.IntSlider(value=3, min=1, max=5, description="columns C")
    mode = widgets.Dropdown(options=MODES, value=MODES[0], description="mode")
    # start at a sample whose local drop-path drops something at C = 3 (at p = 0.15 some samples drop nothing)
    first = next(s for s in range(100) if any(len(keep) < len(ending) for ending, keep in
                                               fractal_paths(3, MODES[1], s, p_local).joins.values()))
    sample = widgets.IntSlider(value=first, min=0, max=20, description="sample")

    def draw(columns, mode, sample):
        layout = fractal_paths(columns, mode, sample, p_local)
        live = sum(live for *_, live in layout.convs.values())
        fig, ax = plt.subplots(figsize=(1.2 + 1.1 * columns, 4))
        draw_fractal_block(ax, layout, f"C = {columns}, {mode}: {live} of {len(layout.convs)} convs used")
        fig.tight_layout()
        return fig

    return Explorer("Fractal expansion and drop-path", {"columns": columns, "mode": mode, "sample": sample}, draw,
                    hint="raise C to apply the expansion rule again; pick a drop-path mode and step through "
                         "samples: global keeps one column, local drops join inputs but never all of them")


def width_depth_explorer(build, depths: tuple[int, ...], widths: tuple[int, ...], references: dict[str, tuple]):
    """Parameters of ``build(depth, width)`` (e.g. ``cnnlab.models.resnet.wide_resnet``) against depth, one
    line per width (the chosen one highlighted, each point labelled with its multiply-adds), beside
    ``references`` (name -> (depth, parameters)) as fixed points. Every model is built and counted once."""
    if not depths or not widths:
        raise ValueError("depths and widths must list at least one value each")
    cost = {}
    for w in widths:
        for d in depths:
            model = build(d, w)
            cost[d, w] = (count_parameters(model) / 1e6, count_flops(model)["macs"] / 1e6)
    width = widgets.SelectionSlider(options=list(widths), value=widths[0], description="width k")

    def draw(width):
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for w in widths:
            chosen = w == width
            label = f"WRN-d-{width}, labelled with its MACs per image" if chosen else None
            ax.plot(depths, [cost[d, w][0] for d in depths], "o-", color="tab:blue" if chosen else "0.82",
                    zorder=3 if chosen else 1, label=label)
            ax.annotate(f"k={w}", (depths[-1], cost[depths[-1], w][0]), fontsize=7, xytext=(5, -3),
                        textcoords="offset points", color="tab:blue" if chosen else "0.6")
        for d in depths:
            ax.annotate(f"{cost[d, width][1]:,.0f}M", (d, cost[d, width][0]), fontsize=7, xytext=(-8, 7),
                        textcoords="offset points")
        for name, (d, p) in references.items():
            ax.plot(d, p / 1e6, "s", color="tab:orange")
            ax.annotate(name, (d, p / 1e6), fontsize=7, xytext=(6, -3), textcoords="offset points",
                        color="tab:orange")
        ax.set_yscale("log")
        ax.set_xlabel("depth (as in the network's name)")
        ax.set_ylabel("parameters (millions)")
        ax.set_title("Wide ResNets: parameters against depth, for each width k", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        return fig

    return Explorer("Width against depth", {"width": width}, draw,
                    hint="move k: every depth costs about k^2 times the parameters and multiply-adds; find the "
                         "(depth, k) that matches a deep thin ResNet's budget (squares)")
