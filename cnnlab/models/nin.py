"""Network in Network [lin2014network]: mlpconv layers and global average pooling, no FC layers.

An mlpconv layer is a convolution followed by two 1x1 convolutions (a small MLP slid over every
position). The last mlpconv has one map per class, and global average pooling turns each map into
its class score, so the classifier has no parameters of its own.

* ``nin`` is the paper's CIFAR-10 model as its authors released it (Caffe definition): mlpconv
  192-160-96 (5x5), 192-192-192 (5x5), 192-192-classes (3x3), a 3x3/2 max-pool then a 3x3/2
  average pool between them, each followed by dropout 0.5. The paper does not print these sizes;
  they come from that release. Pools round up (Caffe), so 32 -> 16 -> 8.
* ``nin_imagenet`` is the authors' released ImageNet model: four mlpconv layers, 96 (11x11/4),
  256 (5x5), 384 (3x3), 1024 (3x3) then 1024 and 1000 1x1 maps, 3x3/2 max-pools, dropout before
  the last mlpconv.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.mlpconv import MLPConv
from .base import Network
from .registry import register

__all__ = ["NiN"]


class NiN(Network):
    """mlpconv blocks, then global average pooling; the last block has ``num_classes`` output maps.

    ``blocks`` are ``(widths, kernel, stride, padding)`` (the last block's third width is replaced
    by ``num_classes``); between block i and i+1 come ``pools[i]``
    and, where ``dropouts[i]`` is above 0, dropout with that probability. ``batch_norm=True`` puts a
    batch norm after every convolution (see :class:`cnnlab.layers.MLPConv`).
    """

    def __init__(self, blocks: list[tuple[tuple[int, int, int], int, int, int]], pools: list[nn.Module],
                 dropouts: list[float], num_classes: int = 10, min_input_size: int = 8, batch_norm: bool = False):
        super().__init__(in_channels=3, min_input_size=min_input_size)
        if len(pools) != len(blocks) - 1 or len(dropouts) != len(blocks) - 1:
            raise ValueError(f"{len(blocks)} blocks need {len(blocks) - 1} pools and dropout rates between them")
        if any(not 0.0 <= p < 1.0 for p in dropouts):
            raise ValueError(f"dropout rates must be in [0, 1), got {dropouts}")
        layers, channels = OrderedDict(), 3
        for i, (widths, kernel, stride, padding) in enumerate(blocks, start=1):
            last = i == len(blocks)
            widths = (widths[0], widths[1], num_classes) if last else widths
            layers[f"mlpconv{i}"] = MLPConv(channels, widths, kernel, stride, padding, batch_norm)
            channels = widths[2]
            if not last:
                layers[f"pool{i}"] = pools[i - 1]
                if dropouts[i - 1]:
                    layers[f"drop{i}"] = nn.Dropout(dropouts[i - 1])
        self.features = nn.Sequential(layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _scaled(widths: tuple[int, int, int], width: float) -> tuple[int, int, int]:
    if not isinstance(width, (int, float)) or width <= 0:
        raise ValueError(f"width is a positive multiplier of every layer's channels, got {width!r}")
    return tuple(max(1, round(n * width)) for n in widths)


@register("nin", paper="lin2014network", family="nin", tags=("chapter03",))
def nin(num_classes: int = 10, *, dropout: float = 0.5, width: float = 1.0, batch_norm: bool = False) -> NiN:
    """The CIFAR-10 NiN of [lin2014network]: three mlpconv layers and global average pooling.

    ``dropout`` follows each of the first two mlpconv layers (0.5 in the paper), ``width`` scales
    every layer's channels (rounded, at least 1; the last layer keeps one map per class) and
    ``batch_norm=True`` adds a batch norm after every convolution (not in the paper).
    """
    blocks = [(_scaled((192, 160, 96), width), 5, 1, 2), (_scaled((192, 192, 192), width), 5, 1, 2),
              (_scaled((192, 192, 1), width), 3, 1, 1)]
    pools = [nn.MaxPool2d(3, 2, ceil_mode=True), nn.AvgPool2d(3, 2, ceil_mode=True)]
    return NiN(blocks, pools, [dropout, dropout], num_classes, min_input_size=8, batch_norm=batch_norm)


@register("nin_imagenet", paper="lin2014network", family="nin", input_size=224, tags=("chapter03",))
def nin_imagenet(num_classes: int = 1000, *, dropout: float = 0.5, batch_norm: bool = False) -> NiN:
    """The ImageNet NiN released by the authors of [lin2014network] (module docstring); ``dropout``
    precedes the last mlpconv layer."""
    blocks = [((96, 96, 96), 11, 4, 0), ((256, 256, 256), 5, 1, 2), ((384, 384, 384), 3, 1, 1),
              ((1024, 1024, 1), 3, 1, 1)]
    pools = [nn.MaxPool2d(3, 2, ceil_mode=True) for _ in range(3)]
    return NiN(blocks, pools, [0.0, 0.0, dropout], num_classes, min_input_size=63, batch_norm=batch_norm)
