"""The Shake-Shake residual block [gastaldi2017shake] and its shifted shortcut, used by
:mod:`cnnlab.models.shake_shake`: two branches (ReLU conv3x3 BN ReLU conv3x3 BN) mixed by
:class:`cnnlab.layers.ShakeShake`, added to the shortcut, no activation after the sum.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .regularizers import ShakeShake

__all__ = ["ShakeShakeBlock", "ShiftedPoolShortcut"]


def _branch(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels))


class ShiftedPoolShortcut(nn.Module):
    """ReLU, then two 1x1 convs of ``out_channels // 2``: one on every ``stride``-th pixel, one on
    the input shifted by one pixel (so the two halves see different pixels); concatenated, then BN."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"the shifted shortcut needs an even number of output channels, got {out_channels}")
        self.stride = stride
        self.conv_a = nn.Conv2d(in_channels, out_channels // 2, 1, bias=False)
        self.conv_b = nn.Conv2d(in_channels, out_channels // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        a = self.conv_a(x[:, :, ::self.stride, ::self.stride])
        b = self.conv_b(shifted[:, :, ::self.stride, ::self.stride])
        return self.bn(torch.cat([a, b], dim=1))


class ShakeShakeBlock(nn.Module):
    """Shortcut plus the Shake-Shake mix of two residual branches (no activation after the sum)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.branch_a = _branch(in_channels, out_channels, stride)
        self.branch_b = _branch(in_channels, out_channels, stride)
        self.mix = ShakeShake()
        same = in_channels == out_channels and stride == 1
        self.shortcut = nn.Identity() if same else ShiftedPoolShortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.mix(self.branch_a(x), self.branch_b(x))
