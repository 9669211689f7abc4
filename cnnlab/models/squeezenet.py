"""SqueezeNet [iandola2016squeezenet]: AlexNet-level accuracy with 50x fewer parameters.

A conv stem, eight Fire modules (:class:`cnnlab.layers.Fire`) with max-pooling in between, and
no fully connected layer: a 1x1 conv gives one map per class, averaged globally ("conv10").
Version 1.0 is the paper's Table 1; version 1.1 (from the authors' repository) starts with a
3x3/2 conv of 64 filters and pools earlier, for 2.4x less computation at the same accuracy.
Both match torchvision's ``squeezenet1_0`` / ``squeezenet1_1`` parameter for parameter.

The weights start as torchvision's (and the paper's Caffe model's conv10): He-uniform convolutions
[he2015delving] with zero biases, conv10 drawn from N(0, 0.01^2). Without batch norm the start matters:
PyTorch's default initialization (a third of He's variance per layer) leaves the CIFAR form's output at
the chance loss, and it does not train at a learning rate of 0.1.

Departure (CIFAR form ``squeezenet``): the 1.1 layout with a 3x3 stem of stride 1, because the
stride-2 stem and three max-pools would leave a 32x32 image 1x1 before the last Fire modules.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from ..layers.fire import Fire
from .base import Network
from .registry import register

__all__ = ["SqueezeNet"]

# Fire settings (squeeze, expand1x1, expand3x3) and "pool" markers, in order
_FIRES = {
    "1_0": [(16, 64, 64), (16, 64, 64), (32, 128, 128), "pool", (32, 128, 128), (48, 192, 192), (48, 192, 192),
            (64, 256, 256), "pool", (64, 256, 256)],
    "1_1": [(16, 64, 64), (16, 64, 64), "pool", (32, 128, 128), (32, 128, 128), "pool", (48, 192, 192),
            (48, 192, 192), (64, 256, 256), (64, 256, 256)],
}


class SqueezeNet(Network):
    """SqueezeNet ``version`` "1_0" or "1_1"; ``cifar=True`` gives the 3x3 stride-1 stem; ``batch_norm=True``
    puts a BatchNorm after the stem conv and every Fire conv (not in the paper; see :class:`cnnlab.layers.Fire`).

    Children: ``stem`` (conv, ReLU, max-pool), ``features`` (fire2..fire9 and pools), ``head``
    (dropout 0.5, conv10 1x1 to classes, ReLU, global average pooling), as the paper.
    """

    def __init__(self, num_classes: int = 1000, version: str = "1_0", cifar: bool = False, batch_norm: bool = False):
        if version not in _FIRES:
            raise ValueError(f"unknown SqueezeNet version {version!r}; expected one of {tuple(_FIRES)}")
        super().__init__(in_channels=3, min_input_size=8 if cifar else 32)
        # (channels, kernel, stride, padding) of the stem conv
        channels, kernel, stride, padding = (64, 3, 1, 1) if cifar else (96, 7, 2, 0) if version == "1_0" else (64, 3, 2, 0)
        conv = nn.Conv2d(3, channels, kernel, stride, padding, bias=not batch_norm)
        norm = [nn.BatchNorm2d(channels)] if batch_norm else []
        self.stem = nn.Sequential(conv, *norm, nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True))
        layers, index = OrderedDict(), 2
        for i, setting in enumerate(_FIRES[version]):
            if setting == "pool":
                layers[f"pool{i}"] = nn.MaxPool2d(3, 2, ceil_mode=True)
                continue
            layers[f"fire{index}"] = Fire(channels, *setting, norm=batch_norm)
            channels, index = layers[f"fire{index}"].out_channels, index + 1
        self.features = nn.Sequential(layers)
        self.head = nn.Sequential(OrderedDict([
            ("dropout", nn.Dropout(0.5)), ("conv10", nn.Conv2d(channels, num_classes, 1)),
            ("relu", nn.ReLU(inplace=True)), ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten())]))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                if module is self.head.conv10:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.stem(x)))


@register("squeezenet1_0_imagenet", paper="iandola2016squeezenet", family="squeezenet", input_size=224,
          reference="torchvision.models.squeezenet1_0", torchvision_builder="squeezenet1_0", tags=("chapter08",))
def squeezenet1_0_imagenet(num_classes: int = 1000) -> SqueezeNet:
    """SqueezeNet 1.0 of [iandola2016squeezenet] Table 1."""
    return SqueezeNet(num_classes, "1_0")


@register("squeezenet1_1_imagenet", paper="iandola2016squeezenet", family="squeezenet", input_size=224,
          reference="torchvision.models.squeezenet1_1", torchvision_builder="squeezenet1_1", tags=("chapter08",))
def squeezenet1_1_imagenet(num_classes: int = 1000) -> SqueezeNet:
    """SqueezeNet 1.1 (the authors' repository): 3x3/2 stem of 64 filters, earlier pooling."""
    return SqueezeNet(num_classes, "1_1")


@register("squeezenet", paper="iandola2016squeezenet", family="squeezenet", tags=("chapter08",))
def squeezenet(num_classes: int = 10, *, batch_norm: bool = False) -> SqueezeNet:
    """SqueezeNet 1.1 for CIFAR: 3x3 stride-1 stem (see module docstring); ``batch_norm`` adds BatchNorm."""
    return SqueezeNet(num_classes, "1_1", cifar=True, batch_norm=batch_norm)
