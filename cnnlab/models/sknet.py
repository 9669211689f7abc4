"""SKNet [li2019selective]: ResNeXt with every grouped 3x3 conv replaced by a Selective Kernel conv.

SKNet-50 ([li2019selective] Table 1): the ResNet-50 stem (7x7/2 conv, 3x3/2 max-pool), stages of
3, 4, 6, 3 :class:`cnnlab.layers.SKBottleneck` blocks whose SK convs have 128, 256, 512, 1024
channels (M=2 branches, G=32 groups, r=16, L=32) and twice as many outputs (256, 512, 1024, 2048),
global average pooling, linear classifier.

Departure (CIFAR form ``sknet``): a 3x3 stride-1 stem of 32 channels, no max-pool, three stages
of two blocks with SK widths 32, 64, 128 (8 groups), outputs 64, 128, 256: a small network in the
spirit of the paper's CIFAR SKNet-29, which at 27.7M parameters is too large to train here.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.conv import ConvBNAct
from ..layers.sk import SKBottleneck
from .base import Network
from .registry import register

__all__ = ["SKNet"]


class SKNet(Network):
    """Stem, stages of :class:`SKBottleneck` (``depths``, SK ``widths``, outputs ``2 * widths``), head.

    ``imagenet_stem`` chooses the 7x7/2 conv + max-pool stem over a 3x3 stride-1 one of
    ``stem_channels``. The first stage keeps the resolution, later ones halve it. Further
    ``block_options`` (groups, reduction, dilations, shortcut, antialias) go to every block.
    Children: ``stem``, ``stages``, ``head``.
    """

    def __init__(self, depths: list[int], widths: list[int], num_classes: int = 10, imagenet_stem: bool = False,
                 stem_channels: int = 64, **block_options):
        if len(depths) != len(widths) or not depths or any(not isinstance(d, int) or d < 1 for d in depths):
            raise ValueError(f"depths {depths} and widths {widths} must be lists of the same length with at "
                             f"least one block per stage")
        super().__init__(in_channels=3, min_input_size=32 if imagenet_stem else 8)
        if imagenet_stem:
            self.stem = nn.Sequential(ConvBNAct(3, stem_channels, 7, 2), nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = ConvBNAct(3, stem_channels, 3, 1)
        stages, channels = OrderedDict(), stem_channels
        for s, (depth, width) in enumerate(zip(depths, widths)):
            blocks = []
            for b in range(depth):
                blocks.append(SKBottleneck(channels, 2 * width, 2 if s > 0 and b == 0 else 1, width=width,
                                           **block_options))
                channels = 2 * width
            stages[f"stage{s + 1}"] = nn.Sequential(*blocks)
        self.stages = nn.Sequential(stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


@register("skresnet50_imagenet", paper="li2019selective", family="sknet", input_size=224,
          reference="paper: li2019selective, Table 1 (27.5M)", reference_params=27_500_000, tags=("chapter09",))
def skresnet50_imagenet(num_classes: int = 1000) -> SKNet:
    """SKNet-50 [li2019selective] Table 1 (M=2, G=32, r=16, L=32)."""
    return SKNet([3, 4, 6, 3], [128, 256, 512, 1024], num_classes, imagenet_stem=True)


@register("sknet", paper="li2019selective", family="sknet", tags=("chapter09",))
def sknet(num_classes: int = 10, *, groups: int = 8) -> SKNet:
    """A small SKNet for CIFAR (see module docstring); ``groups`` of the SK branches' 3x3 convs."""
    return SKNet([2, 2, 2], [32, 64, 128], num_classes, stem_channels=32, groups=groups)
