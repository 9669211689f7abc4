"""Signal-preserving pieces of normalizer-free networks [brock2021characterizing, brock2021high].

Without batch norm, nothing re-centres and re-scales the activations, so every layer must keep
the signal's variance near 1 by construction:

- :class:`ScaledStdConv2d`: Scaled Weight Standardization, after Weight Standardization
  [qiao2019micro]. Each filter is standardized to mean 0 and variance 1/fan_in before use,
  ``W_hat = gain * (W - mean(W)) / sqrt(max(fan_in * var(W), eps))`` (the official code's ``maximum``,
  not ``+ eps``): a unit-variance input gives a
  unit-variance output, and zero-mean filters remove the mean shift a ReLU introduces. ``gain``
  is a learnable per-filter scale (init 1).
- :class:`ScaledActivation`: ``gamma * act(x)`` with gamma chosen so that ``Var(gamma * act(x)) = 1``
  for ``x ~ N(0, 1)``: exactly sqrt(2 / (1 - 1/pi)) ~ 1.7129 for ReLU (the official code uses a
  numerical estimate, 1.7140), and the official code's estimates ~1.7015 for GELU, ~1.7881 for SiLU.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["ScaledStdConv2d", "ScaledActivation", "ACTIVATION_GAMMA"]

ACTIVATION_GAMMA = {
    "relu": math.sqrt(2 / (1 - 1 / math.pi)),  # Var(relu(x)) = (1 - 1/pi) / 2 for x ~ N(0, 1)
    "gelu": 1.7015043497085571,  # estimated numerically in the official code [brock2021characterizing]
    "silu": 1.7881293296813965,
}
_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "silu": F.silu}


class ScaledStdConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weight is standardized per output filter on every call (see module docstring).

    ``standardized_weight()`` returns the weight actually used; ``eps`` is the floor of
    ``fan_in * var(W)`` that keeps the division safe (1e-4 as the official code). Padding defaults to "same" for odd kernels.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int | None = None, groups: int = 1, bias: bool = True, gain_init: float = 1.0,
                 eps: float = 1e-4):
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}")
        super().__init__(in_channels, out_channels, kernel_size, stride,
                         kernel_size // 2 if padding is None else padding, groups=groups, bias=bias)
        self.gain = nn.Parameter(torch.full((out_channels, 1, 1, 1), float(gain_init)))
        self.eps = eps

    def standardized_weight(self) -> torch.Tensor:
        fan_in = self.weight[0].numel()
        mean = self.weight.mean(dim=(1, 2, 3), keepdim=True)
        var = self.weight.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        return self.gain * (self.weight - mean) * torch.rsqrt(torch.clamp(var * fan_in, min=self.eps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.standardized_weight(), self.bias)


class ScaledActivation(nn.Module):
    """``gamma * act(x)`` for ``act`` in "relu", "gelu", "silu", with gamma from :data:`ACTIVATION_GAMMA`."""

    def __init__(self, name: str = "relu"):
        super().__init__()
        if name not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; expected one of {tuple(_ACTIVATIONS)}")
        self.name, self.gamma = name, ACTIVATION_GAMMA[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ACTIVATIONS[self.name](x) * self.gamma

    def extra_repr(self) -> str:
        return f"{self.name}, gamma={self.gamma:.4f}"
