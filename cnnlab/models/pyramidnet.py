"""PyramidNet [han2017deep]: widen a little at every block instead of doubling at each stage.

A ResNet doubles its channels only where it halves the resolution, so a few blocks carry all the
widening. PyramidNet adds ``alpha / N`` channels at each of its N blocks ("additive widening"),
from 16 up to ``16 + alpha``, uses the "pyramid" block (bn conv bn relu conv bn, no ReLU after the
addition, see :mod:`cnnlab.layers.residual`) and a parameter-free shortcut: the identity, 2x2
average-pooled where the block subsamples, padded with zero channels.

``shakedrop`` adds ShakeDrop [yamada2019shakedrop] to every residual branch, with the linear
survival rule of stochastic depth: block l of L survives with 1 - (l / L) * shakedrop (the paper
uses 0.5 for the last block).

Layout follows the authors' released code (Torch and PyTorch): the stem is a 3x3 conv and batch
norm (no ReLU), block k of N outputs 16 + k * alpha / N channels (times 4 for bottlenecks), and
batch norm and ReLU precede the global pooling. One departure: that code rounds the width to the
nearest integer, we take the floor, because the floor is what reproduces the counts printed in
Table 4 of [han2017deep]: 1.74M for alpha=48 (printed 1.7M; rounding gives 1.77M) and, with
bottlenecks, 26.62M, 26.81M and 26.05M for 200/240, 236/220 and 272/200 (printed 26.6M, 26.8M,
26.0M; rounding gives 26.75M, 26.97M, 26.21M). The 110-layer alpha=270 net has 28.49M under either
rule, against a printed 28.3M; the authors' README prints 28.3M for it and for the multiplicative
alpha=27 net alike, and that one has 28.36M, so the figure is not this network's and that entry
carries no reference figure.
"""
from __future__ import annotations

from collections import OrderedDict
from math import floor

import torch
import torch.nn as nn

from ..layers.regularizers import ShakeDrop, survival_probabilities
from ..layers.residual import BasicBlock, Bottleneck
from .base import Network
from .registry import register

__all__ = ["PyramidNet"]


class PyramidNet(Network):
    """PyramidNet-``depth`` with widening factor ``alpha`` for 32x32 images.

    ``depth`` is 6n+2 with basic blocks or 9n+2 with bottlenecks (``bottleneck=True``): three
    stages of n blocks, the second and third starting with a stride-2 block.
    """

    def __init__(self, depth: int, alpha: int, num_classes: int = 10, bottleneck: bool = False,
                 shakedrop: float = 0.0, antialias: bool = False):
        super().__init__(in_channels=3, min_input_size=4)
        per_block = 9 if bottleneck else 6
        if not isinstance(depth, int) or depth < per_block + 2 or (depth - 2) % per_block:
            raise ValueError(f"a PyramidNet with {'bottleneck' if bottleneck else 'basic'} blocks has depth "
                             f"{per_block}n+2, got {depth!r}")
        if not isinstance(alpha, int) or alpha < 1:
            raise ValueError(f"the widening factor alpha must be a positive integer, got {alpha!r}")
        if not 0.0 <= shakedrop < 1.0:
            raise ValueError(f"shakedrop is the drop probability of the last block, in [0, 1), got {shakedrop!r}")
        n = (depth - 2) // per_block
        survival = survival_probabilities(3 * n, p_last=1.0 - shakedrop)
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
        stages = OrderedDict()
        channels, index = 16, 0
        for s in range(3):
            blocks = []
            for b in range(n):
                index += 1
                width = floor(16 + index * alpha / (3 * n))
                options = dict(stride=2 if (s > 0 and b == 0) else 1, variant="pyramid", shortcut="a_pool",
                               antialias=antialias, branch_drop=ShakeDrop(survival[index - 1]) if shakedrop else None)
                if bottleneck:
                    blocks.append(Bottleneck(channels, 4 * width, width=width, **options))
                else:
                    blocks.append(BasicBlock(channels, width, **options))
                channels = 4 * width if bottleneck else width
            stages[f"stage{s + 1}"] = nn.Sequential(*blocks)
        self.stages = nn.Sequential(stages)
        self.head = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def _add(name: str, depth: int, alpha: int, bottleneck: bool, shakedrop: float, source: str,
         figure: str | None, table: str, tags: tuple[str, ...], paper_key: str = "han2017deep") -> None:
    """Register ``name``; ``figure`` is the parameter count printed in ``table`` of ``source``."""
    def build(num_classes: int = 10, **options) -> PyramidNet:
        options.setdefault("shakedrop", shakedrop)
        return PyramidNet(depth, alpha, num_classes, bottleneck=bottleneck, **options)

    kind = "bottleneck" if bottleneck else "basic"
    build.__doc__ = (f"PyramidNet-{depth}, alpha={alpha}, {kind} blocks, on CIFAR [han2017deep]"
                     + (f", ShakeDrop with last-block drop {shakedrop} [yamada2019shakedrop]" if shakedrop else "")
                     + (f" ({figure}M)." if figure else "."))
    reference = dict(reference=f"paper: {source}, {table} ({figure}M)",
                     reference_params=round(float(figure) * 1_000_000), reference_classes=10) if figure else {}
    register(name, paper=paper_key, family="pyramidnet", tags=("chapter06",) + tags, **reference)(build)


_add("pyramidnet110_a48", 110, 48, False, 0.0, "han2017deep", "1.7", "Table 4", ())
_add("pyramidnet110_a270", 110, 270, False, 0.0, "han2017deep", None, "", ("large",))
_add("pyramidnet272_a200", 272, 200, True, 0.0, "han2017deep", "26.0", "Table 4", ("large",))
_add("pyramidnet20_a24", 20, 24, False, 0.0, "han2017deep", None, "", ())
_add("pyramidnet272_a200_shakedrop", 272, 200, True, 0.5, "han2017deep", "26.0", "Table 4",
     ("chapter12", "regularizer", "large"), paper_key="yamada2019shakedrop")
_add("pyramidnet20_a24_shakedrop", 20, 24, False, 0.5, "han2017deep", None, "", ("chapter12", "regularizer"),
     paper_key="yamada2019shakedrop")
