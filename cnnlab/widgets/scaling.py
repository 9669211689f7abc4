"""Explorer of compound scaling (chapter 11) [tan2019efficientnet].

Choose the depth, width and resolution factors alpha, beta, gamma and the coefficient phi: the chapter's CIFAR
base (:func:`cnnlab.models.efficientnet.efficientnet_cifar`) is scaled to depth alpha^phi, width beta^phi and
resolution 16 gamma^phi with B0's rounding rules, built on the ``meta`` device (nothing is allocated) and
counted. The left panel puts the counted multiply-adds for phi = 0 to 3 beside the formula
(alpha beta^2 gamma^2)^phi and the paper's target 2^phi; the right panel draws the network at the chosen phi,
one box per stage (as wide as its blocks, as tall as its channels), with the resolution it sees.
"""
from __future__ import annotations

import functools

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from ..analysis.complexity import count_flops
from ..models.efficientnet import CIFAR_BASE_RESOLUTION, compound_scaling, efficientnet_cifar
from .base import Explorer

__all__ = ["scaling_explorer"]

PHIS = (0, 1, 2, 3)


@functools.lru_cache(maxsize=256)
def _network(alpha: float, beta: float, gamma: float, phi: int) -> dict:
    depth, width, resolution = compound_scaling(phi, alpha, beta, gamma, base_resolution=CIFAR_BASE_RESOLUTION)
    with torch.device("meta"):
        model = efficientnet_cifar(width, depth, resolution)
    stages = [(len(stage), stage[-1].project.conv.out_channels) for stage in model.stages]
    return {"macs": count_flops(model)["macs"], "stages": stages, "resolution": resolution,
            "depth": depth, "width": width}


def scaling_explorer(alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15, phi: int = 2) -> Explorer:
    """Sliders for alpha, beta, gamma (1-2, 1-1.5, 1-1.5) and phi (0-3); defaults: the paper's triple at phi 2."""
    controls = {
        "alpha": widgets.FloatSlider(value=alpha, min=1.0, max=2.0, step=0.05, description="depth alpha"),
        "beta": widgets.FloatSlider(value=beta, min=1.0, max=1.5, step=0.05, description="width beta"),
        "gamma": widgets.FloatSlider(value=gamma, min=1.0, max=1.5, step=0.05, description="resolution gamma"),
        "phi": widgets.IntSlider(value=phi, min=0, max=3, step=1, description="phi"),
    }

    def draw(alpha, beta, gamma, phi):
        alpha, beta, gamma = (round(v, 2) for v in (alpha, beta, gamma))
        counted = [_network(alpha, beta, gamma, p) for p in PHIS]
        base = counted[0]["macs"]
        product = alpha * beta ** 2 * gamma ** 2
        fig, (ax, net) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 3]})
        ax.plot(PHIS, [c["macs"] / base for c in counted], "o-", color="tab:blue", label="counted on the built network")
        ax.plot(PHIS, [product ** p for p in PHIS], "--", color="tab:orange",
                label=f"formula ({alpha:.2f} x {beta:.2f}² x {gamma:.2f}²)^phi = {product:.2f}^phi")
        ax.plot(PHIS, [2 ** p for p in PHIS], ":", color="gray", label="the paper's target 2^phi")
        ax.plot([phi], [counted[phi]["macs"] / base], "o", markersize=12, markerfacecolor="none", color="black")
        ax.set_yscale("log", base=2)
        ax.set_xticks(PHIS)
        ax.set_xlabel("compound coefficient phi")
        ax.set_ylabel("multiply-adds relative to the base (log scale)")
        ax.set_title("FLOPs grow with phi", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        chosen = counted[phi]
        left = 0
        for s, (blocks, channels) in enumerate(chosen["stages"]):
            net.add_patch(plt.Rectangle((left, 0), blocks, channels, facecolor=f"C{s}", alpha=0.6, edgecolor="black"))
            net.text(left + blocks / 2, channels, f"{blocks} x {channels}", ha="center", va="bottom", fontsize=8)
            left += blocks
        tallest = max(channels for _, channels in chosen["stages"])
        net.set_xlim(0, max(left, 8) + 0.5)
        net.set_ylim(0, max(tallest, 100) * 1.2)
        net.set_xlabel("MBConv blocks, stage after stage")
        net.set_ylabel("output channels of the stage")
        net.set_title(f"phi = {phi}: depth x{chosen['depth']:.2f}, width x{chosen['width']:.2f}, input "
                      f"{chosen['resolution']}x{chosen['resolution']}: {chosen['macs'] / 1e6:.1f}M multiply-adds "
                      f"({chosen['macs'] / base:.2f}x the base)", fontsize=9)
        fig.tight_layout()
        return fig

    return Explorer("Compound scaling of the chapter's CIFAR base", controls, draw,
                    hint="move one factor to its maximum with the others at 1, then share the same growth among all "
                         "three: the counted FLOPs follow alpha x beta² x gamma², up to the rounding of layers and "
                         "channels")
