"""Dense connectivity [huang2017densely]: every layer of a block sees the feature maps of all before it.

* :class:`DenseLayer`: BN-ReLU-conv3x3 making ``growth_rate`` (k) new maps; with ``bottleneck``
  (the "B" of DenseNet-BC) a BN-ReLU-conv1x1 to ``bn_size * k`` maps comes first, so the 3x3
  conv reads 4k channels however many the block has accumulated.
* :class:`DenseBlock`: ``num_layers`` dense layers; layer i reads the concatenation of the block's
  input and the i-1 outputs before it, and the block returns all of them concatenated:
  ``in_channels + num_layers * growth_rate`` channels.
* :class:`Transition`: BN-ReLU-conv1x1-avgpool2x2 between blocks; the conv keeps
  ``floor(compression * channels)`` maps (the "C" of DenseNet-BC uses compression 0.5).

**Memory-efficient layers** [pleiss2017memory]: in training, layer i's concatenation, its batch
norm and its ReLU each make a new tensor as wide as everything before it, and autograd keeps them
for the backward pass, so a block keeps memory quadratic in its number of layers. With
``memory_efficient=True`` the part "concatenate, BN, ReLU, first convolution" runs under
``torch.utils.checkpoint`` (as torchvision's ``DenseNet(memory_efficient=True)`` does): only its
inputs (the k-channel outputs of the earlier layers, which the block keeps anyway) and the first
convolution's output are kept, and the rest is recomputed during the backward pass, at the cost of
a second forward through those operations. Outputs and gradients are the same; unlike a plain
``checkpoint`` the recomputation does not update the batch norm's running statistics a second time.
"""
from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .running_stats import running_stats_kept

__all__ = ["DenseLayer", "DenseBlock", "Transition"]


class DenseLayer(nn.Module):
    """Returns only the ``growth_rate`` NEW maps; :class:`DenseBlock` keeps the list of all maps.

    ``forward`` takes one tensor or the list of the block's maps so far (concatenated here, inside
    the checkpoint when ``memory_efficient``).
    """

    def __init__(self, in_channels: int, growth_rate: int, bottleneck: bool = True, bn_size: int = 4,
                 dropout: float = 0.0, memory_efficient: bool = False):
        super().__init__()
        if not isinstance(growth_rate, int) or growth_rate < 1:
            raise ValueError(f"growth_rate k must be a positive integer, got {growth_rate!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not isinstance(memory_efficient, bool):
            raise TypeError(f"memory_efficient must be True or False, got {memory_efficient!r}")
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
        self.memory_efficient = memory_efficient

    def first_conv(self, *features: torch.Tensor) -> torch.Tensor:
        """Concatenate, BN, ReLU, first convolution (the 1x1 bottleneck, or the 3x3 without one)."""
        x = torch.cat(features, dim=1)
        if self.bottleneck:
            return self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))

    def forward(self, features) -> torch.Tensor:
        if not isinstance(features, (list, tuple)):
            features = [features]
        if self.memory_efficient and torch.is_grad_enabled() and any(f.requires_grad for f in features):
            norm = self.norm1 if self.bottleneck else self.norm2
            x = checkpoint(self.first_conv, *features, use_reentrant=False,
                           context_fn=lambda: (nullcontext(), running_stats_kept(norm)))
        else:
            x = self.first_conv(*features)
        if self.bottleneck:
            x = self.conv2(self.relu2(self.norm2(x)))
        return self.dropout(x)


class DenseBlock(nn.Module):
    """``num_layers`` dense layers; output channels ``in_channels + num_layers * growth_rate``."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bottleneck: bool = True, bn_size: int = 4,
                 dropout: float = 0.0, memory_efficient: bool = False):
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"a dense block needs at least one layer, got {num_layers!r}")
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + i * growth_rate, growth_rate, bottleneck, bn_size, dropout, memory_efficient)
            for i in range(num_layers))
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
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
