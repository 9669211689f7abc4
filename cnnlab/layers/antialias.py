"""Anti-aliased downsampling [zhang2019making]: blur with a fixed low-pass filter, then subsample.

Strided convolutions and max-pooling subsample without a low-pass filter, so a one-pixel shift of
the input can change the output a lot. :class:`BlurPool` applies a fixed binomial filter
depthwise (reflect padding) and then keeps every ``stride``-th pixel; :class:`MaxBlurPool` is
max-pooling at stride 1 followed by BlurPool; a strided conv becomes the same conv at stride 1
followed by BlurPool (see ``antialias=True`` in :mod:`cnnlab.layers.residual`).
"""
from __future__ import annotations

from math import comb

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["BlurPool", "MaxBlurPool", "binomial_filter"]


def binomial_filter(size: int) -> torch.Tensor:
    """The normalised 2-D binomial filter of side ``size`` (1..7): outer product of Pascal's row."""
    if not isinstance(size, int) or not 1 <= size <= 7:
        raise ValueError(f"filter size must be an integer from 1 to 7, got {size!r}")
    row = torch.tensor([float(comb(size - 1, k)) for k in range(size)])
    kernel = torch.outer(row, row)
    return kernel / kernel.sum()


class BlurPool(nn.Module):
    """Blur every channel with a ``filter_size`` binomial filter, then subsample by ``stride``."""

    def __init__(self, channels: int, filter_size: int = 3, stride: int = 2):
        super().__init__()
        if not isinstance(channels, int) or channels < 1 or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"channels and stride must be positive integers, got {channels!r}, {stride!r}")
        self.channels, self.stride = channels, stride
        before = (filter_size - 1) // 2
        self.padding = (before, filter_size - 1 - before) * 2
        self.register_buffer("kernel", binomial_filter(filter_size).expand(channels, 1, -1, -1).clone(),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.padding):
            x = F.pad(x, self.padding, mode="reflect")
        return F.conv2d(x, self.kernel, stride=self.stride, groups=self.channels)


class MaxBlurPool(nn.Sequential):
    """Max-pooling evaluated densely (stride 1), then :class:`BlurPool` does the subsampling."""

    def __init__(self, channels: int, kernel_size: int = 2, filter_size: int = 3, stride: int = 2):
        super().__init__(nn.MaxPool2d(kernel_size, stride=1), BlurPool(channels, filter_size, stride))
