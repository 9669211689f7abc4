"""Adaptive gradient clipping (AGC) of NFNets [brock2021high], written by hand.

For every *unit* (one output row of a weight: one filter of a conv, one neuron of a linear layer)
the gradient ``G_i`` is rescaled when it is large compared with the weight ``W_i``::

    if ||G_i|| / max(||W_i||, eps) > clip:   G_i <- clip * max(||W_i||, eps) / ||G_i|| * G_i

so a step can change a unit by at most a fraction ``clip`` of its size. The paper does not clip the
final classifier layer; :func:`agc_parameters` leaves it out.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["unitwise_norm", "adaptive_clip_grad", "agc_parameters"]


def unitwise_norm(x: torch.Tensor) -> torch.Tensor:
    """L2 norm per output unit (over every dim but the first), shaped to broadcast against ``x``.

    Scalars, biases and gains (ndim <= 1) are one unit: their norm is that of the whole tensor.
    """
    if x.ndim <= 1:
        return x.norm(2)
    return x.norm(2, dim=tuple(range(1, x.ndim)), keepdim=True)


@torch.no_grad()
def adaptive_clip_grad(parameters, clip: float = 0.01, eps: float = 1e-3) -> None:
    """Clip the ``.grad`` of each parameter unit-wise, in place (see the module docstring)."""
    if clip <= 0:
        raise ValueError(f"agc clip factor must be > 0 (the paper uses 0.01-0.16), got {clip}")
    for p in parameters:
        if p.grad is None:
            continue
        max_norm = unitwise_norm(p).clamp_min(eps) * clip
        grad_norm = unitwise_norm(p.grad)
        clipped = p.grad * (max_norm / grad_norm.clamp_min(1e-6))
        p.grad.copy_(torch.where(grad_norm > max_norm, clipped, p.grad))


def agc_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters AGC clips: all but those of the model's last ``nn.Linear`` (the classifier)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    skip = {id(p) for p in linears[-1].parameters()} if linears else set()
    return [p for p in model.parameters() if p.requires_grad and id(p) not in skip]
