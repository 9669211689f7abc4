"""EfficientNet [tan2019efficientnet]: a searched base network (B0) scaled in depth, width and resolution.

B0 is a 3x3/2 conv stem, seven stages of MBConv blocks (:class:`cnnlab.layers.MBConv`: expansion,
depthwise conv, SE 0.25, linear projection, Swish, stochastic depth) with the settings of
[tan2019efficientnet] Table 1, a 1x1 conv to 1280 channels, pooling, dropout and a linear layer.
Ours matches torchvision's ``efficientnet_b0`` ... ``efficientnet_b7`` parameter for parameter.

*Compound scaling* (§3.3) grows all three dimensions with one coefficient phi:
depth d = alpha^phi, width w = beta^phi, resolution r = gamma^phi, under alpha * beta^2 * gamma^2 ~ 2
(FLOPs grow as d * w^2 * r^2, so about 2^phi), with alpha=1.2, beta=1.1, gamma=1.15 from a grid
search on B0 (:func:`compound_scaling`). The released B1-B7 (:data:`EFFICIENTNET_COEFFICIENTS`,
from the official code and torchvision) use rounded, hand-picked multipliers near these powers,
e.g. B1 keeps width 1.0 and takes depth 1.1 at 240 pixels where phi=1 would give 1.1, 1.2, 258.

Departure (CIFAR form ``efficientnet_b0``): the stem has stride 1, so a 32x32 image reaches the
last stage at 2x2 rather than 1x1.

Chapter 11's scaling experiments start from a smaller base of our own, :func:`efficientnet_cifar`
(:data:`CIFAR_BASE_STAGES`, not a network of the paper): the stem and B0's first four block types with
fewer layers, and the input resized to :data:`CIFAR_BASE_RESOLUTION` = 16 pixels by its first layer
(:class:`cnnlab.layers.Resize`), so that resolution can be scaled up to CIFAR's own 32 and beyond as the
paper scales 224 up to 600. Its width, depth and resolution are scaled by the rules above.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn as nn

from ..layers.conv import ConvBNAct
from ..layers.regularizers import drop_probabilities
from ..layers.mbconv import MBConv, make_divisible
from ..layers.resize import Resize
from .base import Network
from .registry import register

__all__ = ["EfficientNet", "efficientnet", "efficientnet_cifar", "compound_scaling", "Coefficients",
           "EFFICIENTNET_COEFFICIENTS", "B0_STAGES", "CIFAR_BASE_STAGES", "CIFAR_BASE_RESOLUTION"]

# [tan2019efficientnet] Table 1: expansion, kernel, stride, input channels, output channels, layers
B0_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]

# Chapter 11's CIFAR base (ours): B0's stem and first four block types, 1-2 layers each, in the same columns
CIFAR_BASE_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 2)]
CIFAR_BASE_RESOLUTION = 16


class Coefficients(NamedTuple):
    """One EfficientNet: width and depth multipliers, input resolution and classifier dropout."""

    name: str
    width_mult: float
    depth_mult: float
    resolution: int
    dropout: float


EFFICIENTNET_COEFFICIENTS = [Coefficients(f"b{i}", *c) for i, c in enumerate([
    (1.0, 1.0, 224, 0.2), (1.0, 1.1, 240, 0.2), (1.1, 1.2, 260, 0.3), (1.2, 1.4, 300, 0.3),
    (1.4, 1.8, 380, 0.4), (1.6, 2.2, 456, 0.4), (1.8, 2.6, 528, 0.5), (2.0, 3.1, 600, 0.5)])]


def compound_scaling(phi: float, alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15,
                     base_resolution: int = 224) -> tuple[float, float, int]:
    """``(depth_mult, width_mult, resolution)`` = ``(alpha^phi, beta^phi, round(base_resolution * gamma^phi))``."""
    if min(alpha, beta, gamma) < 1:
        raise ValueError(f"alpha, beta and gamma must be at least 1 (scaling up), got {alpha}, {beta}, {gamma}")
    if phi < 0:
        raise ValueError(f"phi must be non-negative, got {phi!r}")
    return alpha ** phi, beta ** phi, round(base_resolution * gamma ** phi)


class EfficientNet(Network):
    """B0 with ``width_mult`` applied to channels (rounded to multiples of 8) and ``depth_mult`` to the
    number of layers per stage (rounded up), as torchvision and the official code do.

    ``drop_path`` is the stochastic-depth probability of the last block, block l of L dropping l/L of
    it [huang2016deep] (:func:`cnnlab.layers.drop_probabilities`);
    ``dropout`` is applied before the classifier; ``cifar=True`` gives the stem stride 1.
    ``stages`` is the stage table (rows of expansion, kernel, stride, input channels, output channels,
    layers; the first row's input channels are the stem's), :data:`B0_STAGES` by default; ``resolution``
    resizes every input to that side first (:class:`cnnlab.layers.Resize`; None: no resize).
    Children: ``resize`` (only with a resolution), ``stem``, ``stages`` (stage1, stage2, ...), ``last_conv``,
    ``head``.
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, depth_mult: float = 1.0,
                 dropout: float = 0.2, drop_path: float = 0.2, cifar: bool = False, stages=B0_STAGES,
                 resolution: int | None = None):
        if width_mult <= 0 or depth_mult <= 0:
            raise ValueError(f"width_mult and depth_mult must be positive, got {width_mult!r}, {depth_mult!r}")
        if not 0 <= dropout < 1 or not 0 <= drop_path < 1:
            raise ValueError(f"dropout and drop_path must lie in [0, 1), got {dropout!r}, {drop_path!r}")
        if not stages or any(len(row) != 6 for row in stages):
            raise ValueError("stages must be a non-empty list of rows (expansion, kernel, stride, input channels, "
                             f"output channels, layers), like B0_STAGES; got {stages!r}")
        super().__init__(in_channels=3, min_input_size=8 if cifar else 32)
        if resolution is not None:
            self.min_input_size = 1  # every input is resized first
            self.resize = Resize(resolution)
        else:
            self.resize = None
        channels = make_divisible(stages[0][3] * width_mult)
        self.stem = ConvBNAct(3, channels, 3, 1 if cifar else 2, act=nn.SiLU)
        repeats = [math.ceil(n * depth_mult) for *_, n in stages]
        drop_probs = iter(drop_probabilities(sum(repeats), drop_path))
        blocks_of = OrderedDict()
        for s, ((expand, kernel, stride, _, out, _), n) in enumerate(zip(stages, repeats)):
            out = make_divisible(out * width_mult)
            blocks = []
            for b in range(n):
                blocks.append(MBConv(channels, out, kernel, stride if b == 0 else 1, expand_ratio=expand,
                                     se_ratio=0.25, act=nn.SiLU, drop_prob=next(drop_probs)))
                channels = out
            blocks_of[f"stage{s + 1}"] = nn.Sequential(*blocks)
        self.stages = nn.Sequential(blocks_of)
        self.last_conv = ConvBNAct(channels, 4 * channels, 1, act=nn.SiLU)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(4 * channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resize is not None:
            x = self.resize(x)
        return self.head(self.last_conv(self.stages(self.stem(x))))


def efficientnet(width_mult: float = 1.0, depth_mult: float = 1.0, num_classes: int = 10, cifar: bool = True,
                 dropout: float = 0.2, drop_path: float = 0.2) -> EfficientNet:
    """An EfficientNet of any width and depth multipliers (chapter 11's scaling experiments); CIFAR stem by default."""
    return EfficientNet(num_classes, width_mult, depth_mult, dropout=dropout, drop_path=drop_path, cifar=cifar)


def efficientnet_cifar(width_mult: float = 1.0, depth_mult: float = 1.0, resolution: int = CIFAR_BASE_RESOLUTION,
                       num_classes: int = 10, dropout: float = 0.0, drop_path: float = 0.0) -> EfficientNet:
    """Chapter 11's CIFAR base (:data:`CIFAR_BASE_STAGES`, stride-1 stem, inputs resized to ``resolution``),
    scaled by ``width_mult`` and ``depth_mult`` with B0's rounding rules. Regularization is off by default (the
    chapter's runs are short); the paper's B0 uses dropout 0.2 and drop-path 0.2."""
    return EfficientNet(num_classes, width_mult, depth_mult, dropout=dropout, drop_path=drop_path, cifar=True,
                        stages=CIFAR_BASE_STAGES, resolution=resolution)


def _imagenet(index: int, num_classes: int, dropout: float, drop_path: float) -> EfficientNet:
    c = EFFICIENTNET_COEFFICIENTS[index]
    return EfficientNet(num_classes, c.width_mult, c.depth_mult, dropout=dropout, drop_path=drop_path)


@register("efficientnet_b0_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=224,
          reference="torchvision.models.efficientnet_b0", torchvision_builder="efficientnet_b0", tags=("chapter11",))
def efficientnet_b0_imagenet(num_classes: int = 1000, *, dropout: float = 0.2, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B0 [tan2019efficientnet]: width x1.0, depth x1.0, 224x224 input (torchvision's layout and count)."""
    return _imagenet(0, num_classes, dropout, drop_path)


@register("efficientnet_b1_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=240,
          reference="torchvision.models.efficientnet_b1", torchvision_builder="efficientnet_b1", tags=("chapter11",))
def efficientnet_b1_imagenet(num_classes: int = 1000, *, dropout: float = 0.2, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B1 [tan2019efficientnet]: width x1.0, depth x1.1, 240x240 input (torchvision's layout and count)."""
    return _imagenet(1, num_classes, dropout, drop_path)


@register("efficientnet_b2_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=260,
          reference="torchvision.models.efficientnet_b2", torchvision_builder="efficientnet_b2", tags=("chapter11",))
def efficientnet_b2_imagenet(num_classes: int = 1000, *, dropout: float = 0.3, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B2 [tan2019efficientnet]: width x1.1, depth x1.2, 260x260 input (torchvision's layout and count)."""
    return _imagenet(2, num_classes, dropout, drop_path)


@register("efficientnet_b3_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=300,
          reference="torchvision.models.efficientnet_b3", torchvision_builder="efficientnet_b3", tags=("chapter11",))
def efficientnet_b3_imagenet(num_classes: int = 1000, *, dropout: float = 0.3, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B3 [tan2019efficientnet]: width x1.2, depth x1.4, 300x300 input (torchvision's layout and count)."""
    return _imagenet(3, num_classes, dropout, drop_path)


@register("efficientnet_b4_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=380,
          reference="torchvision.models.efficientnet_b4", torchvision_builder="efficientnet_b4", tags=("chapter11",))
def efficientnet_b4_imagenet(num_classes: int = 1000, *, dropout: float = 0.4, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B4 [tan2019efficientnet]: width x1.4, depth x1.8, 380x380 input (torchvision's layout and count)."""
    return _imagenet(4, num_classes, dropout, drop_path)


@register("efficientnet_b5_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=456,
          reference="torchvision.models.efficientnet_b5", torchvision_builder="efficientnet_b5", tags=("chapter11",
                                                                                                       "large"))
def efficientnet_b5_imagenet(num_classes: int = 1000, *, dropout: float = 0.4, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B5 [tan2019efficientnet]: width x1.6, depth x2.2, 456x456 input (torchvision's layout and count)."""
    return _imagenet(5, num_classes, dropout, drop_path)


@register("efficientnet_b6_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=528,
          reference="torchvision.models.efficientnet_b6", torchvision_builder="efficientnet_b6", tags=("chapter11",
                                                                                                       "large"))
def efficientnet_b6_imagenet(num_classes: int = 1000, *, dropout: float = 0.5, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B6 [tan2019efficientnet]: width x1.8, depth x2.6, 528x528 input (torchvision's layout and count)."""
    return _imagenet(6, num_classes, dropout, drop_path)


@register("efficientnet_b7_imagenet", paper="tan2019efficientnet", family="efficientnet", input_size=600,
          reference="torchvision.models.efficientnet_b7", torchvision_builder="efficientnet_b7", tags=("chapter11",
                                                                                                       "large"))
def efficientnet_b7_imagenet(num_classes: int = 1000, *, dropout: float = 0.5, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B7 [tan2019efficientnet]: width x2.0, depth x3.1, 600x600 input (torchvision's layout and count)."""
    return _imagenet(7, num_classes, dropout, drop_path)


@register("efficientnet_b0", paper="tan2019efficientnet", family="efficientnet", tags=("chapter11",))
def efficientnet_b0(num_classes: int = 10, *, dropout: float = 0.2, drop_path: float = 0.2) -> EfficientNet:
    """EfficientNet-B0 for CIFAR: stride-1 stem (see module docstring)."""
    return efficientnet(1.0, 1.0, num_classes, dropout=dropout, drop_path=drop_path)
