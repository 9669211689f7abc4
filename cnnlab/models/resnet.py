"""ResNet [he2016deep] and the families that reshape its block: pre-activation [he2016identity],
wide [zagoruyko2016wide], ResNeXt [xie2017aggregated] and ResNet-D [he2019bag].

One class, :class:`ResNet`, builds them all from a stem, stages of residual blocks
(:mod:`cnnlab.layers.residual`) and a head (global average pooling, linear). The ImageNet forms
match torchvision's parameter counts exactly; CIFAR forms follow the papers' CIFAR tables.

CIFAR forms of the ImageNet ResNets (``resnet18`` ... ``resnet152``) depart from [he2016deep]: the
stem is one 3x3 conv with stride 1 and there is no max-pool, because a 32x32 image would be 8x8
after the 7x7/2 conv and the pool; this is the common CIFAR adaptation.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from torchvision.ops import DropBlock2d

from ..layers.antialias import MaxBlurPool
from ..layers.regularizers import drop_probabilities
from ..layers.residual import (BasicBlock, Bottleneck, PreActBlock, PreActBottleneck, PyramidBlock, PyramidBottleneck,
                               WideBlock)
from .base import Network
from .registry import register

__all__ = ["ResNet"]

STEMS = ("imagenet", "cifar", "deep")
BLOCKS = {  # (block, variant): the residual block class of :mod:`cnnlab.layers.residual`
    ("basic", "original"): BasicBlock, ("basic", "preact"): PreActBlock, ("basic", "wrn"): WideBlock,
    ("basic", "pyramid"): PyramidBlock, ("bottleneck", "original"): Bottleneck,
    ("bottleneck", "preact"): PreActBottleneck, ("bottleneck", "pyramid"): PyramidBottleneck,
}


def _stem(kind: str, channels: int, antialias: bool) -> nn.Sequential:
    pool = MaxBlurPool(channels) if antialias else nn.MaxPool2d(3, 2, 1)
    if kind == "imagenet":  # 7x7/2 conv, 3x3/2 max-pool [he2016deep]
        return nn.Sequential(nn.Conv2d(3, channels, 7, 2, 3, bias=False), nn.BatchNorm2d(channels), nn.ReLU(), pool)
    if kind == "deep":  # ResNet-C/D stem [he2019bag]: three 3x3 convs instead of the 7x7
        half = channels // 2
        return nn.Sequential(nn.Conv2d(3, half, 3, 2, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                             nn.Conv2d(half, half, 3, 1, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                             nn.Conv2d(half, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                             pool)
    if kind == "cifar":  # one 3x3 conv, stride 1, no pooling [he2016deep] §4.2
        return nn.Sequential(nn.Conv2d(3, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())
    raise ValueError(f"unknown stem {kind!r}; expected one of {STEMS}")


class ResNet(Network):
    """Stem, ``len(depths)`` stages of residual blocks, global average pooling, linear classifier.

    ``widths`` are the output channels of each stage; the first stage keeps the resolution and
    every later one halves it in its first block. ``block`` ("basic" or "bottleneck") and
    ``variant`` ("original", "preact", "wrn", "pyramid") choose the block class (``BLOCKS``,
    :mod:`cnnlab.layers.residual`). For bottleneck blocks ``inner_widths`` are the 3x3 conv widths
    (default ``width // 4``) and ``groups`` its groups (ResNeXt). ``shortcut``, ``residual`` and
    ``se_reduction`` go to every block, ``dropout`` to every "wrn" block; ``drop_prob`` is the
    stochastic-depth drop probability of the LAST block, block l of L dropping l/L of it
    [huang2016deep] (:func:`cnnlab.layers.drop_probabilities`). ``antialias=True`` [zhang2019making]
    blurs before every subsampling (max-pool -> MaxBlurPool, strided conv -> conv + BlurPool).
    Pre-activation variants end with batch norm and ReLU before pooling, as their papers do.

    ``dropblock`` [ghiasi2018dropblock] is the drop probability of a ``torchvision.ops.DropBlock2d``
    placed after every block of the last two stages (the paper's groups 3 and 4 of ResNet-50), with
    square blocks of side ``dropblock_size`` (default 7 as the paper's ImageNet setting, 3 with the
    CIFAR stem, whose last maps are 8x8 or 4x4). Departures: the paper drops after every conv and
    on the shortcut too, and ramps the probability up during training; here it drops the block
    output only, at a fixed probability (a training loop may change ``module.p``).

    ``swapout=(p_identity, p_residual)`` makes every block combine its shortcut and branch by
    Swapout [singh2016swapout] (see :mod:`cnnlab.layers.residual`), the same pair in every block.
    """

    def __init__(self, block: str, depths: list[int], widths: list[int], num_classes: int = 10,
                 stem: str = "cifar", stem_channels: int = 64, variant: str = "original", shortcut: str = "b",
                 residual: bool = True, dropout: float = 0.0, drop_prob: float = 0.0,
                 inner_widths: list[int] | None = None, groups: int = 1, antialias: bool = False,
                 dropblock: float = 0.0, dropblock_size: int | None = None,
                 swapout: tuple[float, float] | None = None, se_reduction: int | None = None, input_size: int = 32):
        super().__init__(in_channels=3, min_input_size=input_size // 8 if stem == "cifar" else 32)
        if block not in ("basic", "bottleneck"):
            raise ValueError(f"unknown block {block!r}; expected 'basic' or 'bottleneck'")
        if (block, variant) not in BLOCKS:
            known = sorted(v for b, v in BLOCKS if b == block)
            raise ValueError(f"unknown block variant {variant!r} for {block} blocks; expected one of {known}")
        if dropout and variant != "wrn":
            raise ValueError("dropout between the convolutions belongs to the 'wrn' variant [zagoruyko2016wide]")
        if len(depths) != len(widths) or not depths or any(d < 1 for d in depths):
            raise ValueError(f"depths {depths} and widths {widths} must be non-empty lists of the same "
                             f"length with at least one block per stage")
        if inner_widths is not None and (block != "bottleneck" or len(inner_widths) != len(widths)):
            raise ValueError("inner_widths needs bottleneck blocks and one width per stage")
        if not 0.0 <= dropblock < 1.0:
            raise ValueError(f"dropblock is a drop probability in [0, 1), got {dropblock!r}")
        if dropblock_size is None:
            dropblock_size = 3 if stem == "cifar" else 7
        if not isinstance(dropblock_size, int) or dropblock_size < 1:
            raise ValueError(f"dropblock_size must be a positive integer, got {dropblock_size!r}")
        Block = BLOCKS[(block, variant)]
        self.stem = _stem(stem, stem_channels, antialias)
        drop_probs = iter(drop_probabilities(sum(depths), drop_prob))
        stages = OrderedDict()
        channels = stem_channels
        for s, (depth, width) in enumerate(zip(depths, widths)):
            blocks = []
            for b in range(depth):
                options = dict(stride=2 if (s > 0 and b == 0) else 1, shortcut=shortcut, residual=residual,
                               drop_prob=next(drop_probs), antialias=antialias, swapout=swapout,
                               se_reduction=se_reduction)
                if variant == "wrn":
                    options["dropout"] = dropout
                if block == "bottleneck":
                    options.update(groups=groups, width=inner_widths[s] if inner_widths is not None else None)
                blocks.append(Block(channels, width, **options))
                channels = width
                if dropblock > 0 and s >= len(depths) - 2:
                    blocks.append(DropBlock2d(dropblock, dropblock_size))
            stages[f"stage{s + 1}"] = nn.Sequential(*blocks)
        self.stages = nn.Sequential(stages)
        final = [nn.BatchNorm2d(channels), nn.ReLU()] if variant != "original" else []
        self.head = nn.Sequential(*final, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


# --- ImageNet forms (torchvision parity) and their CIFAR adaptations ------------------------------
# Every builder takes the same ResNet options: ``drop_prob`` (stochastic depth), ``dropblock``,
# ``antialias``, ``swapout`` (see :class:`ResNet`); the ImageNet forms also ``stem`` and ``shortcut``
# (``stem="deep", shortcut="d"`` gives ResNet-D [he2019bag]).

_BASIC_WIDTHS = [64, 128, 256, 512]
_BOTTLENECK_WIDTHS = [256, 512, 1024, 2048]


def _imagenet_resnet(block: str, depths: list[int], num_classes: int, **options) -> ResNet:
    widths = _BASIC_WIDTHS if block == "basic" else _BOTTLENECK_WIDTHS
    return ResNet(block, depths, widths, num_classes, input_size=224, **options)


def _cifar_form(block: str, depths: list[int], num_classes: int, **options) -> ResNet:
    widths = _BASIC_WIDTHS if block == "basic" else _BOTTLENECK_WIDTHS
    return ResNet(block, depths, widths, num_classes, stem="cifar", **options)


@register("resnet18_imagenet", paper="he2016deep", family="resnet", input_size=224,
          reference="torchvision.models.resnet18", torchvision_builder="resnet18", tags=("chapter05",))
def resnet18_imagenet(num_classes: int = 1000, *, stem: str = "imagenet", shortcut: str = "b", drop_prob: float = 0.0,
                      dropblock: float = 0.0, antialias: bool = False,
                      swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-18 of [he2016deep] at 224x224, torchvision's layout (stride on the 3x3)."""
    return _imagenet_resnet("basic", [2, 2, 2, 2], num_classes, stem=stem, shortcut=shortcut, drop_prob=drop_prob,
                            dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("resnet18", paper="he2016deep", family="resnet", tags=("chapter05",))
def resnet18(num_classes: int = 10, *, shortcut: str = "b", drop_prob: float = 0.0, dropblock: float = 0.0,
             antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-18 on CIFAR: 3x3 stride-1 stem, no max-pool (see module docstring)."""
    return _cifar_form("basic", [2, 2, 2, 2], num_classes, shortcut=shortcut, drop_prob=drop_prob, dropblock=dropblock,
                       antialias=antialias, swapout=swapout)


@register("resnet34_imagenet", paper="he2016deep", family="resnet", input_size=224,
          reference="torchvision.models.resnet34", torchvision_builder="resnet34", tags=("chapter05",))
def resnet34_imagenet(num_classes: int = 1000, *, stem: str = "imagenet", shortcut: str = "b", drop_prob: float = 0.0,
                      dropblock: float = 0.0, antialias: bool = False,
                      swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-34 of [he2016deep] at 224x224, torchvision's layout (stride on the 3x3)."""
    return _imagenet_resnet("basic", [3, 4, 6, 3], num_classes, stem=stem, shortcut=shortcut, drop_prob=drop_prob,
                            dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("resnet34", paper="he2016deep", family="resnet", tags=("chapter05",))
def resnet34(num_classes: int = 10, *, shortcut: str = "b", drop_prob: float = 0.0, dropblock: float = 0.0,
             antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-34 on CIFAR: 3x3 stride-1 stem, no max-pool (see module docstring)."""
    return _cifar_form("basic", [3, 4, 6, 3], num_classes, shortcut=shortcut, drop_prob=drop_prob, dropblock=dropblock,
                       antialias=antialias, swapout=swapout)


@register("resnet50_imagenet", paper="he2016deep", family="resnet", input_size=224,
          reference="torchvision.models.resnet50", torchvision_builder="resnet50", tags=("chapter05",))
def resnet50_imagenet(num_classes: int = 1000, *, stem: str = "imagenet", shortcut: str = "b", drop_prob: float = 0.0,
                      dropblock: float = 0.0, antialias: bool = False,
                      swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-50 of [he2016deep] at 224x224, torchvision's layout (stride on the 3x3)."""
    return _imagenet_resnet("bottleneck", [3, 4, 6, 3], num_classes, stem=stem, shortcut=shortcut, drop_prob=drop_prob,
                            dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("resnet50", paper="he2016deep", family="resnet", tags=("chapter05",))
def resnet50(num_classes: int = 10, *, shortcut: str = "b", drop_prob: float = 0.0, dropblock: float = 0.0,
             antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-50 on CIFAR: 3x3 stride-1 stem, no max-pool (see module docstring)."""
    return _cifar_form("bottleneck", [3, 4, 6, 3], num_classes, shortcut=shortcut, drop_prob=drop_prob,
                       dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("resnet101_imagenet", paper="he2016deep", family="resnet", input_size=224,
          reference="torchvision.models.resnet101", torchvision_builder="resnet101", tags=("chapter05",))
def resnet101_imagenet(num_classes: int = 1000, *, stem: str = "imagenet", shortcut: str = "b", drop_prob: float = 0.0,
                       dropblock: float = 0.0, antialias: bool = False,
                       swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-101 of [he2016deep] at 224x224, torchvision's layout (stride on the 3x3)."""
    return _imagenet_resnet("bottleneck", [3, 4, 23, 3], num_classes, stem=stem, shortcut=shortcut, drop_prob=drop_prob,
                            dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("resnet101", paper="he2016deep", family="resnet", tags=("chapter05", "large"))
def resnet101(num_classes: int = 10, *, shortcut: str = "b", drop_prob: float = 0.0, dropblock: float = 0.0,
              antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-101 on CIFAR: 3x3 stride-1 stem, no max-pool (see module docstring)."""
    return _cifar_form("bottleneck", [3, 4, 23, 3], num_classes, shortcut=shortcut, drop_prob=drop_prob,
                       dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("resnet152_imagenet", paper="he2016deep", family="resnet", input_size=224,
          reference="torchvision.models.resnet152", torchvision_builder="resnet152", tags=("chapter05",))
def resnet152_imagenet(num_classes: int = 1000, *, stem: str = "imagenet", shortcut: str = "b", drop_prob: float = 0.0,
                       dropblock: float = 0.0, antialias: bool = False,
                       swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-152 of [he2016deep] at 224x224, torchvision's layout (stride on the 3x3)."""
    return _imagenet_resnet("bottleneck", [3, 8, 36, 3], num_classes, stem=stem, shortcut=shortcut, drop_prob=drop_prob,
                            dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("resnet152", paper="he2016deep", family="resnet", tags=("chapter05", "large"))
def resnet152(num_classes: int = 10, *, shortcut: str = "b", drop_prob: float = 0.0, dropblock: float = 0.0,
              antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-152 on CIFAR: 3x3 stride-1 stem, no max-pool (see module docstring)."""
    return _cifar_form("bottleneck", [3, 8, 36, 3], num_classes, shortcut=shortcut, drop_prob=drop_prob,
                       dropblock=dropblock, antialias=antialias, swapout=swapout)

@register("wide_resnet50_2_imagenet", paper="zagoruyko2016wide", family="wide_resnet", input_size=224,
          reference="torchvision.models.wide_resnet50_2", torchvision_builder="wide_resnet50_2", tags=("chapter06",))
def wide_resnet50_2_imagenet(num_classes: int = 1000, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                             antialias: bool = False) -> ResNet:
    """Wide ResNet-50-2 [zagoruyko2016wide] at 224x224: bottleneck 3x3 widths [128, 256, 512, 1024], 1 group(s)."""
    return _imagenet_resnet("bottleneck", [3, 4, 6, 3], num_classes, stem="imagenet",
                            inner_widths=[128, 256, 512, 1024], groups=1, drop_prob=drop_prob, dropblock=dropblock,
                            antialias=antialias)

@register("resnext50_32x4d_imagenet", paper="xie2017aggregated", family="resnext", input_size=224,
          reference="torchvision.models.resnext50_32x4d", torchvision_builder="resnext50_32x4d", tags=("chapter06",))
def resnext50_32x4d_imagenet(num_classes: int = 1000, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                             antialias: bool = False) -> ResNet:
    """ResNeXt-50 (32x4d) [xie2017aggregated] at 224x224: bottleneck 3x3 widths [128, 256, 512, 1024], 32 group(s)."""
    return _imagenet_resnet("bottleneck", [3, 4, 6, 3], num_classes, stem="imagenet",
                            inner_widths=[128, 256, 512, 1024], groups=32, drop_prob=drop_prob, dropblock=dropblock,
                            antialias=antialias)

@register("resnext101_32x8d_imagenet", paper="xie2017aggregated", family="resnext", input_size=224,
          reference="torchvision.models.resnext101_32x8d", torchvision_builder="resnext101_32x8d", tags=("chapter06",))
def resnext101_32x8d_imagenet(num_classes: int = 1000, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                              antialias: bool = False) -> ResNet:
    """ResNeXt-101 (32x8d) [xie2017aggregated] at 224x224: bottleneck 3x3 widths [256, 512, 1024, 2048], 32 group(s)."""
    return _imagenet_resnet("bottleneck", [3, 4, 23, 3], num_classes, stem="imagenet",
                            inner_widths=[256, 512, 1024, 2048], groups=32, drop_prob=drop_prob, dropblock=dropblock,
                            antialias=antialias)


# --- CIFAR ResNets of [he2016deep] §4.2 and their plain twins ------------------------------------

def cifar_resnet(depth: int, num_classes: int = 10, residual: bool = True, block_variant: str = "original",
                 shortcut: str = "a", **options) -> ResNet:
    """The 6n+2-layer CIFAR ResNet of [he2016deep] §4.2: 16/32/64 channels, 3 stages of n basic blocks.

    ``residual=False`` is the plain network; ``block_variant`` swaps the block order (chapter 05).
    Other options go to :class:`ResNet`, e.g. ``drop_prob`` (stochastic depth), ``dropblock``,
    ``antialias``, ``se_reduction``.
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has depth 6n+2 (20, 32, 44, 56, 110...), got {depth!r}")
    n = (depth - 2) // 6
    return ResNet("basic", [n] * 3, [16, 32, 64], num_classes, stem="cifar", stem_channels=16,
                  variant=block_variant, shortcut=shortcut, residual=residual, **options)


@register("resnet20", paper="he2016deep", family="resnet_cifar", reference="paper: he2016deep, Table 6 (0.27M)",
          reference_params=270_000, reference_classes=10, tags=("chapter05",))
def resnet20(num_classes: int = 10, *, block_variant: str = "original", shortcut: str = "a", drop_prob: float = 0.0,
             dropblock: float = 0.0, antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-20 on CIFAR [he2016deep] §4.2 (option A shortcuts, 0.27M)."""
    return cifar_resnet(20, num_classes, block_variant=block_variant, shortcut=shortcut, drop_prob=drop_prob,
                        dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("plain20", paper="he2016deep", family="resnet_cifar", tags=("chapter05",))
def plain20(num_classes: int = 10, *, block_variant: str = "original", antialias: bool = False) -> ResNet:
    """Plain-20: ResNet-20 without shortcuts (degradation experiment, [he2016deep])."""
    return cifar_resnet(20, num_classes, residual=False, block_variant=block_variant, antialias=antialias)

@register("resnet32", paper="he2016deep", family="resnet_cifar", reference="paper: he2016deep, Table 6 (0.46M)",
          reference_params=460_000, reference_classes=10, tags=("chapter05",))
def resnet32(num_classes: int = 10, *, block_variant: str = "original", shortcut: str = "a", drop_prob: float = 0.0,
             dropblock: float = 0.0, antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-32 on CIFAR [he2016deep] §4.2 (option A shortcuts, 0.46M)."""
    return cifar_resnet(32, num_classes, block_variant=block_variant, shortcut=shortcut, drop_prob=drop_prob,
                        dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("plain32", paper="he2016deep", family="resnet_cifar", tags=("chapter05",))
def plain32(num_classes: int = 10, *, block_variant: str = "original", antialias: bool = False) -> ResNet:
    """Plain-32: ResNet-32 without shortcuts (degradation experiment, [he2016deep])."""
    return cifar_resnet(32, num_classes, residual=False, block_variant=block_variant, antialias=antialias)

@register("resnet44", paper="he2016deep", family="resnet_cifar", reference="paper: he2016deep, Table 6 (0.66M)",
          reference_params=660_000, reference_classes=10, tags=("chapter05",))
def resnet44(num_classes: int = 10, *, block_variant: str = "original", shortcut: str = "a", drop_prob: float = 0.0,
             dropblock: float = 0.0, antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-44 on CIFAR [he2016deep] §4.2 (option A shortcuts, 0.66M)."""
    return cifar_resnet(44, num_classes, block_variant=block_variant, shortcut=shortcut, drop_prob=drop_prob,
                        dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("plain44", paper="he2016deep", family="resnet_cifar", tags=("chapter05",))
def plain44(num_classes: int = 10, *, block_variant: str = "original", antialias: bool = False) -> ResNet:
    """Plain-44: ResNet-44 without shortcuts (degradation experiment, [he2016deep])."""
    return cifar_resnet(44, num_classes, residual=False, block_variant=block_variant, antialias=antialias)

@register("resnet56", paper="he2016deep", family="resnet_cifar", reference="paper: he2016deep, Table 6 (0.85M)",
          reference_params=850_000, reference_classes=10, tags=("chapter05",))
def resnet56(num_classes: int = 10, *, block_variant: str = "original", shortcut: str = "a", drop_prob: float = 0.0,
             dropblock: float = 0.0, antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-56 on CIFAR [he2016deep] §4.2 (option A shortcuts, 0.85M)."""
    return cifar_resnet(56, num_classes, block_variant=block_variant, shortcut=shortcut, drop_prob=drop_prob,
                        dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("plain56", paper="he2016deep", family="resnet_cifar", tags=("chapter05",))
def plain56(num_classes: int = 10, *, block_variant: str = "original", antialias: bool = False) -> ResNet:
    """Plain-56: ResNet-56 without shortcuts (degradation experiment, [he2016deep])."""
    return cifar_resnet(56, num_classes, residual=False, block_variant=block_variant, antialias=antialias)

@register("resnet110", paper="he2016deep", family="resnet_cifar", reference="paper: he2016deep, Table 6 (1.7M)",
          reference_params=1_700_000, reference_classes=10, tags=("chapter05",))
def resnet110(num_classes: int = 10, *, block_variant: str = "original", shortcut: str = "a", drop_prob: float = 0.0,
              dropblock: float = 0.0, antialias: bool = False, swapout: tuple[float, float] | None = None) -> ResNet:
    """ResNet-110 on CIFAR [he2016deep] §4.2 (option A shortcuts, 1.7M)."""
    return cifar_resnet(110, num_classes, block_variant=block_variant, shortcut=shortcut, drop_prob=drop_prob,
                        dropblock=dropblock, antialias=antialias, swapout=swapout)


@register("plain110", paper="he2016deep", family="resnet_cifar", tags=("chapter05",))
def plain110(num_classes: int = 10, *, block_variant: str = "original", antialias: bool = False) -> ResNet:
    """Plain-110: ResNet-110 without shortcuts (degradation experiment, [he2016deep])."""
    return cifar_resnet(110, num_classes, residual=False, block_variant=block_variant, antialias=antialias)


@register("preact_resnet18", paper="he2016identity", family="preact_resnet", tags=("chapter05",))
def preact_resnet18(num_classes: int = 10, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                    antialias: bool = False) -> ResNet:
    """ResNet-18 with pre-activation blocks [he2016identity], CIFAR stem (as ``resnet18``)."""
    return _cifar_form("basic", [2, 2, 2, 2], num_classes, variant="preact", drop_prob=drop_prob, dropblock=dropblock,
                       antialias=antialias)


@register("preact_resnet110", paper="he2016identity", family="preact_resnet",
          reference="paper: he2016identity, Table 2 (1.7M)", reference_params=1_700_000, reference_classes=10,
          tags=("chapter05",))
def preact_resnet110(num_classes: int = 10, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                     antialias: bool = False) -> ResNet:
    """Pre-activation ResNet-110 on CIFAR [he2016identity]; 1x1 projection shortcuts as in that paper."""
    return cifar_resnet(110, num_classes, block_variant="preact", shortcut="b", drop_prob=drop_prob,
                        dropblock=dropblock, antialias=antialias)


@register("preact_resnet164", paper="he2016identity", family="preact_resnet",
          reference="paper: he2016identity, Table 2 (1.7M)", reference_params=1_700_000, reference_classes=10,
          tags=("chapter05",))
def preact_resnet164(num_classes: int = 10, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                     antialias: bool = False) -> ResNet:
    """Pre-activation ResNet-164 [he2016identity]: 3 stages of 18 bottlenecks, outputs 64/128/256."""
    return ResNet("bottleneck", [18] * 3, [64, 128, 256], num_classes, stem="cifar", stem_channels=16,
                  variant="preact", drop_prob=drop_prob, dropblock=dropblock, antialias=antialias)


# --- Wide ResNets [zagoruyko2016wide] and CIFAR ResNeXt [xie2017aggregated] ----------------------

def wide_resnet(depth: int, k: int, num_classes: int = 10, dropout: float = 0.0, **options) -> ResNet:
    """WRN-depth-k [zagoruyko2016wide]: 3 stages of (depth-4)/6 "wrn" blocks, 16k/32k/64k channels."""
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"a Wide ResNet has depth 6n+4 (16, 28, 40...), got {depth!r}")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"the widening factor k must be a positive integer, got {k!r}")
    n = (depth - 4) // 6
    return ResNet("basic", [n] * 3, [16 * k, 32 * k, 64 * k], num_classes, stem="cifar", stem_channels=16,
                  variant="wrn", dropout=dropout, **options)


@register("wrn28_10", paper="zagoruyko2016wide", family="wide_resnet",
          reference="paper: zagoruyko2016wide, Table 5 (36.5M)", reference_params=36_500_000, reference_classes=10,
          tags=("chapter06", "large"))
def wrn28_10(num_classes: int = 10, *, dropout: float = 0.0, drop_prob: float = 0.0, dropblock: float = 0.0,
             antialias: bool = False) -> ResNet:
    """WRN-28-10 on CIFAR [zagoruyko2016wide] (36.5M); ``dropout=0.3`` as the paper's best."""
    return wide_resnet(28, 10, num_classes, dropout=dropout, drop_prob=drop_prob, dropblock=dropblock,
                       antialias=antialias)

@register("wrn16_8", paper="zagoruyko2016wide", family="wide_resnet",
          reference="paper: zagoruyko2016wide, Table 5 (11.0M)", reference_params=11_000_000, reference_classes=10,
          tags=("chapter06", "large"))
def wrn16_8(num_classes: int = 10, *, dropout: float = 0.0, drop_prob: float = 0.0, dropblock: float = 0.0,
            antialias: bool = False) -> ResNet:
    """WRN-16-8 on CIFAR [zagoruyko2016wide] (11.0M); ``dropout=0.3`` as the paper's best."""
    return wide_resnet(16, 8, num_classes, dropout=dropout, drop_prob=drop_prob, dropblock=dropblock,
                       antialias=antialias)

@register("wrn40_4", paper="zagoruyko2016wide", family="wide_resnet",
          reference="paper: zagoruyko2016wide, Table 5 (8.9M)", reference_params=8_900_000, reference_classes=10,
          tags=("chapter06", "large"))
def wrn40_4(num_classes: int = 10, *, dropout: float = 0.0, drop_prob: float = 0.0, dropblock: float = 0.0,
            antialias: bool = False) -> ResNet:
    """WRN-40-4 on CIFAR [zagoruyko2016wide] (8.9M); ``dropout=0.3`` as the paper's best."""
    return wide_resnet(40, 4, num_classes, dropout=dropout, drop_prob=drop_prob, dropblock=dropblock,
                       antialias=antialias)

@register("wrn16_4", paper="zagoruyko2016wide", family="wide_resnet",
          reference="paper: zagoruyko2016wide, Table 4 (2.7M)", reference_params=2_700_000, reference_classes=10,
          tags=("chapter06",))
def wrn16_4(num_classes: int = 10, *, dropout: float = 0.0, drop_prob: float = 0.0, dropblock: float = 0.0,
            antialias: bool = False) -> ResNet:
    """WRN-16-4 on CIFAR [zagoruyko2016wide] (2.7M); ``dropout=0.3`` as the paper's best."""
    return wide_resnet(16, 4, num_classes, dropout=dropout, drop_prob=drop_prob, dropblock=dropblock,
                       antialias=antialias)


def cifar_resnext(cardinality: int, bottleneck_width: int, num_classes: int = 10, **options) -> ResNet:
    """ResNeXt-29 (Cxd) on CIFAR [xie2017aggregated] §5.3: 3x3 stem with 64 channels, 3 stages of 3
    bottlenecks with outputs 256/512/1024 and grouped 3x3 convs of C*d, 2C*d, 4C*d channels."""
    inner = [cardinality * bottleneck_width * 2 ** s for s in range(3)]
    return ResNet("bottleneck", [3, 3, 3], [256, 512, 1024], num_classes, stem="cifar", stem_channels=64,
                  inner_widths=inner, groups=cardinality, **options)


@register("resnext29_8x64d", paper="xie2017aggregated", family="resnext",
          reference="paper: xie2017aggregated, Table 7 (34.4M)", reference_params=34_400_000,
          reference_classes=10, tags=("chapter06", "large"))
def resnext29_8x64d(num_classes: int = 10, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                    antialias: bool = False) -> ResNet:
    """ResNeXt-29, 8x64d on CIFAR [xie2017aggregated]."""
    return cifar_resnext(8, 64, num_classes, drop_prob=drop_prob, dropblock=dropblock, antialias=antialias)


@register("resnext29_16x64d", paper="xie2017aggregated", family="resnext", tags=("chapter06", "large"))
def resnext29_16x64d(num_classes: int = 10, *, drop_prob: float = 0.0, dropblock: float = 0.0,
                     antialias: bool = False) -> ResNet:
    """ResNeXt-29, 16x64d on CIFAR [xie2017aggregated].

    Ours has 68.155M parameters at 10 classes; Table 7 prints 68.1M, so the figure seems truncated,
    not rounded (the 8x64d form matches its 34.4M either way). It carries no reference figure.
    """
    return cifar_resnext(16, 64, num_classes, drop_prob=drop_prob, dropblock=dropblock, antialias=antialias)
