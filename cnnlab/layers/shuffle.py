"""Channel shuffle [zhang2018shufflenet] and the ShuffleNet V2 unit [ma2018shufflenet].

A grouped 1x1 convolution is cheap, but stacked grouped convolutions never exchange information between
groups: output group ``i`` sees input group ``i`` only. ShuffleNet interleaves the channels between them,
*channel shuffle*: reshape the C channels to (groups, C / groups), transpose, flatten, so that each new
group holds one channel of every old group ([zhang2018shufflenet] Fig. 1).

ShuffleNet V2 ([ma2018shufflenet] Fig. 3c/d) drops the grouped 1x1 convs (its guideline G2: many groups
cost memory access) and *splits* the channels instead: half pass untouched, half go through 1x1 conv ->
depthwise 3x3 -> 1x1 conv; the two halves are concatenated and shuffled, so the next unit's split mixes
them. A down-sampling unit sends the whole input through two strided branches and doubles the width.
The layout (and the order of the layers) is torchvision's ``shufflenet_v2``, which ours equals.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .conv import ConvBNAct

__all__ = ["ChannelShuffle", "ShuffleV2Unit", "channel_shuffle"]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``x`` (N, C, H, W) across ``groups`` groups: channel ``g * (C // groups) + i``
    moves to position ``i * groups + g``."""
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class ChannelShuffle(nn.Module):
    """:func:`channel_shuffle` as a layer (so hooks and ``torch.fx`` see it)."""

    def __init__(self, groups: int):
        super().__init__()
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"groups must be a positive integer, got {groups!r}")
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ShuffleV2Unit(nn.Module):
    """ShuffleNet V2 unit: channel split, [identity | 1x1 -> dw 3x3 -> 1x1] (stride 1), or
    [dw 3x3/2 -> 1x1 | 1x1 -> dw 3x3/2 -> 1x1] (stride 2); concatenate; shuffle with 2 groups.

    Each branch gives ``out_channels // 2`` channels. With stride 1 the unit keeps its width
    (``in_channels == out_channels``). Children: ``branch1`` (the down-sampling unit's left branch,
    absent with stride 1), ``branch2``, ``shuffle``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"a ShuffleNet V2 unit has stride 1 or 2, got {stride!r}")
        if not isinstance(out_channels, int) or out_channels < 2 or out_channels % 2:
            raise ValueError(f"out_channels must be an even positive integer (two halves), got {out_channels!r}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f"a stride-1 unit keeps its width: in_channels ({in_channels}) must equal "
                             f"out_channels ({out_channels})")
        half = out_channels // 2
        self.stride = stride
        if stride == 2:
            self.branch1 = nn.Sequential(ConvBNAct(in_channels, in_channels, 3, 2, groups=in_channels, act=None),
                                         ConvBNAct(in_channels, half, 1))
        self.branch2 = nn.Sequential(ConvBNAct(in_channels if stride == 2 else half, half, 1),
                                     ConvBNAct(half, half, 3, stride, groups=half, act=None),
                                     ConvBNAct(half, half, 1))
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            kept, processed = x.chunk(2, dim=1)
            out = torch.cat([kept, self.branch2(processed)], dim=1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], dim=1)
        return self.shuffle(out)
