"""Depthwise-separable convolution [chollet2017xception, howard2017mobilenets].

A standard KxK convolution from N to M channels mixes space and channels at once. The separable
form splits it: a *depthwise* KxK convolution filters each of the N channels on its own
(``groups=N``), then a *pointwise* 1x1 convolution mixes channels. On an H x W output map the
multiply-adds are (symbols as in the survey: N input channels, M output channels, K kernel side)::

    standard : H * W * N * K^2 * M
    separable: H * W * N * K^2  +  H * W * N * M  =  H * W * N * (K^2 + M)

so the separable form costs 1/M + 1/K^2 of the standard one (about 1/9 for K=3 and large M).
"""
from __future__ import annotations

import torch.nn as nn

__all__ = ["DepthwiseSeparableConv", "separable_cost", "standard_conv_cost"]


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def standard_conv_cost(h: int, w: int, n: int, m: int, k: int) -> int:
    """Multiply-adds of a KxK convolution from ``n`` to ``m`` channels on an ``h`` x ``w`` output."""
    _check_sizes(h=h, w=w, n=n, m=m, k=k)
    return h * w * n * k * k * m


def separable_cost(h: int, w: int, n: int, m: int, k: int) -> int:
    """Multiply-adds of the depthwise KxK + pointwise 1x1 pair: ``h * w * n * (k**2 + m)``."""
    _check_sizes(h=h, w=w, n=n, m=m, k=k)
    return h * w * n * (k * k + m)


class DepthwiseSeparableConv(nn.Sequential):
    """Depthwise ``kernel_size`` conv (stride here) then pointwise 1x1 conv (children: depthwise, pointwise).

    ``mid_norm=True`` puts BatchNorm and ``act`` after the depthwise conv as MobileNet does
    [howard2017mobilenets] (Fig. 3); Xception [chollet2017xception] has no non-linearity in
    between, which its §4.7 found better (``mid_norm=False``). ``norm``/``act`` after the pointwise
    conv are optional (the caller often adds its own). Convs have no bias when a BN follows.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 dilation: int = 1, mid_norm: bool = False, norm: bool = True, act: type[nn.Module] | None = None):
        _check_sizes(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                     dilation=dilation)
        super().__init__()
        padding = dilation * (kernel_size // 2)
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride, padding, dilation=dilation,
                                   groups=in_channels, bias=False)
        if mid_norm:
            self.depthwise_bn = nn.BatchNorm2d(in_channels)
            self.depthwise_act = act() if act is not None else nn.ReLU()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=not norm)
        if norm:
            self.bn = nn.BatchNorm2d(out_channels)
        if act is not None:
            self.act = act()
