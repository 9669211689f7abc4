"""Feature reuse in a dense block [huang2017densely] (Fig. 5): how strongly each layer reads each earlier one.

Layer l of a dense block reads the concatenation [x_0, x_1, ..., x_{l-1}]: the block's input x_0
(``in_channels`` maps) and the ``growth_rate`` maps of each earlier layer. Its first convolution (the
1x1 bottleneck in DenseNet-BC, the 3x3 otherwise) therefore has one slice of input channels per
source. The paper's heat map colours pixel (s, l) by the average absolute weight of that slice:
large where layer l relies on what layer s made, near zero where it ignores it. The transition after
the block reads all sources too and can be added as a last target.
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers.dense import DenseBlock, Transition

__all__ = ["feature_reuse"]


def _first_conv(layer) -> nn.Conv2d:
    if isinstance(layer, Transition):
        return next(m for m in layer if isinstance(m, nn.Conv2d))
    return layer.conv1 if layer.bottleneck else layer.conv2


def feature_reuse(block: DenseBlock, transition: Transition | None = None) -> torch.Tensor:
    """Matrix ``[target, source]`` of the mean absolute weight with which each target reads each source.

    Sources: 0 is the block's input, s = 1..L the output of layer s. Targets: row l-1 is layer l
    (1..L), and a last row for ``transition`` when given. Entries where a target does not see a source
    (s >= l) are NaN.
    """
    if not isinstance(block, DenseBlock):
        raise TypeError(f"block must be a cnnlab.layers.DenseBlock, got {type(block).__name__}")
    if transition is not None and not isinstance(transition, Transition):
        raise TypeError(f"transition must be a cnnlab.layers.Transition or None, got {type(transition).__name__}")
    layers = list(block.layers)
    growth = layers[0].conv2.out_channels
    in_channels = _first_conv(layers[0]).in_channels
    if transition is not None and _first_conv(transition).in_channels != block.out_channels:
        raise ValueError(f"transition reads {_first_conv(transition).in_channels} channels but the block makes "
                         f"{block.out_channels}: pass the transition that follows this block")
    targets = layers + ([transition] if transition is not None else [])
    bounds = [0, in_channels] + [in_channels + growth * s for s in range(1, len(layers) + 1)]
    matrix = torch.full((len(targets), len(layers) + 1), float("nan"))
    with torch.no_grad():
        for row, target in enumerate(targets):
            weight = _first_conv(target).weight.abs()
            sources = weight.shape[1]
            for s in range(len(bounds) - 1):
                if bounds[s + 1] > sources:
                    break
                matrix[row, s] = weight[:, bounds[s]:bounds[s + 1]].mean()
    return matrix
