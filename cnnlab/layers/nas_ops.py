"""The NASNet search space [zoph2018learning]: the operations a cell may use, and the cell itself.

A controller searches for a *cell*: two inputs (the outputs h_{i-1} and h_i of the two previous
cells, after a 1x1 conv to the cell's width), then B = 5 blocks, each picking two existing states,
applying one operation to each and adding the results; the unused block outputs are concatenated.
A *normal* cell keeps the resolution; a *reduction* cell applies its operations on the two inputs
with stride 2. :data:`SEARCH_SPACE` lists the 13 operations of [zoph2018learning] §3, name ->
constructor ``op(channels, stride) -> nn.Module`` (channels in == channels out). Convolutions
follow NASNet's ReLU-conv-BN order; a separable conv is applied twice, as in the paper's Appendix.
:class:`NASCell` builds any cell from a :class:`Genotype`, so a search (chapter 10) only writes genotypes.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .separable import DepthwiseSeparableConv

__all__ = ["SEARCH_SPACE", "Genotype", "NASCell", "FactorizedReduce", "ReLUConvBN", "SeparableStack"]


class ReLUConvBN(nn.Sequential):
    """ReLU, then the given convs (no bias), then BatchNorm of ``channels``."""

    def __init__(self, channels: int, *convs: nn.Conv2d):
        super().__init__(nn.ReLU(), *convs, nn.BatchNorm2d(channels))


def _conv(cin: int, cout: int, kernel, stride=1, padding=0, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, bias=False)


class SeparableStack(nn.Sequential):
    """NASNet's "separable kxk": (ReLU, separable conv, BN) twice; only the first has the stride."""

    def __init__(self, channels: int, kernel_size: int, stride: int = 1):
        super().__init__(nn.ReLU(), DepthwiseSeparableConv(channels, channels, kernel_size, stride),
                         nn.ReLU(), DepthwiseSeparableConv(channels, channels, kernel_size, 1))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing pixels: ReLU, two 1x1/2 convs on the image and on the
    image shifted by one pixel, concatenated, BN (NASNet's reduction of a skip input)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.relu = nn.ReLU()
        self.path1 = _conv(in_channels, out_channels // 2, 1, 2)
        self.path2 = _conv(in_channels, out_channels - out_channels // 2, 1, 2)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.path1(x), self.path2(shifted)], dim=1))


def _identity(c: int, stride: int) -> nn.Module:
    """The identity; on an input of a reduction cell (stride 2), a :class:`FactorizedReduce`, as in DARTS
    [liu2019darts]. Ours: NASNet's released code uses ReLU, a strided 1x1 conv and BN there; the factorized
    form keeps every pixel (two shifted 1x1 convs) for the same parameters."""
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c)


SEARCH_SPACE: dict[str, Callable[[int, int], nn.Module]] = {
    "identity": _identity,
    "conv_1x3_3x1": lambda c, s: ReLUConvBN(c, _conv(c, c, (1, 3), (1, s), (0, 1)), _conv(c, c, (3, 1), (s, 1), (1, 0))),
    "conv_1x7_7x1": lambda c, s: ReLUConvBN(c, _conv(c, c, (1, 7), (1, s), (0, 3)), _conv(c, c, (7, 1), (s, 1), (3, 0))),
    "dil_conv_3x3": lambda c, s: ReLUConvBN(c, _conv(c, c, 3, s, 2, dilation=2)),
    "avg_pool_3x3": lambda c, s: nn.AvgPool2d(3, s, 1, count_include_pad=False),
    "max_pool_3x3": lambda c, s: nn.MaxPool2d(3, s, 1),
    "max_pool_5x5": lambda c, s: nn.MaxPool2d(5, s, 2),
    "max_pool_7x7": lambda c, s: nn.MaxPool2d(7, s, 3),
    "conv_1x1": lambda c, s: ReLUConvBN(c, _conv(c, c, 1, s)),
    "conv_3x3": lambda c, s: ReLUConvBN(c, _conv(c, c, 3, s, 1)),
    "sep_conv_3x3": lambda c, s: SeparableStack(c, 3, s),
    "sep_conv_5x5": lambda c, s: SeparableStack(c, 5, s),
    "sep_conv_7x7": lambda c, s: SeparableStack(c, 7, s),
}


class Genotype(NamedTuple):
    """A cell: ``blocks`` = five ((op, input), (op, input)) pairs, ``concat`` = states to concatenate.

    States are numbered 0 = h_{i-1} (the older input), 1 = h_i, then 2..6 = the blocks' outputs.
    """

    blocks: tuple[tuple[tuple[str, int], tuple[str, int]], ...]
    concat: tuple[int, ...]


class NASCell(nn.Module):
    """One cell of ``genotype`` with ``channels`` per state; output ``len(concat) * channels`` channels.

    ``prev_prev_channels``/``prev_channels`` are the widths of h_{i-1}/h_i; ``prev_reduced`` says h_{i-1}
    has twice the resolution of h_i (the previous cell was a reduction), so it is factorized-reduced.
    """

    def __init__(self, genotype: Genotype, prev_prev_channels: int, prev_channels: int, channels: int,
                 reduction: bool = False, prev_reduced: bool = False):
        super().__init__()
        self.inputs: list[int] = []
        ops = []
        for b, pair in enumerate(genotype.blocks):
            for op_name, index in pair:
                if op_name not in SEARCH_SPACE:
                    raise ValueError(f"unknown operation {op_name!r}; expected one of {tuple(SEARCH_SPACE)}")
                if not 0 <= index < b + 2:
                    raise ValueError(f"block {b} may read states 0..{b + 1}, got {index}")
                ops.append(SEARCH_SPACE[op_name](channels, 2 if reduction and index < 2 else 1))
                self.inputs.append(index)
        if any(not 0 <= i < len(genotype.blocks) + 2 for i in genotype.concat) or not genotype.concat:
            raise ValueError(f"concat must name existing states, got {genotype.concat}")
        if reduction and any(i < 2 for i in genotype.concat):
            raise ValueError("a reduction cell cannot concatenate its full-resolution inputs")
        self.ops = nn.ModuleList(ops)
        self.concat = tuple(genotype.concat)
        self.out_channels = len(self.concat) * channels
        if prev_reduced:
            self.preprocess0 = FactorizedReduce(prev_prev_channels, channels)
        elif prev_prev_channels != channels:
            self.preprocess0 = ReLUConvBN(channels, _conv(prev_prev_channels, channels, 1))
        else:
            self.preprocess0 = nn.Identity()
        self.preprocess1 = ReLUConvBN(channels, _conv(prev_channels, channels, 1))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for b in range(len(self.ops) // 2):
            left, right = 2 * b, 2 * b + 1
            states.append(self.ops[left](states[self.inputs[left]]) + self.ops[right](states[self.inputs[right]]))
        return torch.cat([states[i] for i in self.concat], dim=1)
