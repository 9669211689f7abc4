"""GoogLeNet [szegedy2015going]: a stem, nine Inception modules, global average pooling, two aux heads.

Three forms:

* ``googlenet_imagenet``: torchvision's layout exactly (``torchvision.models.googlenet(aux_logits=
  True)``), which departs from the paper in three ways: batch normalization after every
  convolution (as in BN-Inception [ioffe2015batch]; no LRN, no conv biases), a 3x3 kernel in the
  "5x5" branch (torchvision's known quirk, kept for its pretrained weights), and a 2x2 last
  max-pool and 0.2 dropout before the classifier.
* ``googlenet_paper_imagenet``: the paper's network (Table 1, Fig. 3): conv + bias + ReLU, 5x5
  branches, LRN after the first pool and after conv3 (size 5, alpha 1e-4 in PyTorch's convention,
  beta 0.75, as in the BVLC Caffe reproduction: the paper gives no values), aux heads with a
  5x5/3 average pool, dropout 0.4. Without its aux heads we count 6,998,552 parameters (6.99M
  weights without biases); Table 1's column sums to 6.8M, but its rows disagree with its own
  layer sizes (conv1 is 7x7x3x64 = 9.4K weights, printed 2.7K; 3a is 163K, printed 159K), so no
  reference figure is registered and the tests check every module against Table 1's sizes.
* ``googlenet`` (CIFAR): torchvision's modules on 32x32: a 3x3 stem without stride (conv 64,
  1x1 64, 3x3 192) and one max-pool, so the Inception stages run at 16, 8 and 4 pixels; aux heads
  pool to 2x2 and have 512 hidden units. ``width`` scales every channel count (the aux heads' 128
  and 512 too); ``batch_norm=False`` removes every batch norm (conv + bias + ReLU, as the paper),
  for comparing with BN-Inception [ioffe2015batch] at the same learning rate.

In training mode the model returns ``(main, aux1, aux2)`` (aux1 after 4a, aux2 after 4d;
torchvision orders them the other way); in eval mode only the main logits. The paper weights the
aux losses by 0.3; that weighting belongs to the training loop. ``aux_logits=False`` removes them.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.conv import ConvBNAct
from ..layers.inception import InceptionAux, InceptionModule
from .base import Network
from .registry import register

__all__ = ["GoogLeNet", "GOOGLENET_MODULES"]

# Table 1 of [szegedy2015going]: in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
GOOGLENET_MODULES = {
    "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128), "5b": (832, 384, 192, 384, 48, 128, 128),
}
STEMS = ("torchvision", "paper", "cifar")


class GoogLeNet(Network):
    """Stem, inception3 (3a, 3b, pool), inception4 (4a-4e, pool), inception5 (5a, 5b), aux1, aux2, head."""

    def __init__(self, num_classes: int = 10, stem: str = "cifar", aux_logits: bool = True, width: float = 1.0,
                 dropout: float | None = None, aux_dropout: float = 0.7, batch_norm: bool | None = None):
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if batch_norm is not None and (not isinstance(batch_norm, bool) or stem != "cifar"):
            raise ValueError(f"batch_norm (True or False) is an option of the CIFAR form only (the ImageNet forms "
                             f"fix it: torchvision's has BN, the paper's has none); got {batch_norm!r} for stem "
                             f"{stem!r}")
        if width <= 0 or (width != 1.0 and stem != "cifar"):
            raise ValueError(f"width must be positive, and 1.0 for the ImageNet forms; got {width}")
        super().__init__(in_channels=3, input_size=32 if stem == "cifar" else 224)
        norm = stem != "paper" if batch_norm is None else batch_norm
        eps = 1e-3  # torchvision's BasicConv2d
        five = 3 if stem in ("torchvision", "cifar") else 5
        ch = lambda c: max(1, round(c * width))  # noqa: E731
        if stem == "cifar":
            self.stem = nn.Sequential(OrderedDict(
                conv1=ConvBNAct(3, ch(64), 3, norm=norm,
                                eps=eps), conv2=ConvBNAct(ch(64), ch(64), 1, norm=norm, eps=eps),
                conv3=ConvBNAct(ch(64), ch(192), 3, norm=norm, eps=eps), pool2=nn.MaxPool2d(3, 2, 1)))
        else:
            layers = OrderedDict(conv1=ConvBNAct(3, 64, 7, norm=norm, eps=eps, stride=2),
                                 pool1=nn.MaxPool2d(3, 2, ceil_mode=True))
            if stem == "paper":
                layers["norm1"] = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
            layers.update(conv2=ConvBNAct(64, 64, 1, norm=norm, eps=eps),
                          conv3=ConvBNAct(64, 192, 3, norm=norm, eps=eps))
            if stem == "paper":
                layers["norm2"] = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
            layers["pool2"] = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.stem = nn.Sequential(layers)

        def stage(names, pool=None):
            modules = OrderedDict()
            for n in names:
                in_c, *branches = GOOGLENET_MODULES[n]
                modules[n[1]] = InceptionModule(ch(in_c), *map(ch, branches), five_kernel=five, norm=norm, eps=eps)
            if pool is not None:
                modules["pool"] = pool
            return nn.Sequential(modules)

        self.inception3 = stage(["3a", "3b"], nn.MaxPool2d(3, 2, ceil_mode=True))
        last_pool = nn.MaxPool2d(3, 2, ceil_mode=True) if stem == "paper" else nn.MaxPool2d(2, 2, ceil_mode=True)
        self.inception4 = stage(["4a", "4b", "4c", "4d", "4e"], last_pool)
        self.inception5 = stage(["5a", "5b"])
        self.aux_logits = aux_logits
        if aux_logits:
            if stem == "cifar":
                aux = dict(pool_size=2, hidden=ch(512), conv_channels=ch(128))
            elif stem == "paper":
                aux = dict(pool_size=4, pool=None)
            else:
                aux = dict(pool_size=4)
            for i, channels in ((1, ch(512)), (2, ch(528))):
                if stem == "paper":
                    aux["pool"] = nn.AvgPool2d(5, 3)
                setattr(self, f"aux{i}", InceptionAux(channels, num_classes, dropout=aux_dropout, norm=norm, eps=eps,
                                                      **aux))
        if dropout is None:
            dropout = 0.4 if stem == "paper" else 0.2
        self.head = nn.Sequential(OrderedDict(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                                              dropout=nn.Dropout(dropout), fc=nn.Linear(ch(1024), num_classes)))

    def forward(self, x: torch.Tensor):
        x = self.inception4.a(self.inception3(self.stem(x)))
        after_4a = x
        x = self.inception4.d(self.inception4.c(self.inception4.b(x)))
        after_4d = x
        main = self.head(self.inception5(self.inception4.pool(self.inception4.e(x))))
        if self.training and self.aux_logits:
            return main, self.aux1(after_4a), self.aux2(after_4d)
        return main


@register("googlenet_imagenet", paper="szegedy2015going", family="googlenet", input_size=224,
          reference="torchvision.models.googlenet", torchvision_builder="googlenet", tags=("chapter04", "aux"))
def googlenet_imagenet(num_classes: int = 1000, *, aux_logits: bool = True, dropout: float | None = None,
                       aux_dropout: float = 0.7) -> GoogLeNet:
    """GoogLeNet in torchvision's layout (BN, 3x3 "5x5" branch), with aux heads."""
    return GoogLeNet(num_classes, stem="torchvision", aux_logits=aux_logits, dropout=dropout, aux_dropout=aux_dropout)


@register("googlenet_paper_imagenet", paper="szegedy2015going", family="googlenet", input_size=224,
          tags=("chapter04", "aux"))
def googlenet_paper_imagenet(num_classes: int = 1000, *, aux_logits: bool = True, dropout: float | None = None,
                             aux_dropout: float = 0.7) -> GoogLeNet:
    """GoogLeNet as published: no BN, 5x5 branches, LRN (7.0M parameters without aux heads)."""
    return GoogLeNet(num_classes, stem="paper", aux_logits=aux_logits, dropout=dropout, aux_dropout=aux_dropout)


@register("googlenet", paper="szegedy2015going", family="googlenet", tags=("chapter04", "aux"))
def googlenet(num_classes: int = 10, *, width: float = 1.0, aux_logits: bool = True, dropout: float | None = None,
              aux_dropout: float = 0.7, batch_norm: bool = True) -> GoogLeNet:
    """GoogLeNet on 32x32 (module docstring); ``width`` scales the channels; ``batch_norm=False`` removes
    every batch norm (the convolutions then get biases)."""
    return GoogLeNet(num_classes, stem="cifar", width=width, aux_logits=aux_logits, dropout=dropout,
                     aux_dropout=aux_dropout, batch_norm=batch_norm)
