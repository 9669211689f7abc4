"""Inception modules: parallel branches of different kernel sizes, concatenated along channels.

* :class:`InceptionNaive` ([szegedy2015going] Fig. 2a): 1x1 | 3x3 | 5x5 | 3x3 max-pool, without
  the 1x1 reductions: what the paper started from, and what its reductions save.
* :class:`InceptionModule` (v1, [szegedy2015going] Fig. 2b): 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 |
  3x3 max-pool -> 1x1. The 1x1 "reduce" convolutions shrink the channels before the costly
  3x3 and 5x5 convolutions; the module as a whole is a cheap stand-in for one big, sparsely
  connected convolution.
* Factorized modules of Inception-v2/v3 [szegedy2016rethinking]:
  :class:`InceptionFactorized5x5` (Fig. 5: a 5x5 becomes two 3x3, 18/25 of the cost),
  :class:`InceptionAsymmetric` (Fig. 6: an n x n becomes 1 x n then n x 1, 2/n of the cost),
  :class:`InceptionExpanded` (Fig. 7: the last 3x3 splits into parallel 1x3 and 3x1 outputs, for
  the coarsest grid) and :class:`GridReduction` (Fig. 10: stride-2 convolutions beside a stride-2
  pool, so the grid shrinks without a representational bottleneck).
* :class:`InceptionAux`: the auxiliary classifier GoogLeNet attaches to intermediate layers.

Every convolution is a :class:`cnnlab.layers.conv.ConvBNAct` (conv, batch norm, ReLU); ``norm=False``
gives the original GoogLeNet's conv + bias + ReLU. All padding keeps the grid size, except in
:class:`GridReduction`.
"""
from __future__ import annotations

import torch
from torch import nn

from .conv import ConvBNAct

__all__ = ["InceptionNaive", "InceptionModule", "InceptionFactorized5x5", "InceptionAsymmetric", "InceptionExpanded",
           "GridReduction", "InceptionAux", "InceptionV3Aux"]


def _check(name: str, **channels: int) -> None:
    bad = {k: v for k, v in channels.items() if not isinstance(v, int) or v < 1}
    if bad:
        raise ValueError(f"{name} needs positive integer channel counts, got {bad}")


class InceptionNaive(nn.Module):
    """Fig. 2a of [szegedy2015going]: 1x1 | 3x3 | 5x5 | 3x3 max-pool, on the full input; out channels =
    c1 + c3 + c5 + in_channels (the pool passes every input channel through, so the width can only grow
    from module to module: one reason the paper added the 1x1 reductions)."""

    def __init__(self, in_channels: int, c1: int, c3: int, c5: int, norm: bool = True, eps: float = 1e-5):
        super().__init__()
        _check("InceptionNaive", in_channels=in_channels, c1=c1, c3=c3, c5=c5)
        self.branch1 = ConvBNAct(in_channels, c1, 1, norm=norm, eps=eps)
        self.branch2 = ConvBNAct(in_channels, c3, 3, norm=norm, eps=eps)
        self.branch3 = ConvBNAct(in_channels, c5, 5, norm=norm, eps=eps)
        self.branch4 = nn.MaxPool2d(3, 1, 1, ceil_mode=True)
        self.out_channels = c1 + c3 + c5 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionModule(nn.Module):
    """Inception v1: four branches concatenated; out channels = c1 + c3 + c5 + pool_proj.

    ``five_kernel=3`` reproduces torchvision's GoogLeNet, whose "5x5" branch uses a 3x3 kernel
    (a known quirk kept for compatibility with its pretrained weights).
    """

    def __init__(self, in_channels: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, pool_proj: int,
                 five_kernel: int = 5, norm: bool = True, eps: float = 1e-5):
        super().__init__()
        _check("InceptionModule", in_channels=in_channels, c1=c1, c3_reduce=c3_reduce, c3=c3, c5_reduce=c5_reduce,
               c5=c5, pool_proj=pool_proj)
        if five_kernel not in (3, 5):
            raise ValueError(f"five_kernel must be 5 (the paper) or 3 (torchvision's GoogLeNet), got {five_kernel}")
        self.branch1 = ConvBNAct(in_channels, c1, 1, norm=norm, eps=eps)
        self.branch2 = nn.Sequential(ConvBNAct(in_channels, c3_reduce, 1, norm=norm, eps=eps),
                                     ConvBNAct(c3_reduce, c3, 3, norm=norm, eps=eps))
        self.branch3 = nn.Sequential(ConvBNAct(in_channels, c5_reduce, 1, norm=norm, eps=eps),
                                     ConvBNAct(c5_reduce, c5, five_kernel, norm=norm, eps=eps))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                     ConvBNAct(in_channels, pool_proj, 1, norm=norm, eps=eps))
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionFactorized5x5(nn.Module):
    """Fig. 5 of [szegedy2016rethinking]: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3 | avg-pool -> 1x1.

    ``branch3_kernel=5`` gives the first modules of torchvision's Inception-v3 (from the released
    TensorFlow model), whose second branch keeps a 5x5 convolution.
    """

    def __init__(self, in_channels: int, c1: int, c3_reduce: int, c3: int, c33_reduce: int, c33: int, pool_proj: int,
                 norm: bool = True, eps: float = 1e-3, branch3_kernel: int = 3):
        super().__init__()
        _check("InceptionFactorized5x5", in_channels=in_channels, c1=c1, c3_reduce=c3_reduce, c3=c3,
               c33_reduce=c33_reduce, c33=c33, pool_proj=pool_proj)
        self.branch1 = ConvBNAct(in_channels, c1, 1, norm=norm, eps=eps)
        self.branch3 = nn.Sequential(ConvBNAct(in_channels, c3_reduce, 1, norm=norm, eps=eps),
                                     ConvBNAct(c3_reduce, c3, branch3_kernel, norm=norm, eps=eps))
        self.branch33 = nn.Sequential(ConvBNAct(in_channels, c33_reduce, 1, norm=norm, eps=eps),
                                      ConvBNAct(c33_reduce, c33, 3, norm=norm,
                                                eps=eps), ConvBNAct(c33, c33, 3, norm=norm, eps=eps))
        self.branch_pool = nn.Sequential(nn.AvgPool2d(3, 1, 1),
                                         ConvBNAct(in_channels, pool_proj, 1, norm=norm, eps=eps))
        self.out_channels = c1 + c3 + c33 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch33(x), self.branch_pool(x)], dim=1)


