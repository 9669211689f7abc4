"""AlexNet [krizhevsky2012imagenet] and ZFNet [zeiler2014visualizing]: five convolutions, three FC layers.

One class, :class:`AlexNet`, builds both from a list of convolution specs, with the options
chapter 02 compares: ``groups`` (the two-GPU towers of the original as grouped convolutions),
``lrn`` (local response normalization, :class:`cnnlab.layers.lrn.PaperLRN`), ``overlap_pool``
(3x3 windows with stride 2 instead of 2x2 with stride 2), ``act`` (``"relu"`` or ``"tanh"``) and
``dropout`` (in the first two FC layers). Forms:

* ``alexnet_imagenet``: as published. The paper says 224x224 inputs, but 11x11/4 convolutions
  only give its 55x55 maps from 227x227 (224 would need padding), so we take 227, the common
  correction. conv1 and conv3 see both towers (dense); conv2, conv4, conv5 see only their own
  tower (``groups=2``). We count 60,965,224 parameters at 1000 classes (the paper: "60 million");
  with ``groups=1`` 62,378,344. Weights use PyTorch's default init, not the paper's N(0, 0.01)
  with unit biases.
* ``alexnet_onetower_imagenet``: torchvision's single-tower layout (64-192-384-256-256 channels,
  no LRN, 224 input). It follows the one-GPU configuration of cuda-convnet2, not the table of
  [krizhevsky2014one], which has 64-192-384-384-256 (384 channels in conv4).
* ``zfnet_imagenet``: 7x7/2 first layer and 5x5/2 second layer instead of 11x11/4 and 5x5/1,
  3x3/2 max-pools (rounding up, which gives the paper's 110-55-26-13-13-13-6 map sizes from 224
  with a padding of 1 in conv1), contrast normalization after pooling (as LRN), one tower (dense
  conv3-5, as ZFNet ran on one GPU).
* ``alexnet`` and ``zfnet``: the same ideas at 32x32. AlexNet's big early stride becomes a 5x5/2
  conv1; ZFNet moves that stride to conv2 and uses a 3x3/1 conv1. Channels 64-128-192-192-128 and
  512-unit FC layers, so a CPU trains them in minutes; both end on 2x2 maps.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
import math

import torch
from torch import nn

from ..layers.lrn import PaperLRN
from .base import Network
from .registry import register

__all__ = ["AlexNet", "ConvSpec", "ACTIVATIONS"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


@dataclass(frozen=True)
class ConvSpec:
    """One convolution of the feature extractor and what follows its activation.

    ``grouped``: the conv only sees its own tower (groups = the model's ``groups``).
    ``then``: the layers after the activation, in order, from ``"norm"`` and ``"pool"``.
    """

    out_channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    grouped: bool = False
    then: tuple[str, ...] = ()


def _side_after(side: int, kernel: int, stride: int, padding: int, ceil: bool) -> int:
    span = side + 2 * padding - kernel
    return (math.ceil(span / stride) if ceil else span // stride) + 1


class AlexNet(Network):
    """Convolutions from ``convs``, then Flatten and FC layers ``fc_width``-``fc_width``-classes.

    ``pool_padding`` and ``pool_ceil`` shape the overlapping 3x3/2 pools; non-overlapping pools
    are 2x2/2. ``adaptive_pool`` (torchvision's layout) adds an adaptive average pool to that side.
    """

    def __init__(self, convs: list[ConvSpec], num_classes: int = 10, input_size: int = 32, in_channels: int = 3,
                 fc_width: int = 512, groups: int = 1, lrn: bool = True, overlap_pool: bool = True,
                 act: str = "relu", dropout: float = 0.5, pool_padding: int = 0, pool_ceil: bool = False,
                 adaptive_pool: int | None = None):
        super().__init__(in_channels=in_channels, input_size=input_size)
        if act not in ACTIVATIONS:
            raise ValueError(f"act must be one of {sorted(ACTIVATIONS)}, got {act!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"groups must be a positive integer (1 or 2 towers), got {groups!r}")
        layers, channels, side = OrderedDict(), in_channels, input_size
        for i, spec in enumerate(convs, start=1):
            g = groups if spec.grouped else 1
            if channels % g or spec.out_channels % g:
                raise ValueError(f"groups={groups} must divide conv{i}'s {channels} input and "
                                 f"{spec.out_channels} output channels")
            layers[f"conv{i}"] = nn.Conv2d(channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding,
                                           groups=g)
            layers[f"act{i}"] = ACTIVATIONS[act]()
            channels, side = spec.out_channels, _side_after(side, spec.kernel_size, spec.stride, spec.padding, False)
            for step in spec.then:
                if step == "norm" and lrn:
                    layers[f"norm{i}"] = PaperLRN(size=5, alpha=1e-4, beta=0.75, k=2.0)
                elif step == "pool" and overlap_pool:
                    layers[f"pool{i}"] = nn.MaxPool2d(3, 2, pool_padding, ceil_mode=pool_ceil)
                    side = _side_after(side, 3, 2, pool_padding, pool_ceil)
                elif step == "pool":
                    layers[f"pool{i}"] = nn.MaxPool2d(2, 2)
                    side = _side_after(side, 2, 2, 0, False)
        if side < 1:
            raise ValueError(f"input_size {input_size} is too small for these convolutions and pools")
        self.features = nn.Sequential(layers)
        if adaptive_pool is not None:
            self.avgpool = nn.AdaptiveAvgPool2d(adaptive_pool)
            side = adaptive_pool
        else:
            self.avgpool = nn.Identity()
        Act = ACTIVATIONS[act]
        self.classifier = nn.Sequential(OrderedDict(
            flatten=nn.Flatten(),
            drop6=nn.Dropout(dropout), fc6=nn.Linear(channels * side * side, fc_width), act6=Act(),
            drop7=nn.Dropout(dropout), fc7=nn.Linear(fc_width, fc_width), act7=Act(),
            fc8=nn.Linear(fc_width, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


ALEXNET_IMAGENET = [
    ConvSpec(96, 11, 4, 0, grouped=False, then=("norm", "pool")),
    ConvSpec(256, 5, 1, 2, grouped=True, then=("norm", "pool")),
    ConvSpec(384, 3, 1, 1, grouped=False),
    ConvSpec(384, 3, 1, 1, grouped=True),
    ConvSpec(256, 3, 1, 1, grouped=True, then=("pool",)),
]
ALEXNET_ONETOWER = [
    ConvSpec(64, 11, 4, 2, then=("pool",)), ConvSpec(192, 5, 1, 2, then=("pool",)),
    ConvSpec(384, 3, 1, 1), ConvSpec(256, 3, 1, 1), ConvSpec(256, 3, 1, 1, then=("pool",)),
]
ZFNET_IMAGENET = [
    ConvSpec(96, 7, 2, 1, then=("pool", "norm")),
    ConvSpec(256, 5, 2, 0, then=("pool", "norm")),
    ConvSpec(384, 3, 1, 1), ConvSpec(384, 3, 1, 1), ConvSpec(256, 3, 1, 1, then=("pool",)),
]
ALEXNET_CIFAR = [
    ConvSpec(64, 5, 2, 2, grouped=False, then=("norm", "pool")),
    ConvSpec(128, 5, 1, 2, grouped=True, then=("norm", "pool")),
    ConvSpec(192, 3, 1, 1, grouped=False),
    ConvSpec(192, 3, 1, 1, grouped=True),
    ConvSpec(128, 3, 1, 1, grouped=True, then=("pool",)),
]
ZFNET_CIFAR = [
    ConvSpec(64, 3, 1, 1, then=("pool", "norm")),
    ConvSpec(128, 5, 2, 2, grouped=True, then=("pool", "norm")),
    ConvSpec(192, 3, 1, 1), ConvSpec(192, 3, 1, 1, grouped=True), ConvSpec(128, 3, 1, 1, grouped=True, then=("pool",)),
]


@register("alexnet_imagenet", paper="krizhevsky2012imagenet", family="alexnet", input_size=227, tags=("chapter02",))
def alexnet_imagenet(num_classes: int = 1000, *, groups: int = 2, lrn: bool = True, overlap_pool: bool = True,
                     act: str = "relu", dropout: float = 0.5) -> AlexNet:
    """AlexNet as published: two towers (``groups=2``), LRN, overlapping pools, 227x227 input."""
    return AlexNet(ALEXNET_IMAGENET, num_classes, input_size=227, fc_width=4096, groups=groups, lrn=lrn,
                   overlap_pool=overlap_pool, act=act, dropout=dropout)


@register("alexnet_onetower_imagenet", paper="krizhevsky2012imagenet", family="alexnet", input_size=224,
          reference="torchvision.models.alexnet", torchvision_builder="alexnet", tags=("chapter02",))
def alexnet_onetower_imagenet(num_classes: int = 1000, *, act: str = "relu", dropout: float = 0.5) -> AlexNet:
    """torchvision's one-tower AlexNet (cuda-convnet2's one-GPU layout; see the module docstring): no LRN,
    no groups, adaptive 6x6 pool."""
    return AlexNet(ALEXNET_ONETOWER, num_classes, input_size=224, fc_width=4096, groups=1, lrn=False,
                   adaptive_pool=6, act=act, dropout=dropout)


@register("zfnet_imagenet", paper="zeiler2014visualizing", family="alexnet", input_size=224, tags=("chapter02",))
def zfnet_imagenet(num_classes: int = 1000, *, lrn: bool = True, act: str = "relu", dropout: float = 0.5) -> AlexNet:
    """ZFNet: 7x7/2 conv1, 5x5/2 conv2, 3x3/2 pools, contrast normalization, one tower."""
    return AlexNet(ZFNET_IMAGENET, num_classes, input_size=224, fc_width=4096, groups=1, pool_ceil=True, lrn=lrn,
                   act=act, dropout=dropout)


@register("alexnet", paper="krizhevsky2012imagenet", family="alexnet", tags=("chapter02",))
def alexnet(num_classes: int = 10, *, groups: int = 2, lrn: bool = True, overlap_pool: bool = True,
            act: str = "relu", dropout: float = 0.5) -> AlexNet:
    """AlexNet's ideas at 32x32 (module docstring): two towers, LRN, overlapping pools, ReLU, dropout."""
    return AlexNet(ALEXNET_CIFAR, num_classes, input_size=32, groups=groups, pool_padding=1, lrn=lrn,
                   overlap_pool=overlap_pool, act=act, dropout=dropout)


@register("zfnet", paper="zeiler2014visualizing", family="alexnet", tags=("chapter02",))
def zfnet(num_classes: int = 10, *, groups: int = 1, lrn: bool = True, overlap_pool: bool = True,
          act: str = "relu", dropout: float = 0.5) -> AlexNet:
    """ZFNet's ideas at 32x32: small first kernel with stride 1, the stride moved to conv2."""
    return AlexNet(ZFNET_CIFAR, num_classes, input_size=32, groups=groups, pool_padding=1, lrn=lrn,
                   overlap_pool=overlap_pool, act=act, dropout=dropout)
