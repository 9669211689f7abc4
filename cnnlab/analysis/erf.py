"""The effective receptive field: how much each input pixel really moves one output unit [luo2016understanding].

A unit's theoretical field is a box, but the gradient inside it is far from uniform: it looks like a
Gaussian around the centre and covers only part of the box. We back-propagate from the centre unit of a
layer (all channels) to the input and average the gradient's magnitude over many inputs.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .receptive_field import RF

__all__ = ["effective_receptive_field", "erf_fraction"]


def effective_receptive_field(model: nn.Module, layer: str | None = None, inputs: torch.Tensor | None = None,
                              n: int = 16, input_size=(1, 3, 32, 32), seed: int = 0) -> torch.Tensor:
    """Map ``(H, W)`` of the mean absolute input gradient of the centre unit of ``layer``'s output.

    ``inputs`` are the images to average over (``N, C, H, W``); without them ``n`` images of Gaussian
    noise of ``input_size`` are used. The model runs in eval mode, so it works before and after training.
    """
    if inputs is None:
        generator = torch.Generator().manual_seed(seed)
        inputs = torch.randn((n, *tuple(input_size)[1:]), generator=generator)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
        raise ValueError(f"inputs must be a tensor shaped (N, C, H, W), got "
                         f"{tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__}")
    modules = dict(model.named_modules())
    if layer is not None and layer not in modules:
        names = ", ".join(m for m in modules if m)
        raise KeyError(f"no layer {layer!r} in {type(model).__name__}; layers are: {names}")
    param = next(model.parameters())
    x = inputs.to(param.device, param.dtype).clone().requires_grad_(True)
    captured = {}
    handle = modules[layer].register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out)) \
        if layer is not None else None
    was_training = model.training
    model.eval()
    try:
        out = model(x)
    finally:
        if handle is not None:
            handle.remove()
        model.train(was_training)
    out = captured.get("out", out)
    if out.dim() != 4:
        raise ValueError(f"layer {layer!r} gives shape {tuple(out.shape)}; pick a layer with a feature map")
    h, w = out.shape[-2:]
    (grad,) = torch.autograd.grad(out[:, :, h // 2, w // 2].sum(), x)
    return grad.abs().sum(1).mean(0).detach().cpu()


def erf_fraction(erf_map: torch.Tensor, field, mass: float = 0.95) -> float:
    """Share of the theoretical field's area that holds ``mass`` of the gradient inside it.

    ``field`` is a box ``(top, left, bottom, right)`` or an :class:`RF` (the box of its centre unit is
    used). A small share means the effective field is much smaller than the theoretical one.
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass}")
    if isinstance(field, RF):
        field = field.region(field.output_size[0] // 2, field.output_size[1] // 2)
    top, left, bottom, right = field
    inside = erf_map[top:bottom + 1, left:right + 1].flatten().sort(descending=True).values
    total = inside.sum()
    if total <= 0:
        raise ValueError("the map holds no gradient inside the field")
    needed = int(torch.searchsorted(inside.cumsum(0), mass * total)) + 1
    return min(needed, inside.numel()) / inside.numel()
