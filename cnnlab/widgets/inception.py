"""Explorer: an Inception-module calculator (branch widths -> parameters, multiply-adds, receptive field).

The numbers are measured on real modules, not computed from a formula: :func:`inception_branch_costs`
builds GoogLeNet's module (:class:`cnnlab.layers.InceptionModule`, [szegedy2015going] Fig. 2b) and the
naive module without 1x1 reductions (:class:`cnnlab.layers.InceptionNaive`, Fig. 2a) with the given
widths, counts each branch's parameters (``count_parameters``) and multiply-adds (``count_flops``) and
walks each branch's receptive field (``cnnlab.analysis.receptive_field``). Convolutions carry a bias and
no batch norm, as in the paper.
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..analysis.complexity import count_flops, count_parameters
from ..analysis.receptive_field import receptive_field
from ..layers.inception import InceptionModule, InceptionNaive
from .base import Explorer

__all__ = ["inception_branch_costs", "inception_explorer", "BRANCHES"]

BRANCHES = ("1x1", "3x3", "5x5", "pool")
"""The four branches of GoogLeNet's module, in the order the module concatenates them."""


def _positive(**values: int) -> None:
    bad = {k: v for k, v in values.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1}
    if bad:
        raise ValueError(f"channel counts and the map size must be positive integers, got {bad}")


def inception_branch_costs(in_channels: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int,
                           pool_proj: int, size: int = 28) -> list[dict]:
    """One row per branch (:data:`BRANCHES`) of an Inception module on a ``size`` x ``size`` map.

    Each row has ``branch``, ``params``, ``macs`` and ``out`` (channels) of GoogLeNet's module, the same
    for the naive module (``naive_params``, ``naive_macs``, ``naive_out``: the 3x3 and 5x5 read all
    ``in_channels``, the pool branch has no projection) and ``rf``, the branch's receptive field (side, in
    pixels of the module's input). The widths are Table 1's columns: ``#1x1``, ``#3x3 reduce``, ``#3x3``,
    ``#5x5 reduce``, ``#5x5``, ``pool proj``.
    """
    _positive(in_channels=in_channels, c1=c1, c3_reduce=c3_reduce, c3=c3, c5_reduce=c5_reduce, c5=c5,
              pool_proj=pool_proj, size=size)
    if size < 5:
        raise ValueError(f"size (the side of the input map) must be at least 5 to hold the 5x5 window, got {size}")
    module = InceptionModule(in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, norm=False)
    naive = InceptionNaive(in_channels, c1, c3, c5, norm=False)
    shape = (1, in_channels, size, size)
    rows = []
    for name, branch, plain, out, naive_out in zip(
            BRANCHES, (module.branch1, module.branch2, module.branch3, module.branch4),
            (naive.branch1, naive.branch2, naive.branch3, naive.branch4), (c1, c3, c5, pool_proj),
            (c1, c3, c5, in_channels)):
        rows.append(dict(branch=name, params=count_parameters(branch), macs=count_flops(branch, shape)["macs"],
                         out=out, naive_params=count_parameters(plain), naive_macs=count_flops(plain, shape)["macs"],
                         naive_out=naive_out, rf=receptive_field(branch, input_size=shape).size[0]))
    return rows


def inception_explorer(in_channels: int = 192, size: int = 28, widths: tuple[int, ...] = (64, 96, 128, 16, 32, 32),
                       max_width: int = 384) -> Explorer:
    """Sliders for the six widths of an Inception module (default: GoogLeNet's 3a, Table 1, on its 28x28
    map with 192 input channels); the figure compares each branch with and without its 1x1 reduction:
    parameters, multiply-adds, and the receptive field every branch reads."""
    _positive(in_channels=in_channels, size=size, max_width=max_width)
    if len(widths) != 6:
        raise ValueError(f"widths must hold six numbers (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), "
                         f"got {len(widths)}")
    _positive(**{f"widths[{i}]": w for i, w in enumerate(widths)})
    if max(widths) > max_width:
        raise ValueError(f"max_width ({max_width}) must be at least the largest of widths ({max(widths)})")
    inception_branch_costs(in_channels, *widths, size=size)  # checks size before any control is built
    names = ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj")
    labels = ("#1x1", "#3x3 red.", "#3x3", "#5x5 red.", "#5x5", "pool proj")
    controls = {n: widgets.IntSlider(value=w, min=1, max=max_width, description=label, continuous_update=False)
                for n, w, label in zip(names, widths, labels)}

    def draw(c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
        rows = inception_branch_costs(in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, size=size)
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), gridspec_kw=dict(width_ratios=(1, 1, 0.8)))
        x = np.arange(len(rows))
        for ax, key, unit, scale in ((axes[0], "params", "parameters (thousands)", 1e3),
                                     (axes[1], "macs", "multiply-adds (millions)", 1e6)):
            ax.bar(x - 0.2, [r[f"naive_{key}"] / scale for r in rows], 0.4, color="tab:grey", label="naive (Fig. 2a)")
            ax.bar(x + 0.2, [r[key] / scale for r in rows], 0.4, color="tab:blue", label="with 1x1 reductions (2b)")
            ax.set_xticks(x, BRANCHES)
            ax.set_ylabel(unit)
            total, naive = sum(r[key] for r in rows), sum(r[f"naive_{key}"] for r in rows)
            ax.set_title(f"total {total / scale:,.0f} vs naive {naive / scale:,.0f} ({total / naive:.0%})", fontsize=9)
        axes[0].legend(fontsize=7)
        axes[2].bar(x, [r["rf"] for r in rows], color="tab:green")
        for i, r in enumerate(rows):
            axes[2].text(i, r["rf"], f"{r['rf']}x{r['rf']}", ha="center", va="bottom", fontsize=8)
        axes[2].set_xticks(x, BRANCHES)
        axes[2].set_ylabel("receptive field (pixels)")
        axes[2].set_ylim(0, 6.5)
        axes[2].set_title("what each branch reads", fontsize=9)
        out, naive_out = sum(r["out"] for r in rows), sum(r["naive_out"] for r in rows)
        fig.suptitle(f"Inception module on {size}x{size}x{in_channels}: {out} output channels "
                     f"(naive: {naive_out})", fontsize=10)
        fig.tight_layout()
        return fig

    return Explorer("Inception module calculator", controls, draw,
                    hint="move #3x3 red. or #5x5 red. down and watch the cost of the 3x3 and 5x5 branches fall; "
                         "the receptive fields do not change")
