"""Dense connectivity [huang2017densely]: every layer of a block sees the feature maps of all before it.

* :class:`DenseLayer`: BN-ReLU-conv3x3 making ``growth_rate`` (k) new maps; with ``bottleneck``
  (the "B" of DenseNet-BC) a BN-ReLU-conv1x1 to ``bn_size * k`` maps comes first, so the 3x3
  conv reads 4k channels however many the block has accumulated.
* :class:`DenseBlock`: ``num_layers`` dense layers; layer i reads the concatenation of the block's
  input and the i-1 outputs before it, and the block returns all of them concatenated:
  ``in_channels + num_layers * growth_rate`` channels.
* :class:`Transition`: BN-ReLU-conv1x1-avgpool2x2 between blocks; the conv keeps
  ``floor(compression * channels)`` maps (the "C" of DenseNet-BC uses compression 0.5).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["DenseLayer", "DenseBlock", "Transition"]


class DenseLayer(nn.Module):
    """Returns only the ``growth_rate`` NEW maps; :class:`DenseBlock` does the concatenation."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck: bool = True, bn_size: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        if not isinstance(growth_rate, int) or growth_rate < 1:
            raise ValueError(f"growth_rate k must be a positive integer, got {growth_rate!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        inner = in_channels
        if bottleneck:
            inner = bn_size * growth_rate
            self.norm1 = nn.BatchNorm2d(in_channels)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(in_channels, inner, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(inner)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(inner, growth_rate, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.bottleneck = bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bottleneck:
            x = self.conv1(self.relu1(self.norm1(x)))
        return self.dropout(self.conv2(self.relu2(self.norm2(x))))


class DenseBlock(nn.Module):
    """``num_layers`` dense layers; output channels ``in_channels + num_layers * growth_rate``."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bottleneck: bool = True, bn_size: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"a dense block needs at least one layer, got {num_layers!r}")
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + i * growth_rate, growth_rate, bottleneck, bn_size, dropout)
            for i in range(num_layers))
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class Transition(nn.Sequential):
    """BN-ReLU-conv1x1-avgpool2x2; ``out_channels = floor(compression * in_channels)``."""

    def __init__(self, in_channels: int, compression: float = 0.5, dropout: float = 0.0):
        if not 0.0 < compression <= 1.0:
            raise ValueError(f"compression theta must be in (0, 1], got {compression}")
        out_channels = int(compression * in_channels)
        layers = [nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True), nn.Conv2d(in_channels, out_channels, 1, bias=False)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers, nn.AvgPool2d(2, 2))
        self.out_channels = out_channels
