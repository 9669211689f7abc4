"""The layer of a multi-scale dense network, MSDNet [huang2018multiscale], used by :mod:`cnnlab.models.msdnet`.

Each layer adds ``growth`` x (1, 2, 4) new channels at each scale and concatenates them to its
input: at the finest scale from a conv of that scale, at the coarser ones half from a conv of the
same scale and half from a strided conv of the next finer scale (1x1 bottleneck then 3x3 conv,
both conv BN ReLU; bottleneck width min(input, 4 x output)).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .conv import ConvBNAct

__all__ = ["MSDLayer", "SCALE_FACTORS"]

SCALE_FACTORS = (1, 2, 4)  # channels per scale relative to the finest, and growth multipliers


def _bottleneck_conv(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    inner = min(in_channels, 4 * out_channels)
    return nn.Sequential(ConvBNAct(in_channels, inner, 1), ConvBNAct(inner, out_channels, 3, stride))


class MSDLayer(nn.Module):
    """One layer over the scales it is given, finest first, the last being the coarsest.

    Input scale i has ``in_channels[i]`` channels and gains ``growth`` x its scale factor. The
    first ``skip`` input scales give no output (nothing after this layer reads them; they still
    feed the strided conv of the next coarser scale). The finest scale it is given, when it gives
    an output, has no finer scale to read: it gains all its new channels from one conv of its own
    scale (``finest``), the network's finest scale always, a coarser one when the layer is given
    no finer scale.
    """

    def __init__(self, in_channels: list[int], growth: int, skip: int = 0):
        super().__init__()
        first = len(SCALE_FACTORS) - len(in_channels)  # scale index of in_channels[0]
        if first < 0 or not 0 <= skip < len(in_channels):
            raise ValueError(f"a layer takes 1 to {len(SCALE_FACTORS)} scales and keeps at least one, got "
                             f"{len(in_channels)} scales, skip={skip}")
        keeps_finest = skip == 0
        self.finest = _bottleneck_conv(in_channels[0], growth * SCALE_FACTORS[first], 1) if keeps_finest else None
        self.down = nn.ModuleList()
        self.same = nn.ModuleList()
        for i in range(max(skip, 1), len(in_channels)):
            new = growth * SCALE_FACTORS[first + i]
            self.down.append(_bottleneck_conv(in_channels[i - 1], new // 2, 2))
            self.same.append(_bottleneck_conv(in_channels[i], new // 2, 1))
        self.out_channels = [c + growth * f for c, f in zip(in_channels, SCALE_FACTORS[first:])][skip:]

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        if self.finest is not None:
            out.append(torch.cat([xs[0], self.finest(xs[0])], dim=1))
        for down, same, i in zip(self.down, self.same, range(len(xs) - len(self.same), len(xs))):
            out.append(torch.cat([xs[i], down(xs[i - 1]), same(xs[i])], dim=1))
        return out
