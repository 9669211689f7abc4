"""Explorer of MobileNet's two multipliers (chapter 08) [howard2017mobilenets].

The width multiplier ``alpha`` thins every layer to ``int(alpha * c)`` channels; the resolution multiplier
``rho`` shrinks the input (224 -> ``rho * 224``). A layer's multiply-adds scale with ``alpha^2 rho^2`` (with
``alpha`` in and out channels, ``rho^2`` positions), its parameters with ``alpha^2`` and not with ``rho``.
:func:`multiplier_explorer` counts the ImageNet MobileNet at the chosen multipliers (built on the ``meta``
device, so nothing is allocated), places it among the paper's measured networks (Tables 6 and 7, ImageNet
top-1 accuracy against multiply-adds) and splits its work by kind of layer, beside the paper's Table 2.
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from ..analysis.efficiency import work_by_kind
from ..models.mobilenet import MobileNetV1
from .base import Explorer

__all__ = ["PAPER_WIDTHS", "PAPER_RESOLUTIONS", "PAPER_TABLE_2", "multiplier_explorer"]

PAPER_WIDTHS = {1.0: (569, 4.2, 70.6), 0.75: (325, 2.6, 68.4), 0.5: (149, 1.3, 63.7), 0.25: (41, 0.5, 50.6)}
"""[howard2017mobilenets] Table 6, at 224x224: alpha -> (million mult-adds, million parameters, top-1 %)."""

PAPER_RESOLUTIONS = {224: (569, 4.2, 70.6), 192: (418, 4.2, 69.1), 160: (290, 4.2, 67.2), 128: (186, 4.2, 64.4)}
"""[howard2017mobilenets] Table 7, at alpha = 1: input side -> (million mult-adds, million parameters, top-1 %)."""

PAPER_TABLE_2 = {"pointwise": (94.86, 74.59), "depthwise": (3.06, 1.06), "standard": (1.19, 0.02),
                 "linear": (0.18, 24.33)}
"""[howard2017mobilenets] Table 2, 1.0 MobileNet-224: kind -> (% of mult-adds, % of parameters)."""

_COLOURS = {"pointwise": "tab:blue", "depthwise": "tab:orange", "standard": "tab:green", "linear": "tab:purple",
            "grouped": "tab:red"}


def _counted(alpha: float, resolution: int) -> dict:
    with torch.device("meta"):
        model = MobileNetV1(1000, alpha=alpha)
    return work_by_kind(model, (1, 3, resolution, resolution))


def multiplier_explorer(alpha: float = 1.0, resolution: int = 224) -> Explorer:
    """Sliders for ``alpha`` (0.25-1) and the input side (96-224); the figure shows the counted network."""
    controls = {"alpha": widgets.FloatSlider(value=alpha, min=0.25, max=1.0, step=0.05, description="width alpha"),
                "resolution": widgets.IntSlider(value=resolution, min=96, max=224, step=16, description="input side")}

    def draw(alpha, resolution):
        work = _counted(alpha, resolution)
        macs = sum(w["macs"] for w in work.values()) / 1e6
        params = sum(w["params"] for w in work.values()) / 1e6
        fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
        for table, label, marker in ((PAPER_WIDTHS, "paper, width alpha at 224 (Table 6)", "o-"),
                                     (PAPER_RESOLUTIONS, "paper, input side at alpha 1 (Table 7)", "s-")):
            points = sorted(table.values())
            ax.plot([p[0] for p in points], [p[2] for p in points], marker, label=label, alpha=0.8)
        ax.axvline(macs, color="black", linestyle="--", linewidth=1,
                   label=f"counted here: alpha {alpha:.2f}, side {resolution}")
        ax.text(macs, 52, f" {macs:,.0f}M mult-adds\n {params:.2f}M parameters", fontsize=8, va="bottom")
        ax.set_xscale("log")
        ax.set_xticks([25, 50, 100, 200, 400, 800], ["25", "50", "100", "200", "400", "800"])
        ax.minorticks_off()
        ax.set_xlabel("multiply-adds per image (millions, log scale)")
        ax.set_ylabel("ImageNet top-1 accuracy (%)")
        ax.set_ylim(45, 75)
        ax.set_title("MobileNet v1: the paper's networks and the one counted here", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        kinds = [k for k in PAPER_TABLE_2 if work[k]["macs"] or work[k]["params"]]
        total = {"macs": macs * 1e6, "params": params * 1e6}
        for row, (measure, column) in enumerate((("macs", 0), ("params", 1))):
            left = 0.0
            for kind in kinds:
                share = 100 * work[kind][measure] / total[measure]
                bars.barh(row * 2 + 1, share, left=left, color=_COLOURS[kind], label=kind if row == 0 else None)
                paper = PAPER_TABLE_2[kind][column]
                bars.barh(row * 2, paper, left=sum(PAPER_TABLE_2[k][column] for k in kinds[:kinds.index(kind)]),
                          color=_COLOURS[kind], alpha=0.45)
                left += share
        bars.set_yticks([0, 1, 2, 3], ["mult-adds, paper", "mult-adds, here", "parameters, paper", "parameters, here"],
                        fontsize=8)
        bars.set_xlabel("share of the network (%)")
        bars.set_xlim(0, 100)
        bars.set_title("where the work is (paper: Table 2, alpha 1, side 224)", fontsize=9)
        bars.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
        fig.tight_layout()
        return fig

    return Explorer("MobileNet's width and resolution multipliers", controls, draw,
                    hint="halve alpha: mult-adds and parameters fall about 4x; lower the input side: mult-adds fall "
                         "with its square, parameters stay")
