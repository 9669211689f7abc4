"""Residual blocks [he2016deep]: the basic and bottleneck blocks, in the four orders of the survey.

``variant`` chooses where batch norm and ReLU sit around the convolutions:

- ``"original"`` [he2016deep]: conv bn relu conv bn, add, relu
- ``"preact"`` [he2016identity]: bn relu conv bn relu conv, add
- ``"pyramid"`` [han2017deep]: bn conv bn relu conv bn, add
- ``"wrn"`` [zagoruyko2016wide]: bn relu conv bn relu dropout conv, add

``shortcut`` chooses the path taken when the shape changes: ``"a"`` zero-pads the subsampled
identity (no parameters, the CIFAR ResNets of [he2016deep] §4.2), ``"a_pool"`` zero-pads the 2x2
average-pooled identity (PyramidNet [han2017deep]), ``"b"`` a 1x1 projection, ``"d"`` average
pooling 2x2 then a 1x1 conv (ResNet-D, [he2019bag]). ``residual=False`` drops the shortcut: the
plain network of the degradation experiment. ``drop_prob`` drops the whole residual branch per
image in training (stochastic depth [huang2016deep], ``torchvision.ops.StochasticDepth`` "row"
mode); ``branch_drop`` puts another module in that place instead, e.g. ShakeDrop [yamada2019shakedrop].
``swapout=(p_identity, p_residual)`` replaces the addition by Swapout [singh2016swapout]: per-unit
Bernoulli masks on the shortcut and on the branch in training, their expectation in eval.
``antialias=True`` [zhang2019making] makes the strided conv stride 1 followed by a BlurPool, and
blurs the shortcut before it subsamples; the blur sits right after the conv (the paper puts it
after the ReLU), so that every variant keeps its norm/activation order.

Departure: in the pre-activation variants the projection shortcut reads the block input ``x``
itself, not the pre-activated ``relu(bn(x))`` of [he2016identity]; the parameter count is the same.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import StochasticDepth

from .antialias import BlurPool
from .regularizers import Swapout

__all__ = ["BasicBlock", "Bottleneck", "ZeroPadShortcut", "BLOCK_VARIANTS", "SHORTCUTS"]

BLOCK_VARIANTS = ("original", "preact", "pyramid", "wrn")
SHORTCUTS = ("a", "a_pool", "b", "d")


class ZeroPadShortcut(nn.Module):
    """Option A of [he2016deep]: keep every ``stride``-th pixel and pad the new channels with zeros.

    ``average=True`` averages each ``stride`` x ``stride`` window instead of keeping one pixel
    (the shortcut of PyramidNet [han2017deep]).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, average: bool = False):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"a zero-padded shortcut cannot reduce channels ({in_channels} -> {out_channels}); "
                             f"use shortcut='b'")
        self.stride = stride
        self.extra = out_channels - in_channels
        self.pool = nn.AvgPool2d(stride, stride, ceil_mode=True) if average and stride > 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride] if self.pool is None else self.pool(x)
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))


