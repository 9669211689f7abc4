"""DenseNet [huang2017densely]: dense blocks joined by transitions (see :mod:`cnnlab.layers.dense`).

* ``densenet121/161/169/201_imagenet``: torchvision's layout (7x7/2 stem conv and 3x3/2 max-pool,
  four DenseNet-BC blocks, bn_size 4, compression 0.5); parameter counts equal torchvision's.
* ``densenet40_k12``: the paper's CIFAR DenseNet (L=40, k=12): a 3x3 conv with 16 maps, three
  blocks of 12 plain BN-ReLU-conv3x3 layers, transitions without compression; 1.0M parameters
  (Table 2).
* ``densenet_bc100_k12``: DenseNet-BC (L=100, k=12): a 3x3 conv with 2k maps, three blocks of 16
  bottleneck layers, compression 0.5; 0.8M parameters (Table 2).

CIFAR options: ``depth`` (3n+4 plain, 6n+4 with bottlenecks, see :func:`cifar_densenet`),
``growth_rate``, ``bottleneck``, ``compression``, ``dropout`` (the paper uses 0.2 without data
augmentation) and ``memory_efficient`` (checkpointed concatenation [pleiss2017memory], see
:mod:`cnnlab.layers.dense`; every builder has it, as torchvision's do). We count 1,019,722 and 769,162 parameters at 10 classes, which round to the
paper's 1.0M and 0.8M. Weights use He-normal init as the authors' code does.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.dense import DenseBlock, Transition
from .base import Network
from .registry import register

__all__ = ["DenseNet", "cifar_densenet"]


class DenseNet(Network):
    """stem, ``features`` (block1, transition1, ..., blockN), head (BN, ReLU, global pool, linear)."""

    def __init__(self, block_layers: list[int], growth_rate: int, num_classes: int = 10, stem: str = "cifar",
                 stem_channels: int | None = None, bottleneck: bool = True, compression: float = 0.5, bn_size: int = 4,
                 dropout: float = 0.0, memory_efficient: bool = False):
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}")
        if not block_layers or any(not isinstance(n, int) or n < 1 for n in block_layers):
            raise ValueError(f"block_layers must list at least one positive layer count, got {block_layers}")
        if not isinstance(growth_rate, int) or growth_rate < 1:
            raise ValueError(f"growth_rate k must be a positive integer, got {growth_rate!r}")
        super().__init__(in_channels=3, min_input_size=2 ** (len(block_layers) - 1) if stem == "cifar" else 32)
        channels = stem_channels if stem_channels is not None else 2 * growth_rate
        if stem == "imagenet":
            self.stem = nn.Sequential(OrderedDict(
                conv0=nn.Conv2d(3, channels, 7, 2, 3, bias=False), norm0=nn.BatchNorm2d(channels),
                relu0=nn.ReLU(inplace=True), pool0=nn.MaxPool2d(3, 2, 1)))
        else:
            self.stem = nn.Sequential(OrderedDict(conv0=nn.Conv2d(3, channels, 3, padding=1, bias=False)))
        features = OrderedDict()
        for i, num_layers in enumerate(block_layers, start=1):
            block = DenseBlock(num_layers, channels, growth_rate, bottleneck, bn_size, dropout, memory_efficient)
            features[f"block{i}"] = block
            channels = block.out_channels
            if i < len(block_layers):
                transition = Transition(channels, compression, dropout)
                features[f"transition{i}"] = transition
                channels = transition.out_channels
        self.features = nn.Sequential(features)
        self.head = nn.Sequential(OrderedDict(norm=nn.BatchNorm2d(channels), relu=nn.ReLU(inplace=True),
                                              pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                                              classifier=nn.Linear(channels, num_classes)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.stem(x)))


@register("densenet121_imagenet", paper="huang2017densely", family="densenet", input_size=224,
          reference="torchvision.models.densenet121", torchvision_builder="densenet121", tags=("chapter07",))
def densenet121_imagenet(num_classes: int = 1000, *, dropout: float = 0.0,
                         memory_efficient: bool = False) -> DenseNet:
    """densenet121 [huang2017densely] at 224x224: k=32, blocks [6, 12, 24, 16], torchvision's layout."""
    return DenseNet([6, 12, 24, 16], 32, num_classes, stem="imagenet", stem_channels=64, dropout=dropout,
                    memory_efficient=memory_efficient)


@register("densenet161_imagenet", paper="huang2017densely", family="densenet", input_size=224,
          reference="torchvision.models.densenet161", torchvision_builder="densenet161", tags=("chapter07",))
