"""Inception-v3 [szegedy2016rethinking]: factorized Inception modules on three grid sizes.

``inception_v3_imagenet`` is torchvision's Inception-v3 (299x299 input, parameter count equal to
``torchvision.models.inception_v3(aux_logits=True)``). torchvision follows the released
TensorFlow model, which departs from the paper's Table 1 in places: its first three modules keep
a 5x5 branch beside the factorized 3x3-3x3 one, its grid reductions pad nothing and differ
between the two grids (the second uses 1x7, 7x1 convolutions), and its auxiliary head is a 1x1
and a 5x5 convolution. In training mode it returns ``(main, aux)``, in eval mode the main logits.

``inception_v3_small`` keeps the design of Inception-v3 and scales it to CIFAR: a stem of three
3x3 convolutions (no stride: the image is already small), then three grid sizes joined by
:class:`~cnnlab.layers.inception.GridReduction` blocks: two factorized-5x5 modules (Fig. 5) on
16x16, two asymmetric modules (Fig. 6) on 8x8, one expanded module (Fig. 7) on 4x4, then global
average pooling, dropout and one linear layer. Departures from the paper's 299x299 network: far
fewer channels, n=3 in the asymmetric modules (the paper's n=7 on a 17x17 grid covers a similar
fraction of the grid as 3 on 8x8), "same" padding throughout, and no auxiliary head (the paper
finds it acts as a regularizer late in training only). Label smoothing, the paper's other
addition, is an option of the training loss, not of the model.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.conv import ConvBNAct
from ..layers.inception import (GridReduction, InceptionAsymmetric, InceptionExpanded, InceptionFactorized5x5,
                                InceptionV3Aux)
from .base import Network
from .registry import register

__all__ = ["InceptionV3Small", "InceptionV3"]


class InceptionV3Small(Network):
    """stem, reduce1, mixed16 (2 x Fig. 5), reduce2, mixed8 (2 x Fig. 6), reduce3, mixed4 (Fig. 7), head."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, dropout: float = 0.2, n: int = 3):
        super().__init__(in_channels=3, min_input_size=8)
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        ch = lambda c: max(1, round(c * width))  # noqa: E731
        self.stem = nn.Sequential(ConvBNAct(3, ch(32), 3, eps=1e-3), ConvBNAct(ch(32), ch(32), 3, eps=1e-3),
                                  ConvBNAct(ch(32), ch(64), 3, eps=1e-3))
        self.reduce1 = GridReduction(ch(64), ch(32), ch(64), ch(32), ch(64))
        a1 = InceptionFactorized5x5(self.reduce1.out_channels, ch(64), ch(48), ch(64), ch(64), ch(96), ch(32))
        a2 = InceptionFactorized5x5(a1.out_channels, ch(64), ch(48), ch(64), ch(64), ch(96), ch(32))
        self.mixed16 = nn.Sequential(OrderedDict(a1=a1, a2=a2))
        self.reduce2 = GridReduction(a2.out_channels, ch(64), ch(96), ch(64), ch(96))
        b1 = InceptionAsymmetric(self.reduce2.out_channels, ch(128), ch(96), ch(128), ch(96), ch(128), ch(96), n=n)
        b2 = InceptionAsymmetric(b1.out_channels, ch(128), ch(96), ch(128), ch(96), ch(128), ch(96), n=n)
        self.mixed8 = nn.Sequential(OrderedDict(b1=b1, b2=b2))
        self.reduce3 = GridReduction(b2.out_channels, ch(96), ch(128), ch(96), ch(128))
        c1 = InceptionExpanded(self.reduce3.out_channels, ch(128), ch(128), ch(128), ch(128), ch(128), ch(64))
        self.mixed4 = nn.Sequential(OrderedDict(c1=c1))
        self.head = nn.Sequential(OrderedDict(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                                              dropout=nn.Dropout(dropout), fc=nn.Linear(c1.out_channels, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mixed16(self.reduce1(self.stem(x)))
        x = self.mixed8(self.reduce2(x))
        return self.head(self.mixed4(self.reduce3(x)))


@register("inception_v3_small", paper="szegedy2016rethinking", family="inception", tags=("chapter04",))
def inception_v3_small(num_classes: int = 10, *, width: float = 1.0, dropout: float = 0.2,
                       n: int = 3) -> InceptionV3Small:
    """A CIFAR-sized Inception-v3 (module docstring); ``width`` scales the channels, ``n`` the asymmetric kernels."""
    return InceptionV3Small(num_classes, width=width, dropout=dropout, n=n)


class InceptionV3(Network):
    """torchvision's Inception-v3: stem, mixed5 (b-d), mixed6 (a-e), aux, mixed7 (a-c), head."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, dropout: float = 0.5):
        super().__init__(in_channels=3, input_size=299)
        self.stem = nn.Sequential(OrderedDict(
            conv1a=ConvBNAct(3, 32, 3, eps=1e-3, stride=2, padding=0), conv2a=ConvBNAct(32, 32, 3, eps=1e-3, padding=0),
            conv2b=ConvBNAct(32, 64, 3, eps=1e-3), pool1=nn.MaxPool2d(3, 2),
            conv3b=ConvBNAct(64, 80, 1, eps=1e-3), conv4a=ConvBNAct(80, 192, 3, eps=1e-3, padding=0),
            pool2=nn.MaxPool2d(3, 2)))
        self.mixed5 = nn.Sequential(OrderedDict(
            (name, InceptionFactorized5x5(c_in, 64, 48, 64, 64, 96, proj, branch3_kernel=5))
            for name, c_in, proj in (("b", 192, 32), ("c", 256, 64), ("d", 288, 64))))
        mixed6 = OrderedDict(a=GridReduction(288, None, 384, 64, 96, padding=0))
        for name, c7 in (("b", 128), ("c", 160), ("d", 160), ("e", 192)):
            mixed6[name] = InceptionAsymmetric(768, 192, c7, 192, c7, 192, 192, n=7)
        self.mixed6 = nn.Sequential(mixed6)
        self.aux_logits = aux_logits
        if aux_logits:
            self.aux = InceptionV3Aux(768, num_classes)
        self.mixed7 = nn.Sequential(OrderedDict(
            a=GridReduction(768, 192, 320, 192, 192, padding=0, middle=((1, 7), (7, 1))),
            b=InceptionExpanded(1280, 320, 384, 384, 448, 384, 192),
            c=InceptionExpanded(2048, 320, 384, 384, 448, 384, 192)))
        self.head = nn.Sequential(OrderedDict(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                                              dropout=nn.Dropout(dropout), fc=nn.Linear(2048, num_classes)))

    def forward(self, x: torch.Tensor):
        x = self.mixed6(self.mixed5(self.stem(x)))
        main = self.head(self.mixed7(x))
        if self.training and self.aux_logits:
            return main, self.aux(x)
        return main


@register("inception_v3_imagenet", paper="szegedy2016rethinking", family="inception", input_size=299,
          reference="torchvision.models.inception_v3", torchvision_builder="inception_v3", tags=("chapter04", "aux"))
def inception_v3_imagenet(num_classes: int = 1000, *, aux_logits: bool = True, dropout: float = 0.5) -> InceptionV3:
    """Inception-v3 at 299x299 in torchvision's layout (module docstring), with its aux head."""
    return InceptionV3(num_classes, aux_logits=aux_logits, dropout=dropout)
