"""Assemble-ResNet [lee2020compounding]: a ResNet with proven architecture tweaks switched on one by one.

One builder, :class:`AssembleResNet`, with a flag per tweak so chapter 14 can measure each:

- ``resnet_d`` [he2019bag]: the deep stem (three 3x3 convs instead of one 7x7, ResNet-C) and the
  ResNet-D shortcut (2x2 average pooling before the 1x1 conv, so no pixel is skipped).
- ``sk`` [li2019selective]: the bottleneck's 3x3 conv becomes a Selective Kernel conv
  (:class:`cnnlab.layers.SKBottleneck`) whose two branches are both 3x3, i.e. a 3x3 conv of doubled
  channels in place of SKNet's 5x5 (dilated 3x3) branch, the choice of [lee2020compounding] for speed.
- ``antialias`` [zhang2019making]: every subsampling is blurred first (BlurPool after the strided
  conv at stride 1, MaxBlurPool in the stem, a blurred shortcut).
- ``big_little`` [chen2019biglittle]: in every stage but the last, after the stage's first block,
  the remaining blocks run as a *big* branch at half resolution (upsampled back, bilinear) beside
  a *little* branch at full resolution with ``1/alpha`` of the bottleneck width and ``1/beta`` of
  the blocks (at least one), merged by addition and ReLU (:class:`cnnlab.layers.BigLittleStage`).

Departures: Big-Little Net puts a merge block after the addition and tunes the branch depths per
stage; here the addition is followed only by ReLU, with alpha=2, beta=2 (the little branch would
otherwise vanish in the 2-block CIFAR stages). The SK reduction r=16 and L=32 are SKNet's, not
tuned. The regularizers of the paper (label smoothing, mixup, DropBlock, distillation,
AutoAugment) belong to training, not to this builder.
CIFAR form ``assemble_resnet``: 3x3 stride-1 stem (three 3x3 convs with ``resnet_d``), no
max-pool, 3 stages of 2 bottlenecks with outputs 64, 128, 256.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.antialias import MaxBlurPool
from ..layers.big_little import BigLittleStage
from ..layers.conv import ConvBNAct
from ..layers.residual import Bottleneck
from ..layers.sk import SKBottleneck
from .base import Network
from .registry import register

__all__ = ["AssembleResNet"]


class AssembleResNet(Network):
    """Bottleneck ResNet with the ``resnet_d``, ``sk``, ``antialias``, ``big_little`` switches (module docstring).

    ``depths``/``widths`` give blocks and output channels per stage (bottleneck width ``width // 4``);
    ``cifar=True`` uses the stride-1 stem without max-pool. ``alpha``/``beta`` size the little branch.
    Children: ``stem``, ``stages``, ``head``.
    """

    def __init__(self, depths: list[int], widths: list[int], num_classes: int = 10, cifar: bool = True,
                 stem_channels: int = 64, resnet_d: bool = True, sk: bool = True, antialias: bool = True,
                 big_little: bool = True, alpha: int = 2, beta: int = 2):
        if len(depths) != len(widths) or not depths or any(not isinstance(d, int) or d < 1 for d in depths):
            raise ValueError(f"depths {depths} and widths {widths} must be lists of the same length with at "
                             f"least one block per stage")
        if any(w % 4 for w in widths):
            raise ValueError(f"bottleneck stage widths must be multiples of 4, got {widths}")
        if big_little and any(d < 2 for d in depths[:-1]):
            raise ValueError(f"big_little needs at least 2 blocks in every stage but the last, got {depths}")
        if not isinstance(alpha, int) or not isinstance(beta, int) or alpha < 1 or beta < 1:
            raise ValueError(f"alpha and beta must be positive integers, got {alpha!r}, {beta!r}")
        for name, flag in (("resnet_d", resnet_d), ("sk", sk), ("antialias", antialias), ("big_little", big_little)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} is a switch, True or False, got {flag!r}")
        super().__init__(in_channels=3, min_input_size=8 if cifar else 32)
        self.options = dict(resnet_d=resnet_d, sk=sk, antialias=antialias, big_little=big_little)
        self.stem = self._stem(stem_channels, cifar, resnet_d, antialias)
        stages, channels = OrderedDict(), stem_channels
        for s, (depth, width) in enumerate(zip(depths, widths)):
            first = self._block(channels, width, 2 if s > 0 else 1)
            if big_little and s < len(depths) - 1:
                big = nn.Sequential(*[self._block(width, width, 2 if b == 0 else 1) for b in range(depth - 1)])
                little = nn.Sequential(*[self._block(width, width // alpha, 1) if b == 0 else
                                         self._block(width // alpha, width // alpha, 1)
                                         for b in range(max(1, (depth - 1) // beta))],
                                       ConvBNAct(width // alpha, width, 1, act=None))
                stages[f"stage{s + 1}"] = nn.Sequential(first, BigLittleStage(big, little))
            else:
                stages[f"stage{s + 1}"] = nn.Sequential(first,
                                                        *[self._block(width, width, 1) for _ in range(depth - 1)])
            channels = width
        self.stages = nn.Sequential(stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    @staticmethod
    def _stem(channels: int, cifar: bool, resnet_d: bool, antialias: bool) -> nn.Sequential:
        stride = 1 if cifar else 2
        if resnet_d:
            convs = [ConvBNAct(3, channels // 2, 3, stride), ConvBNAct(channels // 2, channels // 2, 3),
                     ConvBNAct(channels // 2, channels, 3)]
        else:
            convs = [ConvBNAct(3, channels, 3 if cifar else 7, stride)]
        if cifar:
            return nn.Sequential(*convs)
        return nn.Sequential(*convs, MaxBlurPool(channels) if antialias else nn.MaxPool2d(3, 2, 1))

    def _block(self, in_channels: int, out_channels: int, stride: int) -> nn.Module:
        shortcut = "d" if self.options["resnet_d"] else "b"
        if self.options["sk"]:
            return SKBottleneck(in_channels, out_channels, stride, width=max(1, out_channels // 4), groups=1,
                                dilations=(1, 1), shortcut=shortcut, antialias=self.options["antialias"])
        return Bottleneck(in_channels, out_channels, stride, shortcut=shortcut, antialias=self.options["antialias"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


@register("assemble_resnet", paper="lee2020compounding", family="assemble_resnet", tags=("chapter14",))
def assemble_resnet(num_classes: int = 10, *, resnet_d: bool = True, sk: bool = True, antialias: bool = True,
                    big_little: bool = True, alpha: int = 2, beta: int = 2) -> AssembleResNet:
    """Assemble-ResNet for CIFAR, every tweak on by default; pass e.g. ``sk=False`` to switch one off."""
    return AssembleResNet([2, 2, 2], [64, 128, 256], num_classes, cifar=True, stem_channels=32, resnet_d=resnet_d,
                          sk=sk, antialias=antialias, big_little=big_little, alpha=alpha, beta=beta)


@register("assemble_resnet50_imagenet", paper="lee2020compounding", family="assemble_resnet", input_size=224,
          tags=("chapter14",))
def assemble_resnet50_imagenet(num_classes: int = 1000, *, resnet_d: bool = True, sk: bool = True,
                               antialias: bool = True, big_little: bool = True, alpha: int = 2,
                               beta: int = 2) -> AssembleResNet:
    """Assemble-ResNet-50 at 224x224: ResNet-50's stages (3, 4, 6, 3) with every tweak on by default."""
    return AssembleResNet([3, 4, 6, 3], [256, 512, 1024, 2048], num_classes, cifar=False, resnet_d=resnet_d,
                          sk=sk, antialias=antialias, big_little=big_little, alpha=alpha, beta=beta)
