"""Resizing the input inside a network: how [tan2019efficientnet]'s resolution dimension is scaled on CIFAR.

EfficientNet scales the input resolution r together with depth and width (§3.3). On ImageNet a larger r
is a larger crop of a larger photograph; CIFAR's images are 32x32, so chapter 11 trains every network on
the same 32x32 images and lets the network's first layer resize them to its own resolution: below 32 the
network sees a coarser image (antialiased, so shrinking averages pixels instead of skipping them), above
32 a bilinear enlargement that adds no detail but gives every later layer more positions to compute on.
As a module of the network, the resize is counted by the FLOP counter at the network's own resolution,
and one data pipeline (augmentation at 32x32) serves every network.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["Resize"]


class Resize(nn.Module):
    """Resize a batch (N, C, H, W) to ``size`` x ``size``: bilinear, antialiased when shrinking.

    Written here rather than taken from ``torchvision.transforms.Resize`` so that a network holding it
    stays traceable by ``torch.fx`` (the transform branches on its input's type).
    """

    def __init__(self, size: int):
        super().__init__()
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"size must be a positive integer (the side in pixels), got {size!r}")
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)

    def extra_repr(self) -> str:
        return f"size={self.size}"
