"""Xception [chollet2017xception]: Inception taken to the extreme, every conv depthwise-separable.

Entry flow (two plain 3x3 convs, then three residual blocks of two separable convs and a 3x3/2
max-pool, with a 1x1/2 projection shortcut), middle flow (eight residual blocks of three separable
convs at 728 channels), exit flow (one more down-sampling block, separable 1536 and 2048), global
average pooling, linear classifier ([chollet2017xception] Fig. 5). Separable convs have no
non-linearity between depthwise and pointwise (§4.7) and are followed by BatchNorm.

Departure (CIFAR form ``xception``): the stem convs keep the resolution (stride 1, padding 1),
because a 32x32 image would otherwise be 2x2 before the exit flow, and all widths are scaled by
``width=0.25`` with 4 middle blocks instead of 8, so it trains on a CPU; ``xception_imagenet`` is
the paper's network (299x299 input, valid padding in the stem as in the paper's Keras code).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.conv import ConvBNAct
from ..layers.separable import DepthwiseSeparableConv
from ..layers.xception import XceptionBlock
from .base import Network
from .registry import register

__all__ = ["Xception"]


class Xception(Network):
    """Xception with every width multiplied by ``width`` and ``middle_blocks`` blocks in the middle flow.

    ``cifar_stem=True`` keeps the input resolution in the stem (see module docstring).
    Children: ``stem``, ``entry``, ``middle``, ``exit``, ``head``.
    """

    def __init__(self, num_classes: int = 1000, width: float = 1.0, middle_blocks: int = 8, cifar_stem: bool = False):
        if not 0 < width <= 4:
            raise ValueError(f"width must be a multiplier in (0, 4], got {width!r}")
        if not isinstance(middle_blocks, int) or middle_blocks < 1:
            raise ValueError(f"middle_blocks must be a positive integer, got {middle_blocks!r}")
        super().__init__(in_channels=3, min_input_size=16 if cifar_stem else 71)

        def w(c: int) -> int:
            return max(8, int(round(c * width)))

        stride, padding = (1, 1) if cifar_stem else (2, 0)
        self.stem = nn.Sequential(ConvBNAct(3, w(32), 3, stride, padding), ConvBNAct(w(32), w(64), 3, 1, padding))
        self.entry = nn.Sequential(OrderedDict([
            ("block1", XceptionBlock(w(64), [w(128)] * 2, stride=2, first_relu=False)),
            ("block2", XceptionBlock(w(128), [w(256)] * 2, stride=2)),
            ("block3", XceptionBlock(w(256), [w(728)] * 2, stride=2)),
        ]))
        self.middle = nn.Sequential(OrderedDict(
            (f"block{i + 1}", XceptionBlock(w(728), [w(728)] * 3)) for i in range(middle_blocks)))
        self.exit = nn.Sequential(OrderedDict([
            ("block", XceptionBlock(w(728), [w(728), w(1024)], stride=2)),
            ("sep1", DepthwiseSeparableConv(w(1024), w(1536), 3, act=nn.ReLU)),
            ("sep2", DepthwiseSeparableConv(w(1536), w(2048), 3, act=nn.ReLU)),
        ]))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w(2048), num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.exit(self.middle(self.entry(self.stem(x)))))


@register("xception_imagenet", paper="chollet2017xception", family="xception", input_size=299,
          reference="paper: chollet2017xception, Table 3 (22.855952M)", reference_params=22_855_952,
          tags=("chapter08",))
def xception_imagenet(num_classes: int = 1000, *, width: float = 1.0, middle_blocks: int = 8) -> Xception:
    """Xception at 299x299 [chollet2017xception]; Table 3 prints 22,855,952 parameters."""
    return Xception(num_classes, width=width, middle_blocks=middle_blocks)


@register("xception", paper="chollet2017xception", family="xception", tags=("chapter08",))
def xception(num_classes: int = 10, *, width: float = 0.25, middle_blocks: int = 4) -> Xception:
    """Xception for CIFAR: stride-1 stem, widths x0.25, 4 middle blocks (see module docstring)."""
    return Xception(num_classes, width=width, middle_blocks=middle_blocks, cifar_stem=True)
