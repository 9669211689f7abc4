"""The parts of the Neocognitron [fukushima1980neocognitron]: the on/off input split, S-cells and C-cells.

An S-cell (simple cell) extracts a feature: it sums its inputs through NON-NEGATIVE excitatory
weights ``a`` and is divided by an inhibitory V-cell, the weighted root-mean-square ``v`` of the same
inputs with fixed weights ``c``, scaled by a non-negative weight ``b``::

    u_S = r * relu((1 + sum(a * u_C)) / (1 + r / (1 + r) * b * v) - 1)

so it fires (its activation is a ReLU) only when the input looks like its template more than the
selectivity ``r`` demands. A C-cell (complex cell) blurs the S-cells of one plane with fixed weights
``d`` and subsamples them, so a feature shifted a little still excites it (position tolerance)::

    u_C = psi(blur(u_S)),   psi(x) = relu(x) / (alpha + relu(x))

The S-cell follows the paper's equation. The C-cell leaves out the paper's own inhibitory V-cell
(which divides by the mean over all planes): with untrained, random S-planes nearly every plane
sits at that mean, and the signal vanished within two stages when we kept it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OnOffSplit", "SCell", "CCell", "gaussian_window"]


class OnOffSplit(nn.Module):
    """U0: each input channel becomes two non-negative planes, relu(x) and relu(-x)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(x), F.relu(-x)], dim=1)


def gaussian_window(size: int, sigma: float | None = None) -> torch.Tensor:
    """A ``size`` x ``size`` window of Gaussian weights summing to 1 (the paper's fixed c and d)."""
    if size < 1:
        raise ValueError(f"window size must be a positive integer, got {size}")
    sigma = sigma if sigma is not None else max(size / 4, 0.5)
    offsets = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    line = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    window = line[:, None] * line[None, :]
    return window / window.sum()


class SCell(nn.Module):
    """A layer of S-cells: ``out_planes`` feature extractors over ``in_planes`` input planes.

    ``weight`` holds the excitatory weights a and ``inhibition`` the weights b; the cells use their
    absolute values, so both stay non-negative whatever an optimizer does (set them by hand with
    non-negative values to build a detector). ``selectivity`` is the paper's r: the larger, the
    closer the input must match the template before the cell fires.
    """

    def __init__(self, in_planes: int, out_planes: int, kernel_size: int = 5, selectivity: float = 1.0):
        super().__init__()
        if in_planes < 1 or out_planes < 1 or kernel_size < 1:
            raise ValueError(f"SCell needs positive in_planes, out_planes and kernel_size, got "
                             f"{in_planes}, {out_planes}, {kernel_size}")
        if selectivity <= 0:
            raise ValueError(f"selectivity r must be positive, got {selectivity}")
        self.selectivity = selectivity
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.empty(out_planes, in_planes, kernel_size, kernel_size))
        self.inhibition = nn.Parameter(torch.empty(out_planes))
        # excitatory weights summing to about 2 per cell keep the activity of stacked layers near 0.4
        nn.init.uniform_(self.weight, 0.0, 4.0 / (in_planes * kernel_size ** 2))
        nn.init.constant_(self.inhibition, 1.0)
        window = gaussian_window(kernel_size) / in_planes
        self.register_buffer("v_weight", window.expand(1, in_planes, kernel_size, kernel_size).clone())

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        r = self.selectivity
        excitation = F.conv2d(u, self.weight.abs(), padding=self.padding)
        v = torch.sqrt(F.conv2d(u * u, self.v_weight, padding=self.padding) + 1e-6)
        b = self.inhibition.abs().view(1, -1, 1, 1)
        return r * F.relu((1 + excitation) / (1 + r / (1 + r) * b * v) - 1)


class CCell(nn.Module):
    """A layer of C-cells over ``planes`` S-planes: a fixed Gaussian blur of each, subsampled by ``stride``.

    Squashed by the paper's saturation ``psi(x) = relu(x) / (alpha + relu(x))``, so outputs lie in
    [0, 1); it has no trainable weights.
    """

    def __init__(self, planes: int, kernel_size: int = 3, stride: int = 2, alpha: float = 0.5):
        super().__init__()
        if planes < 1 or kernel_size < 1 or stride < 1:
            raise ValueError(f"CCell needs positive planes, kernel_size and stride, got {planes}, {kernel_size}, "
                             f"{stride}")
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        self.stride, self.padding, self.alpha = stride, kernel_size // 2, alpha
        self.planes = planes
        window = gaussian_window(kernel_size)
        self.register_buffer("d_weight", window.expand(planes, 1, kernel_size, kernel_size).clone())

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        blurred = F.conv2d(u, self.d_weight, stride=self.stride, padding=self.padding, groups=self.planes)
        x = F.relu(blurred)
        return x / (self.alpha + x)
