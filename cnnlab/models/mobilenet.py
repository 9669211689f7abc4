"""MobileNet v1 [howard2017mobilenets] and MobileNetV2 [sandler2018mobilenetv2].

v1 is a 3x3 conv followed by 13 depthwise-separable layers (depthwise 3x3 + BN + ReLU, pointwise
1x1 + BN + ReLU; [howard2017mobilenets] Table 1), global average pooling and a linear classifier.
The width multiplier ``alpha`` thins every layer (channels ``int(c * alpha)``, §3.3); the
resolution multiplier is simply the input size.

v2 stacks inverted residual blocks with linear bottlenecks (:class:`cnnlab.layers.MBConv` without
SE, ReLU6), rows (t, c, n, s) of [sandler2018mobilenetv2] Table 2; widths are rounded to
multiples of 8 as torchvision does, whose ``mobilenet_v2`` ours equals in parameter count.

Departure (CIFAR forms): the stem conv has stride 1 instead of 2, so a 32x32 image reaches the
last stage at 2x2 rather than 1x1 (the usual CIFAR adaptation).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.conv import ConvBNAct
from ..layers.mbconv import MBConv, make_divisible
from ..layers.separable import DepthwiseSeparableConv
from .base import Network
from .registry import register

__all__ = ["MobileNetV1", "MobileNetV2"]

# [howard2017mobilenets] Table 1: (output channels, stride) of the 13 separable layers
V1_LAYERS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

# [sandler2018mobilenetv2] Table 2: expansion t, output channels c, repeats n, stride s
V2_ROWS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1)]


def _check_multiplier(alpha: float) -> None:
    if not isinstance(alpha, (int, float)) or not 0 < alpha <= 4:
        raise ValueError(f"the width multiplier alpha must lie in (0, 4], got {alpha!r}")


class MobileNetV1(Network):
    """MobileNet v1 with width multiplier ``alpha``; ``cifar=True`` gives the stem stride 1.

    Children: ``stem``, ``features`` (layer1..layer13), ``head``.
    """

    def __init__(self, num_classes: int = 1000, alpha: float = 1.0, cifar: bool = False):
        _check_multiplier(alpha)
        super().__init__(in_channels=3, min_input_size=8 if cifar else 32)

        def w(c: int) -> int:
            return max(1, int(c * alpha))

        self.stem = ConvBNAct(3, w(32), 3, 1 if cifar else 2)
        layers, channels = OrderedDict(), w(32)
        for i, (out, stride) in enumerate(V1_LAYERS):
            layers[f"layer{i + 1}"] = DepthwiseSeparableConv(channels, w(out), 3, stride, mid_norm=True, act=nn.ReLU)
            channels = w(out)
        self.features = nn.Sequential(layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.stem(x)))


class MobileNetV2(Network):
    """MobileNetV2 with width multiplier ``alpha``; ``cifar=True`` gives the stem stride 1.

    Children: ``stem``, ``features`` (stage1..stage7, one per row of Table 2), ``last_conv``, ``head``
    (dropout 0.2 and a linear layer, as torchvision).
    """

    def __init__(self, num_classes: int = 1000, alpha: float = 1.0, dropout: float = 0.2, cifar: bool = False):
        _check_multiplier(alpha)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        super().__init__(in_channels=3, min_input_size=8 if cifar else 32)
        channels = make_divisible(32 * alpha)
        self.stem = ConvBNAct(3, channels, 3, 1 if cifar else 2, act=nn.ReLU6)
        stages = OrderedDict()
        for r, (t, c, n, s) in enumerate(V2_ROWS):
            out = make_divisible(c * alpha)
            blocks = []
            for b in range(n):
                blocks.append(MBConv(channels, out, 3, s if b == 0 else 1, expand_ratio=t, se_ratio=0, act=nn.ReLU6))
                channels = out
            stages[f"stage{r + 1}"] = nn.Sequential(*blocks)
        self.features = nn.Sequential(stages)
        last = make_divisible(1280 * max(1.0, alpha))
        self.last_conv = ConvBNAct(channels, last, 1, act=nn.ReLU6)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.last_conv(self.features(self.stem(x))))


@register("mobilenet_v1_imagenet", paper="howard2017mobilenets", family="mobilenet", input_size=224,
          reference="paper: howard2017mobilenets, Table 8 (4.2M)", reference_params=4_200_000, tags=("chapter08",))
def mobilenet_v1_imagenet(num_classes: int = 1000, *, alpha: float = 1.0) -> MobileNetV1:
    """1.0 MobileNet-224 [howard2017mobilenets]; Table 8 gives 4.2M parameters."""
    return MobileNetV1(num_classes, alpha)


@register("mobilenet_v1", paper="howard2017mobilenets", family="mobilenet", tags=("chapter08",))
def mobilenet_v1(num_classes: int = 10, *, alpha: float = 1.0) -> MobileNetV1:
    """MobileNet v1 for CIFAR (stride-1 stem, see module docstring)."""
    return MobileNetV1(num_classes, alpha, cifar=True)


@register("mobilenet_v2_imagenet", paper="sandler2018mobilenetv2", family="mobilenet", input_size=224,
          reference="torchvision.models.mobilenet_v2", torchvision_builder="mobilenet_v2", tags=("chapter08",))
def mobilenet_v2_imagenet(num_classes: int = 1000, *, alpha: float = 1.0, dropout: float = 0.2) -> MobileNetV2:
    """MobileNetV2 at 224x224 [sandler2018mobilenetv2] (torchvision's layout and count)."""
    return MobileNetV2(num_classes, alpha, dropout=dropout)


@register("mobilenet_v2", paper="sandler2018mobilenetv2", family="mobilenet", tags=("chapter08",))
def mobilenet_v2(num_classes: int = 10, *, alpha: float = 1.0, dropout: float = 0.2) -> MobileNetV2:
    """MobileNetV2 for CIFAR (stride-1 stem, see module docstring)."""
    return MobileNetV2(num_classes, alpha, dropout=dropout, cifar=True)
