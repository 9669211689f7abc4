"""ShuffleNet V2 [ma2018shufflenet]: channel split and channel shuffle (:class:`cnnlab.layers.ShuffleV2Unit`).

A 3x3/2 conv of 24 filters and a 3x3/2 max-pool, three stages of 4, 8 and 4 units (the first of each
down-samples and doubles the width), a 1x1 conv to 1024 channels, global average pooling and a linear
classifier ([ma2018shufflenet] Table 5). ``width`` picks the paper's column (0.5x, 1x, 1.5x, 2x: stage
widths and last conv); the 1x network equals torchvision's ``shufflenet_v2_x1_0`` (2,278,604 parameters
at 1,000 classes) layer for layer.

Departure (CIFAR form ``shufflenet_v2``): the stem conv has stride 1 and there is no max-pool, so a 32x32
image enters the first stage at 32x32 and leaves the last at 4x4 (the paper's ImageNet network reaches the
first stage at 56x56 and ends at 7x7). The layers, and so the parameters, are the ImageNet network's.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.conv import ConvBNAct
from ..layers.shuffle import ShuffleV2Unit
from .base import Network
from .registry import register

__all__ = ["ShuffleNetV2", "WIDTHS"]

# [ma2018shufflenet] Table 5: output channels of stage2, stage3, stage4 and conv5 per width multiplier
WIDTHS = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024), 1.5: (176, 352, 704, 1024),
          2.0: (244, 488, 976, 2048)}
REPEATS = (4, 8, 4)


class ShuffleNetV2(Network):
    """ShuffleNet V2 at ``width`` (one of :data:`WIDTHS`); ``cifar=True``: stride-1 stem, no max-pool.

    Children: ``stem`` (conv, and the max-pool ``pool``), ``stages`` (stage2..stage4), ``last_conv``, ``head``.
    """

    def __init__(self, num_classes: int = 1000, width: float = 1.0, cifar: bool = False):
        if width not in WIDTHS:
            raise ValueError(f"ShuffleNet V2 is defined at widths {sorted(WIDTHS)} ([ma2018shufflenet] Table 5), "
                             f"got {width!r}")
        super().__init__(in_channels=3, min_input_size=8 if cifar else 32)
        *stage_widths, last = WIDTHS[width]
        self.stem = nn.Sequential(OrderedDict([("conv", ConvBNAct(3, 24, 3, 1 if cifar else 2)),
                                               ("pool", nn.Identity() if cifar else nn.MaxPool2d(3, 2, 1))]))
        stages, channels = OrderedDict(), 24
        for index, (repeats, out) in enumerate(zip(REPEATS, stage_widths)):
            units = [ShuffleV2Unit(channels, out, 2)] + [ShuffleV2Unit(out, out, 1) for _ in range(repeats - 1)]
            stages[f"stage{index + 2}"] = nn.Sequential(*units)
            channels = out
        self.stages = nn.Sequential(stages)
        self.last_conv = ConvBNAct(channels, last, 1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.last_conv(self.stages(self.stem(x))))


@register("shufflenet_v2_x1_0_imagenet", paper="ma2018shufflenet", family="shufflenet", input_size=224,
          reference="torchvision.models.shufflenet_v2_x1_0", torchvision_builder="shufflenet_v2_x1_0",
          tags=("chapter08",))
def shufflenet_v2_x1_0_imagenet(num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 1x at 224x224 [ma2018shufflenet] (torchvision's layout and count, 2,278,604)."""
    return ShuffleNetV2(num_classes, 1.0)


@register("shufflenet_v2", paper="ma2018shufflenet", family="shufflenet", tags=("chapter08",))
def shufflenet_v2(num_classes: int = 10, *, width: float = 1.0) -> ShuffleNetV2:
    """ShuffleNet V2 for CIFAR: stride-1 stem, no max-pool (see module docstring)."""
    return ShuffleNetV2(num_classes, width, cifar=True)
