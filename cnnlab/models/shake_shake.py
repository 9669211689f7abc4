"""Shake-Shake networks [gastaldi2017shake]: residual blocks with two branches mixed at random.

Each block has two identical branches (ReLU conv3x3 BN ReLU conv3x3 BN). In training they are
mixed as α·a + (1-α)·b with α ~ U(0, 1) per image, while the gradient flows back with an
independent β ~ U(0, 1) (the "Shake-Shake-Image" setting of the paper's best CIFAR-10 result);
eval uses 0.5/0.5. The block is :class:`cnnlab.layers.ShakeShakeBlock`, the mix :class:`cnnlab.layers.ShakeShake`.

The 26-layer CIFAR network follows the authors' code: a 3x3 conv (16 channels) and BN, three
stages of 4 blocks with d, 2d, 4d channels ("2xd": two branches of width d), ReLU, global average
pooling, linear. Where the shape changes the shortcut is parameter-light: two half-width 1x1 convs,
one on the (subsampled) input and one on the input shifted by one pixel, concatenated, then BN.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.shake_shake import ShakeShakeBlock
from .base import Network
from .registry import register

__all__ = ["ShakeShakeNet"]


class ShakeShakeNet(Network):
    """Shake-Shake ResNet-``depth`` (6n+2) with two branches of ``width``, 2x``width``, 4x``width``."""

    def __init__(self, depth: int = 26, width: int = 32, num_classes: int = 10):
        super().__init__(in_channels=3, min_input_size=4)
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"a Shake-Shake ResNet has depth 6n+2 (26 in the paper), got {depth!r}")
        if not isinstance(width, int) or width < 1 or width % 2:
            raise ValueError(f"width must be a positive even integer (32, 64, 96 in the paper), got {width!r}")
        n = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
        stages = OrderedDict()
        channels = 16
        for s in range(3):
            out = width * 2 ** s
            stages[f"stage{s + 1}"] = nn.Sequential(*[
                ShakeShakeBlock(channels if b == 0 else out, out, stride=2 if (s > 0 and b == 0) else 1)
                for b in range(n)])
            channels = out
        self.stages = nn.Sequential(stages)
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


@register("shake_shake26_2x32d", paper="gastaldi2017shake", family="shake_shake",
          reference="paper: gastaldi2017shake, Table 1 (2.9M)", reference_params=2_900_000, reference_classes=10,
          tags=("chapter12", "regularizer"))
def shake_shake26_2x32d(num_classes: int = 10) -> ShakeShakeNet:
    """Shake-Shake 26 2x32d on CIFAR [gastaldi2017shake] (2.9M)."""
    return ShakeShakeNet(26, 32, num_classes)


@register("shake_shake26_2x96d", paper="gastaldi2017shake", family="shake_shake",
          reference="paper: gastaldi2017shake, Table 1 (26.2M)", reference_params=26_200_000, reference_classes=10,
          tags=("chapter12", "regularizer", "large"))
def shake_shake26_2x96d(num_classes: int = 10) -> ShakeShakeNet:
    """Shake-Shake 26 2x96d on CIFAR [gastaldi2017shake] (26.2M), the paper's best CIFAR-10 model."""
    return ShakeShakeNet(26, 96, num_classes)
