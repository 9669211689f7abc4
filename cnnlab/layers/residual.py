"""Residual blocks [he2016deep], one class per form the course compares side by side.

Each block computes a residual branch ``F(x)`` step by step from named children (``conv1``,
``bn1``, ``relu1``, ...) and adds it to a shortcut of ``x``. The forms differ only in where batch
norm and ReLU sit:

- :class:`BasicBlock` [he2016deep]: conv bn relu conv bn, add, relu
- :class:`PreActBlock` [he2016identity]: bn relu conv bn relu conv, add
- :class:`PyramidBlock` [han2017deep]: bn conv bn relu conv bn, add
- :class:`WideBlock` [zagoruyko2016wide]: bn relu conv bn relu dropout conv, add
- :class:`Bottleneck` [he2016deep]: 1x1 reduce, 3x3, 1x1 expand (conv bn relu each, no relu
  after the last bn), add, relu; :class:`PreActBottleneck` and :class:`PyramidBottleneck` are its
  pre-activation (ResNet-164) and PyramidNet orders.

What every block shares lives in :class:`ResidualBlock`: the shortcut (``shortcut="a"`` zero-pads
the subsampled identity, no parameters, the CIFAR ResNets of [he2016deep] §4.2; ``"a_pool"``
zero-pads the 2x2 average-pooled identity, PyramidNet [han2017deep]; ``"b"`` a 1x1 projection;
``"d"`` 2x2 average pooling then a 1x1 conv, ResNet-D [he2019bag]) and how the branch joins it:
``residual=False`` drops the shortcut (the plain network of the degradation experiment);
``drop_prob`` drops the whole branch per image in training (stochastic depth [huang2016deep],
``torchvision.ops.StochasticDepth`` "row" mode); ``branch_drop`` puts another module in that
place, e.g. ShakeDrop [yamada2019shakedrop]; ``swapout=(p_identity, p_residual)`` replaces the
addition by Swapout [singh2016swapout]; ``se_reduction`` ends the branch with squeeze-and-excitation
[hu2018squeeze]. ``antialias=True`` [zhang2019making] makes the strided conv stride 1 followed by a
BlurPool (``blur``), and blurs the shortcut before it subsamples; the blur sits right after the conv
(the paper puts it after the ReLU), so that every form keeps its norm/activation order.

Departure: in the pre-activation forms the projection shortcut reads the block input ``x`` itself,
not the pre-activated ``relu(bn(x))`` of [he2016identity]; the parameter count is the same.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import StochasticDepth

from .antialias import BlurPool
from .regularizers import Swapout
from .se import SqueezeExcite

__all__ = ["ResidualBlock", "BasicBlock", "PreActBlock", "PyramidBlock", "WideBlock", "Bottleneck",
           "PreActBottleneck", "PyramidBottleneck", "ZeroPadShortcut", "make_shortcut", "SHORTCUTS"]

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


def make_shortcut(kind: str, in_channels: int, out_channels: int, stride: int, norm: bool,
                  antialias: bool = False) -> nn.Module:
    """The shortcut of ``kind`` (see the module docstring); the identity where the shape is kept.

    ``norm`` puts a batch norm after a projection (the original order does, the pre-activation
    orders do not). ``antialias`` blurs before subsampling [zhang2019making].
    """
    if kind not in SHORTCUTS:
        raise ValueError(f"unknown shortcut {kind!r}; expected one of {SHORTCUTS}")
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
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


def _check_channels(**channels: int) -> None:
    for name, value in channels.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


class ResidualBlock(nn.Module):
    """What every residual block shares: its shortcut and how the branch joins it (module docstring).

    A block subclasses this, builds its branch from named children and calls
    :meth:`add_shortcut` in ``forward``. ``stride`` is the block's subsampling; ``blur`` is the
    BlurPool that follows the strided conv when ``antialias`` is on (None otherwise) and
    ``conv_stride`` the stride that conv keeps.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "b", *,
                 shortcut_norm: bool, residual: bool = True, drop_prob: float = 0.0,
                 branch_drop: nn.Module | None = None, swapout: tuple[float, float] | None = None,
                 se_reduction: int | None = None, antialias: bool = False, blur_channels: int | None = None):
        super().__init__()
        _check_channels(in_channels=in_channels, out_channels=out_channels, stride=stride)
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must lie in [0, 1), got {drop_prob!r}")
        if branch_drop is not None and drop_prob:
            raise ValueError("give either drop_prob (stochastic depth) or branch_drop, not both")
        if swapout is not None and (drop_prob or branch_drop is not None or not residual):
            raise ValueError("swapout combines the shortcut and the branch itself: it needs residual=True and "
                             "no drop_prob or branch_drop")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.shortcut = make_shortcut(shortcut, in_channels, out_channels, stride, shortcut_norm, antialias) \
            if residual else None
        self.blur = BlurPool(blur_channels or out_channels, stride=stride) if antialias and stride > 1 else None
        self.conv_stride = 1 if self.blur is not None else stride
        self.se = SqueezeExcite(out_channels, se_reduction) if se_reduction is not None else None
        self.drop_path = StochasticDepth(drop_prob, "row") if branch_drop is None else branch_drop
        self.swapout = Swapout(*swapout) if swapout is not None else None

    def add_shortcut(self, x: torch.Tensor, branch: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """``shortcut(x) + drop_path(se(branch))`` (Swapout instead of ``+`` if set); ``extra`` is a
        further shortcut added too (RoR [zhang2017residual])."""
        if self.se is not None:
            branch = self.se(branch)
        branch = self.drop_path(branch)
        if self.swapout is not None:
            out = self.swapout(self.shortcut(x), branch)
        elif self.shortcut is not None:
            out = branch + self.shortcut(x)
        else:
            out = branch
        return out if extra is None else out + extra

    def strided(self, out: torch.Tensor) -> torch.Tensor:
        """The output of the strided conv, blurred and subsampled when ``antialias`` is on."""
        return out if self.blur is None else self.blur(out)


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, 1, groups=groups, bias=False)


