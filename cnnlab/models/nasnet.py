"""NASNet-A [zoph2018learning]: the cells found by architecture search, stacked by hand.

The two cells of NASNet-A ([zoph2018learning] Fig. 4, as released in the official TensorFlow
code) are written as :class:`cnnlab.layers.Genotype` s over the search space of
:mod:`cnnlab.layers.nas_ops`. The CIFAR network ("N @ P"): a 3x3 conv stem with 3F channels and
BN, then N normal cells, a reduction cell, N normal cells, a reduction cell, N normal cells;
every reduction doubles the cell width F, so the last normal cells give P = 6 x 4F channels;
ReLU, global average pooling, linear classifier.

Departures: no auxiliary head and no ScheduledDropPath (training-time regularizers the paper adds
for its best CIFAR numbers); without the auxiliary head ``nasnet_a_6_768`` has 3.33M parameters,
the paper's 3.3M. After a reduction cell, the next cell's older input h_{i-1} is brought to the
new resolution by a factorized reduction, as the official code does.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.nas_ops import Genotype, NASCell
from .base import Network
from .registry import register

__all__ = ["NASNet", "NASNET_A_NORMAL", "NASNET_A_REDUCTION"]

# states: 0 = h_{i-1}, 1 = h_i, 2.. = blocks
NASNET_A_NORMAL = Genotype(
    blocks=((("sep_conv_5x5", 1), ("sep_conv_3x3", 0)),
            (("sep_conv_5x5", 0), ("sep_conv_3x3", 0)),
            (("avg_pool_3x3", 1), ("identity", 0)),
            (("avg_pool_3x3", 0), ("avg_pool_3x3", 0)),
            (("sep_conv_3x3", 1), ("identity", 1))),
    concat=(0, 2, 3, 4, 5, 6))
NASNET_A_REDUCTION = Genotype(
    blocks=((("sep_conv_5x5", 1), ("sep_conv_7x7", 0)),
            (("max_pool_3x3", 1), ("sep_conv_7x7", 0)),
            (("avg_pool_3x3", 1), ("sep_conv_5x5", 0)),
            (("identity", 3), ("avg_pool_3x3", 2)),
            (("sep_conv_3x3", 2), ("max_pool_3x3", 1))),
    concat=(3, 4, 5, 6))


class NASNet(Network):
    """CIFAR NASNet: ``repeats`` (N) normal cells per stage, cell width ``channels`` (F) in the first.

    ``normal``/``reduction`` genotypes default to NASNet-A; chapter 10 passes searched ones.
    Children: ``stem``, ``cells`` (cell1..), ``head``. Output channels P = len(normal concat) * 4F.
    """

    def __init__(self, repeats: int = 6, channels: int = 32, num_classes: int = 10,
                 normal: Genotype = NASNET_A_NORMAL, reduction: Genotype = NASNET_A_REDUCTION,
                 stem_multiplier: int = 3):
        if not isinstance(repeats, int) or repeats < 1 or not isinstance(channels, int) or channels < 2:
            raise ValueError(f"repeats N must be a positive integer and channels F an integer >= 2, got "
                             f"{repeats!r}, {channels!r}")
        super().__init__(in_channels=3, min_input_size=8)
        stem_channels = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(3, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels))
        cells = OrderedDict()
        prev_prev, prev, width, prev_reduced = stem_channels, stem_channels, channels, False
        for stage in range(3):
            if stage > 0:
                width *= 2
                cell = NASCell(reduction, prev_prev, prev, width, reduction=True)
                cells[f"cell{len(cells) + 1}"] = cell
                prev_prev, prev, prev_reduced = prev, cell.out_channels, True
            for _ in range(repeats):
                cell = NASCell(normal, prev_prev, prev, width, prev_reduced=prev_reduced)
                cells[f"cell{len(cells) + 1}"] = cell
                prev_prev, prev, prev_reduced = prev, cell.out_channels, False
        self.cells = nn.Sequential(cells)
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(prev, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1)


@register("nasnet_a_6_768", paper="zoph2018learning", family="nasnet",
          reference="paper: zoph2018learning, Table 1 (3.3M)", reference_params=3_300_000, reference_classes=10,
          tags=("chapter10", "large"))
def nasnet_a_6_768(num_classes: int = 10) -> NASNet:
    """NASNet-A (6 @ 768) on CIFAR-10 [zoph2018learning] Table 1: N=6, F=32."""
    return NASNet(6, 32, num_classes)


@register("nasnet_a_small", paper="zoph2018learning", family="nasnet", tags=("chapter10",))
def nasnet_a_small(num_classes: int = 10) -> NASNet:
    """NASNet-A (2 @ 384): N=2, F=16, small enough to train on a CPU."""
    return NASNet(2, 16, num_classes)
