"""Neocognitron [fukushima1980neocognitron]: alternating S-cell (feature) and C-cell (tolerance) layers.

Departures from the paper, and why:

* Trained by backpropagation with cross-entropy, not by the paper's unsupervised self-organization
  (winner-take-all reinforcement of the S-cell weights): the course uses one training loop for all
  models. The S-cells follow the paper's equation; the C-cells leave out their inhibitory V-cell
  (:mod:`cnnlab.layers.neocognitron` says why).
* The paper reads a class from which cell of its last C-layer fires; we add a linear read-out
  (``head``) so the output is a vector of logits.
* Inputs are CIFAR colour images, not binary patterns: the input layer U0 splits each channel into
  an "on" part ``relu(x)`` and an "off" part ``relu(-x)`` (the contrast-extracting cells of the later
  Neocognitron), so the S-cells see the non-negative inputs they were designed for.
* Three S/C stages on 32x32 (planes 12, 24, 48 by default) instead of the paper's layer sizes.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.neocognitron import CCell, OnOffSplit, SCell
from .base import Network
from .registry import register

__all__ = ["Neocognitron"]


class Neocognitron(Network):
    """U0, then stages S1 C1, S2 C2, ... (each C-layer halves the side), then a linear read-out.

    ``planes`` are the S-planes of each stage, ``kernel_sizes`` their receptive fields and
    ``selectivity`` the S-cells' r.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, planes: tuple[int, ...] = (12, 24, 48),
                 kernel_sizes: tuple[int, ...] = (5, 5, 3), selectivity: float = 1.0, input_size: int = 32):
        super().__init__(in_channels=in_channels, input_size=input_size)
        if not planes or len(planes) != len(kernel_sizes):
            raise ValueError(f"planes {planes} and kernel_sizes {kernel_sizes} must be non-empty and of the same "
                             f"length (one per stage)")
        if input_size % 2 ** len(planes):
            raise ValueError(f"input_size {input_size} must be divisible by 2**{len(planes)} (each C-layer halves it)")
        self.input_layer = OnOffSplit()
        stages = OrderedDict()
        channels = 2 * in_channels
        for i, (p, k) in enumerate(zip(planes, kernel_sizes), start=1):
            stages[f"stage{i}"] = nn.Sequential(OrderedDict(s=SCell(channels, p, k, selectivity), c=CCell(p, 3, 2)))
            channels = p
        self.stages = nn.Sequential(stages)
        side = input_size // 2 ** len(planes)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.input_layer(x)))


@register("neocognitron", paper="fukushima1980neocognitron", family="neocognitron", tags=("chapter01",))
def neocognitron(num_classes: int = 10, *, in_channels: int = 3, planes: tuple[int, ...] = (12, 24, 48),
                 kernel_sizes: tuple[int, ...] = (5, 5, 3), selectivity: float = 1.0,
                 input_size: int = 32) -> Neocognitron:
    """A three-stage Neocognitron for 32x32 images, trained by backprop (see the module docstring)."""
    return Neocognitron(num_classes, in_channels=in_channels, planes=planes, kernel_sizes=kernel_sizes,
                        selectivity=selectivity, input_size=input_size)
