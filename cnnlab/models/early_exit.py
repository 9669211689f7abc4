"""A CIFAR ResNet with a classifier after every stage: the early-exit baseline of [huang2018multiscale].

An early exit lets an easy image leave the network after the first stage. Attached to a ResNet,
the early classifiers only see fine, low-level features, and training them pulls those features
away from what the final classifier needs: MSDNet's paper shows this costs the last exit accuracy
(compare with :mod:`cnnlab.models.msdnet`).

The model returns the list of every exit's logits, earliest first, in training and in eval (tag
"multi-exit"). The early exits are global average pooling and a linear layer, the same as the
final head; the classifiers of [huang2018multiscale] add two 3x3 convs first.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import Network
from .registry import register
from .resnet import cifar_resnet

__all__ = ["EarlyExitResNet"]


class EarlyExitResNet(Network):
    """The ``depth``-layer CIFAR ResNet of [he2016deep] §4.2 with an exit after each of its 3 stages.

    ``block_variant`` and ``drop_prob`` go to :func:`cnnlab.models.resnet.cifar_resnet`; the last
    exit is that ResNet's own head, so the backbone and the last exit are exactly a ResNet.
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, block_variant: str = "original",
                 drop_prob: float = 0.0):
        super().__init__(in_channels=3, min_input_size=4)
        backbone = cifar_resnet(depth, num_classes, block_variant=block_variant, drop_prob=drop_prob)
        self.stem, self.stages = backbone.stem, backbone.stages
        pre_activated = block_variant != "original"
        early = []
        for channels in (16, 32):
            norm = [nn.BatchNorm2d(channels), nn.ReLU()] if pre_activated else []
            early.append(nn.Sequential(*norm, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)))
        self.exits = nn.ModuleList(early + [backbone.head])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        logits = []
        for stage, classifier in zip(self.stages, self.exits):
            x = stage(x)
            logits.append(classifier(x))
        return logits


@register("resnet_early_exit", paper="huang2018multiscale", family="early_exit", tags=("chapter15", "multi-exit"))
def resnet_early_exit(num_classes: int = 10, *, depth: int = 20, block_variant: str = "original",
                      drop_prob: float = 0.0) -> EarlyExitResNet:
    """ResNet-20 on CIFAR with exits after stages 1, 2 and 3; returns a list of 3 logits."""
    return EarlyExitResNet(depth, num_classes, block_variant=block_variant, drop_prob=drop_prob)
