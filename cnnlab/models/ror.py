"""Residual networks of residual networks, RoR [zhang2017residual]: shortcuts over groups of blocks.

A CIFAR ResNet already has a shortcut around every block (level 3). RoR-3 adds a shortcut around
each stage (level 2) and one around all three stages (level 1, the root), so a group of blocks
learns a residual of a residual. The added shortcuts are 1x1 projections with batch norm where the
shape changes (stride 2 per stage, stride 4 for the root), the identity otherwise (the paper
compares zero-padded and projection shortcuts for these levels; we use projections); the block
shortcuts stay as in the backbone. Level 2 and level 1 join in the last block of their stage(s),
before that block's final activation.

No parameter count is checked: the paper's figures (e.g. for RoR-3-WRN58-4) could not be matched
with confidence to one shortcut configuration.

``k`` > 1 builds RoR-3 over a Wide ResNet (pre-activation "wrn" blocks, [zagoruyko2016wide]).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import Network
from .registry import register
from .resnet import cifar_resnet, wide_resnet

__all__ = ["RoR"]


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


class RoR(Network):
    """RoR-3 over the CIFAR ResNet-``depth`` (``k=1``) or over WRN-``depth``-``k``.

    ``drop_prob`` is stochastic depth in the backbone (the paper combines it with RoR), ``dropout``
    the WRN blocks' dropout (``k > 1`` only). DropBlock is not offered: it would follow the stage's
    last block, inside which the stage shortcuts join.
    """

    def __init__(self, depth: int, k: int = 1, num_classes: int = 10, drop_prob: float = 0.0, dropout: float = 0.0):
        super().__init__(in_channels=3, min_input_size=4)
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"the widening factor k must be a positive integer, got {k!r}")
        if k == 1:
            if dropout:
                raise ValueError("dropout between the convolutions belongs to the WRN blocks (k > 1)")
            backbone = cifar_resnet(depth, num_classes, drop_prob=drop_prob)
        else:
            backbone = wide_resnet(depth, k, num_classes, dropout=dropout, drop_prob=drop_prob)
        self.stem, self.stages, self.head = backbone.stem, backbone.stages, backbone.head
        widths = [16 * k, 32 * k, 64 * k]
        self.stage_shortcuts = nn.ModuleList(_projection(c_in, c_out, 1 if s == 0 else 2)
                                             for s, (c_in, c_out) in enumerate(zip([16] + widths, widths)))
        self.root_shortcut = _projection(16, widths[-1], 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        root = self.root_shortcut(x)
        last_stage = len(self.stages) - 1
        for s, (stage, level2) in enumerate(zip(self.stages, self.stage_shortcuts)):
            extra = level2(x)
            if s == last_stage:
                extra = extra + root
            for block in stage[:-1]:
                x = block(x)
            x = stage[-1](x, extra)
        return self.head(x)


@register("ror3_resnet20", paper="zhang2017residual", family="ror", tags=("chapter06",))
def ror3_resnet20(num_classes: int = 10, *, drop_prob: float = 0.0) -> RoR:
    """RoR-3 over ResNet-20: a small form for quick runs."""
    return RoR(20, 1, num_classes, drop_prob=drop_prob)


@register("ror3_resnet110", paper="zhang2017residual", family="ror", tags=("chapter06",))
def ror3_resnet110(num_classes: int = 10, *, drop_prob: float = 0.0) -> RoR:
    """RoR-3-110 [zhang2017residual]: RoR-3 over the CIFAR ResNet-110 of [he2016deep]."""
    return RoR(110, 1, num_classes, drop_prob=drop_prob)


@register("ror3_wrn58_4", paper="zhang2017residual", family="ror", tags=("chapter06", "large"))
def ror3_wrn58_4(num_classes: int = 10, *, drop_prob: float = 0.0, dropout: float = 0.0) -> RoR:
    """RoR-3-WRN58-4 [zhang2017residual]: RoR-3 over WRN-58-4."""
    return RoR(58, 4, num_classes, drop_prob=drop_prob, dropout=dropout)