class InceptionAsymmetric(nn.Module):
    """Fig. 6: 1x1 | 1x1 -> 1xn -> nx1 | 1x1 -> (1xn -> nx1) twice | avg-pool -> 1x1."""

    def __init__(self, in_channels: int, c1: int, cn_reduce: int, cn: int, cnn_reduce: int, cnn: int, pool_proj: int,
                 n: int = 7, norm: bool = True, eps: float = 1e-3):
        super().__init__()
        _check("InceptionAsymmetric", in_channels=in_channels, c1=c1, cn_reduce=cn_reduce, cn=cn,
               cnn_reduce=cnn_reduce, cnn=cnn, pool_proj=pool_proj)
        if not isinstance(n, int) or n < 3 or n % 2 == 0:
            raise ValueError(f"n must be an odd integer >= 3 (the n x n kernel factorized), got {n!r}")
        self.branch1 = ConvBNAct(in_channels, c1, 1, norm=norm, eps=eps)
        self.branch_n = nn.Sequential(ConvBNAct(in_channels, cn_reduce, 1, norm=norm, eps=eps),
                                      ConvBNAct(cn_reduce, cn_reduce, (1, n), norm=norm,
                                                eps=eps), ConvBNAct(cn_reduce, cn, (n, 1), norm=norm, eps=eps))
        self.branch_nn = nn.Sequential(ConvBNAct(in_channels, cnn_reduce, 1, norm=norm, eps=eps),
                                       ConvBNAct(cnn_reduce, cnn_reduce, (n, 1), norm=norm, eps=eps),
                                       ConvBNAct(cnn_reduce, cnn_reduce, (1, n), norm=norm, eps=eps),
                                       ConvBNAct(cnn_reduce, cnn_reduce, (n, 1), norm=norm, eps=eps),
                                       ConvBNAct(cnn_reduce, cnn, (1, n), norm=norm, eps=eps))
        self.branch_pool = nn.Sequential(nn.AvgPool2d(3, 1, 1),
                                         ConvBNAct(in_channels, pool_proj, 1, norm=norm, eps=eps))
        self.out_channels = c1 + cn + cnn + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch_n(x), self.branch_nn(x), self.branch_pool(x)], dim=1)


