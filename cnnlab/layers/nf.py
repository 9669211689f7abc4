"""Normalizer-free residual blocks [brock2021characterizing] [brock2021high], used by :mod:`cnnlab.models.nfnet`.

Each block computes ``h_{i+1} = h_i + skip_gain * alpha * f_i(act(h_i) / beta_i)`` with scaled
weight-standardized convs and scaled activations (:mod:`cnnlab.layers.scaled_ws`), so f_i maps a
unit-variance input to a unit-variance output; the model module explains beta and alpha.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
from torchvision.ops import StochasticDepth

from .scaled_ws import ScaledActivation, ScaledStdConv2d
from .se import SqueezeExcite

__all__ = ["NFBasicBlock", "NFBottleneck"]


class _TwiceSigmoid(nn.Module):
    """The NFNet SE gate, ``2 * sigmoid``: at init it keeps the signal's scale (sigmoid(0) * 2 = 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * torch.sigmoid(x)


class _NFResidual(nn.Module):
    """``shortcut + skip_gain * alpha * f(act(h) / beta)``; subclasses build ``body`` (f without its first act)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, beta: float, alpha: float, act: str,
                 skip_init: bool, drop_prob: float, pool_shortcut: bool):
        super().__init__()
        if beta <= 0 or alpha < 0:
            raise ValueError(f"beta must be positive and alpha non-negative, got beta={beta!r}, alpha={alpha!r}")
        self.beta, self.alpha = beta, alpha
        self.act = ScaledActivation(act)
        if stride > 1 and pool_shortcut:
            self.shortcut = nn.Sequential(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
                                          ScaledStdConv2d(in_channels, out_channels, 1))
        elif stride > 1 or in_channels != out_channels:
            self.shortcut = ScaledStdConv2d(in_channels, out_channels, 1, stride)
        else:
            self.shortcut = None
        self.skip_gain = nn.Parameter(torch.zeros(()) if skip_init else torch.ones(()))
        self.drop_path = StochasticDepth(drop_prob, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(x) / self.beta
        shortcut = x if self.shortcut is None else self.shortcut(out)
        return shortcut + self.drop_path(self.body(out)) * self.skip_gain * self.alpha


class NFBasicBlock(_NFResidual):
    """NF-ResNet basic block [brock2021characterizing]: f = conv3x3 (stride), act, conv3x3."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, beta: float = 1.0, alpha: float = 0.2,
                 act: str = "relu", skip_init: bool = True, drop_prob: float = 0.0):
        super().__init__(in_channels, out_channels, stride, beta, alpha, act, skip_init, drop_prob, pool_shortcut=False)
        self.body = nn.Sequential(ScaledStdConv2d(in_channels, out_channels, 3, stride), ScaledActivation(act),
                                  ScaledStdConv2d(out_channels, out_channels, 3))


class NFBottleneck(_NFResidual):
    """NFNet block [brock2021high] Fig. 5: 1x1, grouped 3x3 (stride), grouped 3x3, 1x1, SE (x2 gate).

    The inner width is ``expansion * out_channels`` rounded to whole groups of ``group_size``
    channels; the transition shortcut is 2x2 average pooling then a 1x1 conv.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, beta: float = 1.0, alpha: float = 0.2,
                 act: str = "gelu", skip_init: bool = True, drop_prob: float = 0.0, expansion: float = 0.5,
                 group_size: int = 128, se_ratio: float = 0.5):
        super().__init__(in_channels, out_channels, stride, beta, alpha, act, skip_init, drop_prob, pool_shortcut=True)
        groups = int(out_channels * expansion) // group_size
        if groups < 1:
            raise ValueError(f"group_size {group_size} exceeds the inner width {int(out_channels * expansion)}")
        width = groups * group_size
        self.body = nn.Sequential(OrderedDict([
            ("conv1", ScaledStdConv2d(in_channels, width, 1)), ("act1", ScaledActivation(act)),
            ("conv2", ScaledStdConv2d(width, width, 3, stride, groups=groups)), ("act2", ScaledActivation(act)),
            ("conv2b", ScaledStdConv2d(width, width, 3, groups=groups)), ("act3", ScaledActivation(act)),
            ("conv3", ScaledStdConv2d(width, out_channels, 1)),
            ("se", SqueezeExcite(out_channels, squeeze_channels=max(1, int(out_channels * se_ratio)),
                                 scale_activation=_TwiceSigmoid)),
        ]))
