"""The Fire module of SqueezeNet [iandola2016squeezenet].

*Squeeze* with a 1x1 conv to few channels ``s``, then *expand* with 1x1 (``e1`` channels) and 3x3
(``e3`` channels) convs side by side, concatenated. Keeping ``s < e1 + e3`` limits the number of
input channels the 3x3 filters see, the paper's strategy 2 for few parameters.
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["Fire"]


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int, norm: bool) -> nn.Sequential:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not norm)
    if norm:
        return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
    return nn.Sequential(conv, nn.ReLU(inplace=True))


class Fire(nn.Module):
    """squeeze 1x1 (``squeeze`` channels) + ReLU, then [expand 1x1 | expand 3x3] + ReLU, concatenated.

    Output channels: ``expand1x1 + expand3x3``. Convs carry biases and no BatchNorm, as the paper;
    ``norm=True`` puts a BatchNorm between each conv (then without bias) and its ReLU, as most CIFAR
    versions do. Children: ``squeeze``, ``expand1x1``, ``expand3x3``, each a Sequential (conv, [bn,] relu).
    """

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int, norm: bool = False):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("squeeze", squeeze), ("expand1x1", expand1x1),
                            ("expand3x3", expand3x3)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.out_channels = expand1x1 + expand3x3
        self.squeeze = _conv_relu(in_channels, squeeze, 1, norm)
        self.expand1x1 = _conv_relu(squeeze, expand1x1, 1, norm)
        self.expand3x3 = _conv_relu(squeeze, expand3x3, 3, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.expand1x1(s), self.expand3x3(s)], dim=1)
