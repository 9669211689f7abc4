"""The residual block of Xception [chollet2017xception], used by :mod:`cnnlab.models.xception`."""
from __future__ import annotations

import torch
import torch.nn as nn

from .conv import ConvBNAct
from .separable import DepthwiseSeparableConv

__all__ = ["XceptionBlock"]


class XceptionBlock(nn.Module):
    """Residual block: ``len(widths)`` x (ReLU, separable 3x3, BN), then a 3x3/2 max-pool if ``stride=2``.

    The shortcut is the identity, or a 1x1 conv with stride 2 and BN when the block subsamples or
    changes width. ``first_relu=False`` drops the leading ReLU (the first block follows the stem's).
    """

    def __init__(self, in_channels: int, widths: list[int], stride: int = 1, first_relu: bool = True):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"an Xception block has stride 1 or 2, got {stride!r}")
        layers: list[nn.Module] = []
        channels = in_channels
        for i, width in enumerate(widths):
            if i > 0 or first_relu:
                layers.append(nn.ReLU())
            layers.append(DepthwiseSeparableConv(channels, width, 3))
            channels = width
        if stride == 2:
            layers.append(nn.MaxPool2d(3, 2, 1))
        self.body = nn.Sequential(*layers)
        self.shortcut = (nn.Identity() if stride == 1 and in_channels == channels
                         else ConvBNAct(in_channels, channels, 1, stride, act=None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)
