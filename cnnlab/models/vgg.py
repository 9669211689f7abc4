"""VGG [simonyan2015very]: stacks of 3x3 convolutions between 2x2 max-pools.

Two 3x3 convolutions see a 5x5 window (three see 7x7) with 2 * 9 = 18 weights per channel pair
instead of 25 (27 instead of 49) and an extra non-linearity in between: the paper's argument.
Configurations A, B, D, E of Table 1 are ``vgg11``, ``vgg13``, ``vgg16``, ``vgg19``. The ``_bn``
variants add batch normalization [ioffe2015batch] after every convolution, which the paper
predates (it trained the deep ones by initializing from shallower nets); torchvision ships both.

* ``vgg*_imagenet``: torchvision's layout exactly (its adaptive 7x7 average pool before the FC
  layers, which is the identity at 224x224), so its parameter count is torchvision's.
* ``vgg*`` (CIFAR): the same convolutions; after five pools a 32x32 image is 1x1x512, and one
  linear layer classifies it (the three 4096-wide FC layers would hold 119M parameters for a
  1x1 input). ``width`` scales every channel count (e.g. 0.25) so a CPU can train them.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .base import Network
from .registry import register

__all__ = ["VGG", "VGG_CONFIGS"]

# Table 1 of [simonyan2015very]: convolutions per stage, and each stage's channels.
VGG_CONFIGS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
STAGE_CHANNELS = (64, 128, 256, 512, 512)


class VGG(Network):
    """Five stages of 3x3 convs (each ended by a 2x2 max-pool), then the classifier.

    ``head="imagenet"``: adaptive 7x7 average pool, FC 4096-4096-classes with dropout 0.5 (paper,
    torchvision). ``head="cifar"``: one linear layer on the 1x1 map of a 32x32 input.
    """

    def __init__(self, depth: int = 16, num_classes: int = 10, batch_norm: bool = False, head: str = "cifar",
                 width: float = 1.0, dropout: float = 0.5):
        if depth not in VGG_CONFIGS:
            raise ValueError(f"VGG depth must be one of {sorted(VGG_CONFIGS)} (Table 1 configs A, B, D, E), got {depth}")
        if head not in ("cifar", "imagenet"):
            raise ValueError(f"head must be 'cifar' or 'imagenet', got {head!r}")
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        super().__init__(in_channels=3, input_size=32 if head == "cifar" else 224)
        stages, channels = OrderedDict(), 3
        for s, (convs, out) in enumerate(zip(VGG_CONFIGS[depth], STAGE_CHANNELS), start=1):
            out = max(1, round(out * width))
            layers = OrderedDict()
            for c in range(1, convs + 1):
                layers[f"conv{c}"] = nn.Conv2d(channels, out, 3, padding=1)
                if batch_norm:
                    layers[f"bn{c}"] = nn.BatchNorm2d(out)
                layers[f"relu{c}"] = nn.ReLU(inplace=True)
                channels = out
            layers["pool"] = nn.MaxPool2d(2, 2)
            stages[f"stage{s}"] = nn.Sequential(layers)
        self.features = nn.Sequential(stages)
        if head == "imagenet":
            self.avgpool = nn.AdaptiveAvgPool2d(7)
            self.classifier = nn.Sequential(OrderedDict(
                flatten=nn.Flatten(), fc6=nn.Linear(channels * 7 * 7, 4096), relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(dropout), fc7=nn.Linear(4096, 4096), relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(dropout), fc8=nn.Linear(4096, num_classes)))
        else:
            self.avgpool = nn.Identity()
            self.classifier = nn.Sequential(OrderedDict(flatten=nn.Flatten(), fc=nn.Linear(channels, num_classes)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


@register("vgg11_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg11", torchvision_builder="vgg11", tags=("chapter03",))
def vgg11_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-11 at 224x224, torchvision's layout."""
    return VGG(11, num_classes, batch_norm=False, head="imagenet", width=width, dropout=dropout)


@register("vgg11", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg11(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-11 on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(11, num_classes, batch_norm=False, head="cifar", width=width, dropout=dropout)


@register("vgg11_bn_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg11_bn", torchvision_builder="vgg11_bn", tags=("chapter03",))
def vgg11_bn_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-11 with batch norm at 224x224, torchvision's layout."""
    return VGG(11, num_classes, batch_norm=True, head="imagenet", width=width, dropout=dropout)


@register("vgg11_bn", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg11_bn(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-11 with batch norm on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(11, num_classes, batch_norm=True, head="cifar", width=width, dropout=dropout)


@register("vgg13_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg13", torchvision_builder="vgg13", tags=("chapter03",))
def vgg13_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-13 at 224x224, torchvision's layout."""
    return VGG(13, num_classes, batch_norm=False, head="imagenet", width=width, dropout=dropout)


@register("vgg13", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg13(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-13 on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(13, num_classes, batch_norm=False, head="cifar", width=width, dropout=dropout)


@register("vgg13_bn_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg13_bn", torchvision_builder="vgg13_bn", tags=("chapter03",))
def vgg13_bn_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-13 with batch norm at 224x224, torchvision's layout."""
    return VGG(13, num_classes, batch_norm=True, head="imagenet", width=width, dropout=dropout)


@register("vgg13_bn", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg13_bn(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-13 with batch norm on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(13, num_classes, batch_norm=True, head="cifar", width=width, dropout=dropout)


@register("vgg16_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg16", torchvision_builder="vgg16", tags=("chapter03",))
def vgg16_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-16 at 224x224, torchvision's layout."""
    return VGG(16, num_classes, batch_norm=False, head="imagenet", width=width, dropout=dropout)


@register("vgg16", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg16(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-16 on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(16, num_classes, batch_norm=False, head="cifar", width=width, dropout=dropout)


@register("vgg16_bn_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg16_bn", torchvision_builder="vgg16_bn", tags=("chapter03",))
def vgg16_bn_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-16 with batch norm at 224x224, torchvision's layout."""
    return VGG(16, num_classes, batch_norm=True, head="imagenet", width=width, dropout=dropout)


@register("vgg16_bn", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg16_bn(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-16 with batch norm on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(16, num_classes, batch_norm=True, head="cifar", width=width, dropout=dropout)


@register("vgg19_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg19", torchvision_builder="vgg19", tags=("chapter03",))
def vgg19_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-19 at 224x224, torchvision's layout."""
    return VGG(19, num_classes, batch_norm=False, head="imagenet", width=width, dropout=dropout)


@register("vgg19", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg19(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-19 on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(19, num_classes, batch_norm=False, head="cifar", width=width, dropout=dropout)


@register("vgg19_bn_imagenet", paper="simonyan2015very", family="vgg", input_size=224,
          reference="torchvision.models.vgg19_bn", torchvision_builder="vgg19_bn", tags=("chapter03",))
def vgg19_bn_imagenet(num_classes: int = 1000, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-19 with batch norm at 224x224, torchvision's layout."""
    return VGG(19, num_classes, batch_norm=True, head="imagenet", width=width, dropout=dropout)


@register("vgg19_bn", paper="simonyan2015very", family="vgg", tags=("chapter03",))
def vgg19_bn(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.5) -> VGG:
    """VGG-19 with batch norm on 32x32: same convolutions, one linear layer (module docstring)."""
    return VGG(19, num_classes, batch_norm=True, head="cifar", width=width, dropout=dropout)
