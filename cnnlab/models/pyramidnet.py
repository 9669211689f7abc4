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
from ..layers.residual import PyramidBlock, PyramidBottleneck
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
                options = dict(stride=2 if (s > 0 and b == 0) else 1, shortcut="a_pool", antialias=antialias,
                               branch_drop=ShakeDrop(survival[index - 1]) if shakedrop else None)
                if bottleneck:
                    blocks.append(PyramidBottleneck(channels, 4 * width, width=width, **options))
                else:
                    blocks.append(PyramidBlock(channels, width, **options))
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


@register("pyramidnet110_a48", paper="han2017deep", family="pyramidnet", tags=("chapter06",),
          reference="paper: han2017deep, Table 4 (1.7M)", reference_params=1_700_000, reference_classes=10)
def pyramidnet110_a48(num_classes: int = 10, *, shakedrop: float = 0.0, antialias: bool = False) -> PyramidNet:
    """PyramidNet-110, alpha=48, basic blocks, on CIFAR [han2017deep] (1.7M)."""
    return PyramidNet(110, 48, num_classes, shakedrop=shakedrop, antialias=antialias)


@register("pyramidnet110_a270", paper="han2017deep", family="pyramidnet", tags=("chapter06", "large"))
def pyramidnet110_a270(num_classes: int = 10, *, shakedrop: float = 0.0, antialias: bool = False) -> PyramidNet:
    """PyramidNet-110, alpha=270, basic blocks, on CIFAR [han2017deep] (no reference figure, module docstring)."""
    return PyramidNet(110, 270, num_classes, shakedrop=shakedrop, antialias=antialias)


@register("pyramidnet272_a200", paper="han2017deep", family="pyramidnet", tags=("chapter06", "large"),
          reference="paper: han2017deep, Table 4 (26.0M)", reference_params=26_000_000, reference_classes=10)
def pyramidnet272_a200(num_classes: int = 10, *, shakedrop: float = 0.0, antialias: bool = False) -> PyramidNet:
    """PyramidNet-272, alpha=200, bottleneck blocks, on CIFAR [han2017deep] (26.0M)."""
    return PyramidNet(272, 200, num_classes, bottleneck=True, shakedrop=shakedrop, antialias=antialias)


@register("pyramidnet20_a24", paper="han2017deep", family="pyramidnet", tags=("chapter06",))
def pyramidnet20_a24(num_classes: int = 10, *, shakedrop: float = 0.0, antialias: bool = False) -> PyramidNet:
    """PyramidNet-20, alpha=24, basic blocks, on CIFAR [han2017deep]: a small form for quick runs."""
    return PyramidNet(20, 24, num_classes, shakedrop=shakedrop, antialias=antialias)


@register("pyramidnet272_a200_shakedrop", paper="yamada2019shakedrop", family="pyramidnet",
          tags=("chapter06", "chapter12", "regularizer", "large"),
          reference="paper: han2017deep, Table 4 (26.0M)", reference_params=26_000_000, reference_classes=10)
def pyramidnet272_a200_shakedrop(num_classes: int = 10, *, shakedrop: float = 0.5,
                                 antialias: bool = False) -> PyramidNet:
    """PyramidNet-272, alpha=200, bottleneck blocks, with ShakeDrop [yamada2019shakedrop], last-block drop 0.5."""
    return PyramidNet(272, 200, num_classes, bottleneck=True, shakedrop=shakedrop, antialias=antialias)


@register("pyramidnet20_a24_shakedrop", paper="yamada2019shakedrop", family="pyramidnet",
          tags=("chapter06", "chapter12", "regularizer"))
def pyramidnet20_a24_shakedrop(num_classes: int = 10, *, shakedrop: float = 0.5, antialias: bool = False) -> PyramidNet:
    """PyramidNet-20, alpha=24, with ShakeDrop [yamada2019shakedrop], last-block drop 0.5."""
    return PyramidNet(20, 24, num_classes, shakedrop=shakedrop, antialias=antialias)