def _shortcut(kind: str, in_channels: int, out_channels: int, stride: int, with_bn: bool,
              antialias: bool) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    layers: list[nn.Module] = []
    if antialias and stride > 1:
        layers.append(BlurPool(in_channels, stride=stride))
        stride = 1
    if kind in ("a", "a_pool"):
        pad = ZeroPadShortcut(in_channels, out_channels, stride, average=kind == "a_pool")
        return nn.Sequential(*layers, pad) if layers else pad
    if kind == "d" and stride > 1:
        layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
        stride = 1
    layers.append(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False))
    if with_bn:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class _ResidualBlock(nn.Module):
    """Shared machinery: arrange ``convs`` per ``variant``, add the shortcut, optional branch drop."""

    def __init__(self, convs: list[nn.Conv2d], in_channels: int, out_channels: int, stride: int,
                 variant: str, shortcut: str, residual: bool, dropout: float, drop_prob: float,
                 antialias: bool, branch_drop: nn.Module | None, swapout: tuple[float, float] | None):
        super().__init__()
        if variant not in BLOCK_VARIANTS:
            raise ValueError(f"unknown block variant {variant!r}; expected one of {BLOCK_VARIANTS}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"unknown shortcut {shortcut!r}; expected one of {SHORTCUTS}")
        if not 0.0 <= dropout < 1.0 or not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"dropout and drop_prob must lie in [0, 1), got {dropout} and {drop_prob}")
        if branch_drop is not None and drop_prob:
            raise ValueError("give either drop_prob (stochastic depth) or branch_drop, not both")
        if swapout is not None and (drop_prob or branch_drop is not None or not residual):
            raise ValueError("swapout combines the shortcut and the branch itself: it needs residual=True and "
                             "no drop_prob or branch_drop")
        if dropout and variant != "wrn":
            raise ValueError("dropout between the convolutions belongs to the 'wrn' variant [zagoruyko2016wide]")
        layers: list[nn.Module] = []
        last = len(convs) - 1
        for i, conv in enumerate(convs):
            if antialias and conv.stride[0] > 1:
                conv.stride = (1, 1)
                conv = nn.Sequential(conv, BlurPool(conv.out_channels, stride=stride))
            if variant in ("preact", "wrn"):
                layers += [nn.BatchNorm2d(_in_channels(conv)), nn.ReLU(inplace=False)]
                if variant == "wrn" and i == last and dropout > 0:
                    layers.append(nn.Dropout(dropout))
                layers.append(conv)
            else:
                if variant == "pyramid" and i == 0:
                    layers.append(nn.BatchNorm2d(in_channels))
                layers += [conv, nn.BatchNorm2d(_out_channels(conv))]
                if i != last:
                    layers.append(nn.ReLU(inplace=False))
        self.body = nn.Sequential(*layers)
        self.drop_path = StochasticDepth(drop_prob, "row") if branch_drop is None else branch_drop
        self.residual = residual
        self.shortcut = (_shortcut(shortcut, in_channels, out_channels, stride, with_bn=variant == "original",
                                  antialias=antialias)
                         if residual else None)
        self.swapout = Swapout(*swapout) if swapout is not None else None
        self.post_act = nn.ReLU(inplace=False) if variant == "original" else nn.Identity()

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """``extra``: a further shortcut added before the final activation (RoR [zhang2017residual])."""
        out = self.drop_path(self.body(x))
        if self.swapout is not None:
            out = self.swapout(self.shortcut(x), out)
        elif self.shortcut is not None:
            out = out + self.shortcut(x)
        if extra is not None:
            out = out + extra
        return self.post_act(out)


def _in_channels(conv: nn.Module) -> int:
    return conv[0].in_channels if isinstance(conv, nn.Sequential) else conv.in_channels


def _out_channels(conv: nn.Module) -> int:
    return conv[0].out_channels if isinstance(conv, nn.Sequential) else conv.out_channels


def _check_channels(**channels: int) -> None:
    for name, value in channels.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


class BasicBlock(_ResidualBlock):
    """Two 3x3 convolutions [he2016deep]; the first carries the stride. ``expansion`` is 1."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, variant: str = "original",
                 shortcut: str = "b", residual: bool = True, dropout: float = 0.0, drop_prob: float = 0.0,
                 antialias: bool = False, branch_drop: nn.Module | None = None,
                 swapout: tuple[float, float] | None = None):
        _check_channels(in_channels=in_channels, out_channels=out_channels, stride=stride)
        convs = [nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                 nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)]
        super().__init__(convs, in_channels, out_channels, stride, variant, shortcut, residual, dropout, drop_prob,
                         antialias, branch_drop, swapout)


class Bottleneck(_ResidualBlock):
    """1x1 reduce, 3x3 (stride here, as torchvision's "v1.5"), 1x1 expand [he2016deep].

    ``out_channels`` is the block output (``expansion`` x the bottleneck width of the paper's
    tables). ``groups`` and ``width`` make the ResNeXt form [xie2017aggregated]: the 3x3 conv is
    grouped and has ``width`` channels (default ``out_channels // 4``).
    """

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, variant: str = "original",
                 shortcut: str = "b", residual: bool = True, dropout: float = 0.0, drop_prob: float = 0.0,
                 antialias: bool = False, groups: int = 1, width: int | None = None,
                 branch_drop: nn.Module | None = None, swapout: tuple[float, float] | None = None):
        width = out_channels // self.expansion if width is None else width
        _check_channels(in_channels=in_channels, out_channels=out_channels, stride=stride, groups=groups, width=width)
        if width % groups:
            raise ValueError(f"groups={groups} must divide the bottleneck width {width}")
        convs = [nn.Conv2d(in_channels, width, 1, bias=False),
                 nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False),
                 nn.Conv2d(width, out_channels, 1, bias=False)]
        super().__init__(convs, in_channels, out_channels, stride, variant, shortcut, residual, dropout, drop_prob,
                         antialias, branch_drop, swapout)