class InceptionExpanded(nn.Module):
    """Fig. 7: 1x1 | 1x1 -> [1x3, 3x1] | 1x1 -> 3x3 -> [1x3, 3x1] | avg-pool -> 1x1 (six outputs)."""

    def __init__(self, in_channels: int, c1: int, c3_reduce: int, c3: int, c33_reduce: int, c33: int, pool_proj: int,
                 norm: bool = True, eps: float = 1e-3):
        super().__init__()
        _check("InceptionExpanded", in_channels=in_channels, c1=c1, c3_reduce=c3_reduce, c3=c3,
               c33_reduce=c33_reduce, c33=c33, pool_proj=pool_proj)
        self.branch1 = ConvBNAct(in_channels, c1, 1, norm=norm, eps=eps)
        self.branch3_reduce = ConvBNAct(in_channels, c3_reduce, 1, norm=norm, eps=eps)
        self.branch3_1x3 = ConvBNAct(c3_reduce, c3, (1, 3), norm=norm, eps=eps)
        self.branch3_3x1 = ConvBNAct(c3_reduce, c3, (3, 1), norm=norm, eps=eps)
        self.branch33_reduce = nn.Sequential(ConvBNAct(in_channels, c33_reduce, 1, norm=norm, eps=eps),
                                             ConvBNAct(c33_reduce, c33, 3, norm=norm, eps=eps))
        self.branch33_1x3 = ConvBNAct(c33, c33, (1, 3), norm=norm, eps=eps)
        self.branch33_3x1 = ConvBNAct(c33, c33, (3, 1), norm=norm, eps=eps)
        self.branch_pool = nn.Sequential(nn.AvgPool2d(3, 1, 1),
                                         ConvBNAct(in_channels, pool_proj, 1, norm=norm, eps=eps))
        self.out_channels = c1 + 2 * c3 + 2 * c33 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3_reduce(x)
        b33 = self.branch33_reduce(x)
        return torch.cat([self.branch1(x), self.branch3_1x3(b3), self.branch3_3x1(b3), self.branch33_1x3(b33),
                          self.branch33_3x1(b33), self.branch_pool(x)], dim=1)


class GridReduction(nn.Module):
    """Fig. 10: 1x1 -> 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | 3x3/2 max-pool, concatenated; halves the grid.

    ``padding=1`` (default) exactly halves an even side; the paper and torchvision pad nothing
    (``padding=0``: 35 -> 17). ``c3_reduce=None`` drops the first branch's 1x1 conv and ``middle``
    sets the second branch's middle kernels: ``((1, 7), (7, 1))`` gives torchvision's Mixed_7a.
    """

    def __init__(self, in_channels: int, c3_reduce: int | None, c3: int, c33_reduce: int, c33: int, norm: bool = True,
                 eps: float = 1e-3, padding: int = 1, middle=(3,)):
        super().__init__()
        _check("GridReduction", in_channels=in_channels, c3=c3, c33_reduce=c33_reduce, c33=c33)
        if padding not in (0, 1):
            raise ValueError(f"padding must be 0 (valid, as the paper) or 1 (halves even sides), got {padding}")
        first = [ConvBNAct(in_channels, c3_reduce, 1, norm=norm, eps=eps)] if c3_reduce is not None else []
        first.append(ConvBNAct(c3_reduce or in_channels, c3, 3, norm=norm, eps=eps, stride=2, padding=padding))
        self.branch3 = nn.Sequential(*first)
        second, channels = [ConvBNAct(in_channels, c33_reduce, 1, norm=norm, eps=eps)], c33_reduce
        for kernel in middle:
            second.append(ConvBNAct(channels, c33, kernel, norm=norm, eps=eps))
            channels = c33
        second.append(ConvBNAct(channels, c33, 3, norm=norm, eps=eps, stride=2, padding=padding))
        self.branch33 = nn.Sequential(*second)
        self.branch_pool = nn.MaxPool2d(3, 2, padding)
        self.out_channels = c3 + c33 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3(x), self.branch33(x), self.branch_pool(x)], dim=1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: pool to ``pool_size`` x ``pool_size``, 1x1 conv (``conv_channels``, 128 in the
    paper), FC ``hidden``, dropout, FC.

    ``pool`` defaults to an adaptive average pool (torchvision); GoogLeNet's paper uses a 5x5
    average pool with stride 3, which turns its 14x14 maps into 4x4.
    """

    def __init__(self, in_channels: int, num_classes: int, pool_size: int = 4, hidden: int = 1024,
                 dropout: float = 0.7, norm: bool = True, eps: float = 1e-3, pool: nn.Module | None = None,
                 conv_channels: int = 128):
        super().__init__()
        _check("InceptionAux", in_channels=in_channels, num_classes=num_classes, pool_size=pool_size, hidden=hidden,
               conv_channels=conv_channels)
        self.pool = pool if pool is not None else nn.AdaptiveAvgPool2d(pool_size)
        self.conv = ConvBNAct(in_channels, conv_channels, 1, norm=norm, eps=eps)
        self.fc1 = nn.Linear(conv_channels * pool_size * pool_size, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.pool(x)), 1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class InceptionV3Aux(nn.Module):
    """Inception-v3's auxiliary classifier (torchvision's layout): 5x5/3 average pool, 1x1 conv (128),
    5x5 conv (768), global average pool, linear. [szegedy2016rethinking] §4 uses it as a regularizer."""

    def __init__(self, in_channels: int, num_classes: int, eps: float = 1e-3):
        super().__init__()
        _check("InceptionV3Aux", in_channels=in_channels, num_classes=num_classes)
        self.pool = nn.AvgPool2d(5, 3)
        self.conv0 = ConvBNAct(in_channels, 128, 1, eps=eps)
        self.conv1 = ConvBNAct(128, 768, 5, eps=eps, padding=0)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.conv1(self.conv0(self.pool(x)))))