class BasicBlock(ResidualBlock):
    """Two 3x3 convolutions, the first with the stride [he2016deep]: conv bn relu conv bn, add, relu.

    ``options``: ``residual``, ``drop_prob``, ``branch_drop``, ``swapout``, ``se_reduction``,
    ``antialias`` (see :class:`ResidualBlock`).
    """

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "b", **options):
        super().__init__(in_channels, out_channels, stride, shortcut, shortcut_norm=True, **options)
        self.conv1 = _conv3x3(in_channels, out_channels, self.conv_stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        out = self.strided(self.conv1(x))
        out = self.bn1(out)
        out = self.relu1(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.add_shortcut(x, out, extra)
        return self.relu2(out)


class PreActBlock(ResidualBlock):
    """Pre-activation [he2016identity]: bn relu conv bn relu conv, add; nothing after the addition,
    so the identity path runs clean from block to block. ``options`` as :class:`BasicBlock`."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "b", **options):
        super().__init__(in_channels, out_channels, stride, shortcut, shortcut_norm=False, **options)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = _conv3x3(in_channels, out_channels, self.conv_stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU()
        self.conv2 = _conv3x3(out_channels, out_channels)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        out = self.bn1(x)
        out = self.relu1(out)
        out = self.strided(self.conv1(out))
        out = self.bn2(out)
        out = self.relu2(out)
        out = self.conv2(out)
        return self.add_shortcut(x, out, extra)


class WideBlock(ResidualBlock):
    """Wide ResNet block [zagoruyko2016wide]: the pre-activation block with dropout between its
    convolutions, bn relu conv bn relu dropout conv, add. ``options`` as :class:`BasicBlock`."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "b",
                 dropout: float = 0.0, **options):
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        super().__init__(in_channels, out_channels, stride, shortcut, shortcut_norm=False, **options)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = _conv3x3(in_channels, out_channels, self.conv_stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.conv2 = _conv3x3(out_channels, out_channels)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        out = self.bn1(x)
        out = self.relu1(out)
        out = self.strided(self.conv1(out))
        out = self.bn2(out)
        out = self.relu2(out)
        if self.dropout is not None:
            out = self.dropout(out)
        out = self.conv2(out)
        return self.add_shortcut(x, out, extra)


class PyramidBlock(ResidualBlock):
    """PyramidNet's block [han2017deep]: bn conv bn relu conv bn, add; no ReLU after the addition and
    only one ReLU in the branch. ``shortcut`` defaults to ``"a_pool"``, the paper's parameter-free one;
    ``options`` as :class:`BasicBlock`."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "a_pool", **options):
        super().__init__(in_channels, out_channels, stride, shortcut, shortcut_norm=False, **options)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = _conv3x3(in_channels, out_channels, self.conv_stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        out = self.bn1(x)
        out = self.strided(self.conv1(out))
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn3(out)
        return self.add_shortcut(x, out, extra)


def _bottleneck_width(out_channels: int, width: int | None, groups: int, expansion: int) -> int:
    width = out_channels // expansion if width is None else width
    _check_channels(groups=groups, width=width)
    if width % groups:
        raise ValueError(f"groups={groups} must divide the bottleneck width {width}")
    return width


class Bottleneck(ResidualBlock):
    """1x1 reduce, 3x3 (stride here, as torchvision's "v1.5"), 1x1 expand [he2016deep]: conv bn relu,
    conv bn relu, conv bn, add, relu.

    ``out_channels`` is the block output (``expansion`` x the bottleneck width of the paper's
    tables). ``groups`` and ``width`` make the ResNeXt form [xie2017aggregated]: the 3x3 conv is
    grouped and has ``width`` channels (default ``out_channels // 4``). ``options`` as :class:`BasicBlock`.
    """

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "b", groups: int = 1,
                 width: int | None = None, **options):
        width = _bottleneck_width(out_channels, width, groups, self.expansion)
        super().__init__(in_channels, out_channels, stride, shortcut, shortcut_norm=True, blur_channels=width,
                         **options)
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv3x3(width, width, self.conv_stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu1(out)
        out = self.strided(self.conv2(out))
        out = self.bn2(out)
        out = self.relu2(out)
        out = self.conv3(out)
        out = self.bn3(out)
        out = self.add_shortcut(x, out, extra)
        return self.relu3(out)


class PreActBottleneck(ResidualBlock):
    """The bottleneck in pre-activation order [he2016identity] (ResNet-164): bn relu conv (1x1),
    bn relu conv (3x3), bn relu conv (1x1), add. Arguments as :class:`Bottleneck`."""

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "b", groups: int = 1,
                 width: int | None = None, **options):
        width = _bottleneck_width(out_channels, width, groups, self.expansion)
        super().__init__(in_channels, out_channels, stride, shortcut, shortcut_norm=False, blur_channels=width,
                         **options)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv2 = _conv3x3(width, width, self.conv_stride, groups)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu3 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        out = self.bn1(x)
        out = self.relu1(out)
        out = self.conv1(out)
        out = self.bn2(out)
        out = self.relu2(out)
        out = self.strided(self.conv2(out))
        out = self.bn3(out)
        out = self.relu3(out)
        out = self.conv3(out)
        return self.add_shortcut(x, out, extra)


class PyramidBottleneck(ResidualBlock):
    """PyramidNet's bottleneck [han2017deep]: bn, conv (1x1) bn relu, conv (3x3) bn relu, conv (1x1) bn,
    add. ``shortcut`` defaults to ``"a_pool"``; other arguments as :class:`Bottleneck`."""

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "a_pool",
                 groups: int = 1, width: int | None = None, **options):
        width = _bottleneck_width(out_channels, width, groups, self.expansion)
        super().__init__(in_channels, out_channels, stride, shortcut, shortcut_norm=False, blur_channels=width,
                         **options)
        self.bn0 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv3x3(width, width, self.conv_stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        out = self.bn0(x)
        out = self.conv1(out)
        out = self.bn1(out)
        out = self.relu1(out)
        out = self.strided(self.conv2(out))
        out = self.bn2(out)
        out = self.relu2(out)
        out = self.conv3(out)
        out = self.bn3(out)
        return self.add_shortcut(x, out, extra)
