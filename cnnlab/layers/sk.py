"""Selective Kernel convolution [li2019selective]: attention over branches of different receptive fields.

*Split*: M branches convolve the same input with different kernels (3x3, and 3x3 with dilation 2
standing in for 5x5), each with BN and ReLU. *Fuse*: sum them to U, global-average-pool to s,
and squeeze to z = ReLU(BN(W s)) of d = max(C / r, L) units. *Select*: from z, one logit per
branch and channel; a softmax over the branches gives weights a_m (summing to 1 per channel)
and the output is V = sum_m a_m * U_m. :func:`cnnlab.layers.attention_weights` reads a_m
(shape (N, M, C, 1, 1)) through the child named by ``attention_child``.

:class:`SKBottleneck` is the ResNeXt bottleneck with its grouped 3x3 conv replaced by an SK
convolution (SKNet-50, [li2019selective] Table 1).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .antialias import BlurPool
from .conv import ConvBNAct

__all__ = ["SelectiveKernel", "SKBottleneck"]


class SelectiveKernel(nn.Module):
    """SK convolution from ``in_channels`` to ``out_channels``: one 3x3 branch per entry of ``dilations``.

    ``dilations=(1, 2)`` is the paper's 3x3 + "5x5" (M=2); ``(1, 1)`` gives two plain 3x3 branches,
    i.e. a 3x3 conv of doubled channels instead of the 5x5, as Assemble-ResNet [lee2020compounding]
    chose for speed. ``groups`` (G) groups each branch conv, ``reduction`` (r) and ``min_dim`` (L)
    size z. Children: ``branches``, ``fuse`` (fc + BN + ReLU), ``select`` (fc to M*C logits), ``softmax``.
    """

    attention_child = "softmax"

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilations: tuple[int, ...] = (1, 2),
                 groups: int = 32, reduction: int = 16, min_dim: int = 32):
        super().__init__()
        if len(dilations) < 2 or any(not isinstance(d, int) or d < 1 for d in dilations):
            raise ValueError(f"dilations must list at least two positive integers (one per branch), got {dilations!r}")
        if not isinstance(reduction, int) or reduction < 1 or not isinstance(min_dim, int) or min_dim < 1:
            raise ValueError(f"reduction r and min_dim L must be positive integers, got {reduction!r}, {min_dim!r}")
        self.num_branches, self.out_channels = len(dilations), out_channels
        self.branches = nn.ModuleList(ConvBNAct(in_channels, out_channels, 3, stride, groups=groups, dilation=d)
                                      for d in dilations)
        dim = max(out_channels // reduction, min_dim)
        self.fuse = ConvBNAct(out_channels, dim, 1)
        self.select = nn.Conv2d(dim, self.num_branches * out_channels, 1, bias=False)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.stack([branch(x) for branch in self.branches], dim=1)          # N, M, C, H, W
        s = u.sum(dim=1).mean(dim=(2, 3), keepdim=True)                          # N, C, 1, 1
        logits = self.select(self.fuse(s)).unflatten(1, (self.num_branches, self.out_channels))
        return (u * self.softmax(logits)).sum(dim=1)


class SKBottleneck(nn.Module):
    """1x1 reduce -> SK conv (stride here) -> 1x1 expand, + shortcut, ReLU ([li2019selective] Table 1).

    ``width`` is the SK conv's channels (default ``out_channels // 2`` as SKNet-50), ``groups``,
    ``reduction``, ``dilations`` go to :class:`SelectiveKernel`. ``shortcut`` is ``"b"`` (1x1 conv,
    stride in it) or ``"d"`` (2x2 average pooling, then 1x1 conv: ResNet-D [he2019bag]).
    ``antialias=True`` [zhang2019making] runs the SK conv at stride 1 and subsamples with a BlurPool,
    and blurs the shortcut before it subsamples (as :mod:`cnnlab.layers.residual` does).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, width: int | None = None,
                 groups: int = 32, reduction: int = 16, dilations: tuple[int, ...] = (1, 2), shortcut: str = "b",
                 antialias: bool = False):
        super().__init__()
        width = out_channels // 2 if width is None else width
        if shortcut not in ("b", "d"):
            raise ValueError(f"unknown shortcut {shortcut!r}; expected 'b' (1x1 conv) or 'd' (pool, then 1x1 conv)")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}")
        if not isinstance(width, int) or width < 1 or width % groups:
            raise ValueError(f"groups={groups} must divide the SK width {width!r}")
        blur = antialias and stride > 1
        self.reduce = ConvBNAct(in_channels, width, 1)
        self.sk = SelectiveKernel(width, width, 1 if blur else stride, dilations, groups, reduction)
        self.blur = BlurPool(width, stride=stride) if blur else nn.Identity()
        self.expand = ConvBNAct(width, out_channels, 1, act=None)
        self.shortcut = _projection(in_channels, out_channels, stride, shortcut, antialias)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.expand(self.blur(self.sk(self.reduce(x)))) + self.shortcut(x))


def _projection(in_channels: int, out_channels: int, stride: int, kind: str, antialias: bool) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    layers: list[nn.Module] = []
    if stride > 1 and antialias:
        layers.append(BlurPool(in_channels, stride=stride))
        stride = 1
    elif stride > 1 and kind == "d":
        layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
        stride = 1
    layers.append(ConvBNAct(in_channels, out_channels, 1, stride, act=None))
    return nn.Sequential(*layers)