def densenet161_imagenet(num_classes: int = 1000, *, dropout: float = 0.0,
                         memory_efficient: bool = False) -> DenseNet:
    """densenet161 [huang2017densely] at 224x224: k=48, blocks [6, 12, 36, 24], torchvision's layout."""
    return DenseNet([6, 12, 36, 24], 48, num_classes, stem="imagenet", stem_channels=96, dropout=dropout,
                    memory_efficient=memory_efficient)


@register("densenet169_imagenet", paper="huang2017densely", family="densenet", input_size=224,
          reference="torchvision.models.densenet169", torchvision_builder="densenet169", tags=("chapter07",))
def densenet169_imagenet(num_classes: int = 1000, *, dropout: float = 0.0,
                         memory_efficient: bool = False) -> DenseNet:
    """densenet169 [huang2017densely] at 224x224: k=32, blocks [6, 12, 32, 32], torchvision's layout."""
    return DenseNet([6, 12, 32, 32], 32, num_classes, stem="imagenet", stem_channels=64, dropout=dropout,
                    memory_efficient=memory_efficient)


@register("densenet201_imagenet", paper="huang2017densely", family="densenet", input_size=224,
          reference="torchvision.models.densenet201", torchvision_builder="densenet201", tags=("chapter07",))
def densenet201_imagenet(num_classes: int = 1000, *, dropout: float = 0.0,
                         memory_efficient: bool = False) -> DenseNet:
    """densenet201 [huang2017densely] at 224x224: k=32, blocks [6, 12, 48, 32], torchvision's layout."""
    return DenseNet([6, 12, 48, 32], 32, num_classes, stem="imagenet", stem_channels=64, dropout=dropout,
                    memory_efficient=memory_efficient)


def cifar_densenet(depth: int = 100, growth_rate: int = 12, num_classes: int = 10, bottleneck: bool = True,
                   compression: float | None = None, dropout: float = 0.0,
                   memory_efficient: bool = False) -> DenseNet:
    """The CIFAR DenseNet of [huang2017densely]: three blocks of equal size, sized by ``depth``.

    ``depth`` = 3 * layers * convs_per_layer + 4 (the stem conv, two transitions, the classifier),
    with 2 convolutions per bottleneck layer and 1 otherwise. ``compression`` defaults to 0.5 with
    bottlenecks (DenseNet-BC) and 1 without (DenseNet).
    """
    per_layer = 2 if bottleneck else 1
    if not isinstance(depth, int) or depth < 3 * per_layer + 4 or (depth - 4) % (3 * per_layer):
        form = "6n+4 (e.g. 100, 190, 250)" if bottleneck else "3n+4 (e.g. 40, 100)"
        raise ValueError(f"a CIFAR DenseNet{'-BC' if bottleneck else ''} has depth {form}, got {depth!r}")
    if compression is None:
        compression = 0.5 if bottleneck else 1.0
    layers = (depth - 4) // (3 * per_layer)
    stem = 2 * growth_rate if bottleneck else 16
    return DenseNet([layers] * 3, growth_rate, num_classes, stem="cifar", stem_channels=stem, bottleneck=bottleneck,
                    compression=compression, dropout=dropout, memory_efficient=memory_efficient)


@register("densenet40_k12", paper="huang2017densely", family="densenet",
          reference="paper: huang2017densely, Table 2 (1.0M)", reference_params=1_000_000, reference_classes=10,
          tags=("chapter07",))
def densenet40_k12(num_classes: int = 10, *, depth: int = 40, growth_rate: int = 12, bottleneck: bool = False,
                   compression: float | None = None, dropout: float = 0.0,
                   memory_efficient: bool = False) -> DenseNet:
    """DenseNet (L=40, k=12) on CIFAR: plain dense layers, no compression (options: see cifar_densenet)."""
    return cifar_densenet(depth, growth_rate, num_classes, bottleneck=bottleneck, compression=compression,
                          dropout=dropout, memory_efficient=memory_efficient)


@register("densenet_bc100_k12", paper="huang2017densely", family="densenet",
          reference="paper: huang2017densely, Table 2 (0.8M)", reference_params=800_000, reference_classes=10,
          tags=("chapter07",))
def densenet_bc100_k12(num_classes: int = 10, *, depth: int = 100, growth_rate: int = 12, bottleneck: bool = True,
                       compression: float | None = None, dropout: float = 0.0,
                       memory_efficient: bool = False) -> DenseNet:
    """DenseNet-BC (L=100, k=12) on CIFAR: bottleneck layers, compression 0.5; ``depth=190, growth_rate=40``
    gives the paper's DenseNet-BC (L=190, k=40) (options: see cifar_densenet)."""
    return cifar_densenet(depth, growth_rate, num_classes, bottleneck=bottleneck, compression=compression,
                          dropout=dropout, memory_efficient=memory_efficient)
