"""The inverted residual block of MobileNetV2 [sandler2018mobilenetv2] and its EfficientNet form,
MBConv [tan2019efficientnet].

A ResNet bottleneck narrows then widens; the *inverted* residual widens then narrows: 1x1
expansion by ``expand_ratio`` (with activation), depthwise ``kernel_size`` conv (with activation),
then a *linear* 1x1 projection back to few channels (BN, no activation: a ReLU on a thin
representation would destroy information, [sandler2018mobilenetv2] §3.2). The shortcut joins
when the shape is kept. MBConv adds squeeze-and-excitation after the depthwise conv, Swish
(``nn.SiLU``) as activation and stochastic depth on the residual branch
(``torchvision.ops.StochasticDepth``, "row" mode).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.ops import StochasticDepth

from .conv import ConvBNAct
from .se import SqueezeExcite

__all__ = ["MBConv", "make_divisible"]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a scaled channel count to a multiple of ``divisor``, never more than 10% down (TF/torchvision rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class MBConv(nn.Module):
    """Inverted residual: expand 1x1 -> depthwise kxk -> [SE] -> project 1x1 (linear), + shortcut.

    ``se_ratio`` is the SE hidden width as a fraction of the block *input* channels (0.25 in
    EfficientNet, 0 = no SE as in MobileNetV2); ``act`` is ``nn.SiLU`` (EfficientNet) or
    ``nn.ReLU6`` (MobileNetV2). ``expand_ratio=1`` skips the expansion conv. ``drop_prob`` is the
    stochastic-depth probability of the residual branch (used only where the shortcut exists).
    Children: ``expand``, ``depthwise``, ``se``, ``project``, ``drop_path``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 expand_ratio: float = 6, se_ratio: float = 0.25, act: type[nn.Module] = nn.SiLU,
                 drop_prob: float = 0.0):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("kernel_size", kernel_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        if expand_ratio < 1:
            raise ValueError(f"expand_ratio must be at least 1 (an inverted residual widens), got {expand_ratio!r}")
        if not 0 <= se_ratio <= 1 or not 0 <= drop_prob < 1:
            raise ValueError(f"se_ratio must lie in [0, 1] and drop_prob in [0, 1), got {se_ratio}, {drop_prob}")
        hidden = make_divisible(in_channels * expand_ratio) if expand_ratio != 1 else in_channels
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = ConvBNAct(in_channels, hidden, 1, act=act) if expand_ratio != 1 else nn.Identity()
        self.depthwise = ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, act=act)
        self.se = (SqueezeExcite(hidden, squeeze_channels=max(1, int(in_channels * se_ratio)), activation=act)
                   if se_ratio > 0 else nn.Identity())
        self.project = ConvBNAct(hidden, out_channels, 1, act=None)
        self.drop_path = StochasticDepth(drop_prob, "row") if self.use_residual else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.se(self.depthwise(self.expand(x))))
        if self.use_residual:
            out = x + self.drop_path(out)
        return out
