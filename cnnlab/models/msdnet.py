"""MSDNet [huang2018multiscale]: a multi-scale dense network with a classifier after every block.

Early exits need coarse, high-level features early. MSDNet keeps feature maps at three scales
(32x32, 16x16, 8x8 on CIFAR) from its first layer on. Each layer adds ``growth`` x (1, 2, 4) new
channels at each scale and concatenates them to its input (dense connectivity, as DenseNet): at
the finest scale from a conv of that scale, at the coarser ones half from a conv of the same scale
and half from a strided conv of the next finer scale. Each conv is a 1x1 bottleneck and a 3x3
conv, both conv BN ReLU. The first block has ``base`` layers and each later block ``step``; a
classifier on the coarsest scale closes every block (two 3x3/2 convs of 128 channels, average
pooling, linear).

The model returns the list of all ``exits`` logits, earliest first, in training and in eval (tag
"multi-exit"): train with the sum of their losses, and at test time stop at the first exit that
is confident enough.

The last layers of the network compute only the scales that something after them reads: the
last layer only the coarsest, the one before it the two coarser scales.

Departures from the paper's CIFAR network, to keep it small and readable: no transition layers
(the paper compresses channels by half with 1x1 convs and drops the finest scale earlier, block
by block), so channels grow over the whole depth; the bottleneck width is min(input, 4 x output).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..layers.conv import ConvBNAct
from ..layers.msd import SCALE_FACTORS, MSDLayer
from .base import Network
from .registry import register

__all__ = ["MSDNet"]

def _classifier(in_channels: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(ConvBNAct(in_channels, 128, 3, 2), ConvBNAct(128, 128, 3, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))


class MSDNet(Network):
    """MSDNet for 32x32 images with ``exits`` blocks: ``base`` layers, then ``step`` layers per block.

    ``channels`` is the width of the first layer at the finest scale (x2, x4 at the coarser ones).
    """

    def __init__(self, num_classes: int = 10, exits: int = 5, base: int = 4, step: int = 2, growth: int = 6,
                 channels: int = 16):
        super().__init__(in_channels=3, min_input_size=8)
        for name, value in (("exits", exits), ("base", base), ("step", step), ("growth", growth),
                            ("channels", channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        widths = [channels * f for f in SCALE_FACTORS]
        first, previous = [], 3
        for s, width in enumerate(widths):
            first.append(ConvBNAct(previous, width, 3, 1 if s == 0 else 2))
            previous = width
        self.first = nn.ModuleList(first)
        blocks, classifiers = [], []
        depths = [base] + [step] * (exits - 1)
        remaining = sum(depths)  # layers still to build; the last ones keep only the scales read later
        for depth in depths:
            layers = []
            for _ in range(depth):
                remaining -= 1
                keep = min(len(SCALE_FACTORS), remaining + 1)
                layers.append(MSDLayer(widths, growth, skip=max(len(widths) - keep, 0)))
                widths = layers[-1].out_channels
            blocks.append(nn.Sequential(*layers))
            classifiers.append(_classifier(widths[-1], num_classes))
        self.blocks = nn.ModuleList(blocks)
        self.exits = nn.ModuleList(classifiers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        xs = []
        for conv in self.first:
            x = conv(x)
            xs.append(x)
        logits = []
        for block, classifier in zip(self.blocks, self.exits):
            xs = block(xs)
            logits.append(classifier(xs[-1]))
        return logits


@register("msdnet", paper="huang2018multiscale", family="msdnet", tags=("chapter15", "multi-exit"))
def msdnet(num_classes: int = 10, *, exits: int = 5, base: int = 4, step: int = 2, growth: int = 6,
           channels: int = 16) -> MSDNet:
    """A small CIFAR MSDNet (5 exits, base 4, step 2, growth 6); returns a list of 5 logits."""
    return MSDNet(num_classes, exits=exits, base=base, step=step, growth=growth, channels=channels)
