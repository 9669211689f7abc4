"""Squeeze-and-excitation [hu2018squeeze] and a helper that reads attention weights out of a model.

SE re-weights channels: *squeeze* each channel to one number by global average pooling, *excite*
with a bottleneck of two 1x1 convs (C -> C/r -> C, ReLU between) and a sigmoid, then scale each
channel of the input by its weight in (0, 1). The computation is torchvision's
``torchvision.ops.SqueezeExcitation``; :class:`SqueezeExcite` only lets the course speak in the
paper's reduction ratio ``r``.

:func:`attention_weights` runs a model once and collects the weights of every attention block
(SE here, Selective Kernel in :mod:`cnnlab.layers.sk`) with forward hooks, for figures.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.ops import SqueezeExcitation

__all__ = ["SqueezeExcite", "attention_weights"]


class SqueezeExcite(SqueezeExcitation):
    """SE block on ``channels`` channels with ``channels // reduction`` hidden units (at least ``min_channels``).

    ``squeeze_channels`` overrides the hidden width (EfficientNet counts it from the block input,
    not from the expanded channels). ``activation`` is the hidden non-linearity (ReLU in the paper,
    SiLU in EfficientNet), ``scale_activation`` the gate (sigmoid). The gate's output is the
    attention: :func:`attention_weights` reads it through the child named by ``attention_child``.
    """

    attention_child = "scale_activation"

    def __init__(self, channels: int, reduction: int = 16, min_channels: int = 1, squeeze_channels: int | None = None,
                 activation: type[nn.Module] = nn.ReLU, scale_activation: type[nn.Module] = nn.Sigmoid):
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        if squeeze_channels is None:
            if not isinstance(reduction, (int, float)) or reduction <= 0:
                raise ValueError(f"the reduction ratio r must be positive, got {reduction!r}")
            squeeze_channels = max(min_channels, int(channels // reduction))
        if not isinstance(squeeze_channels, int) or squeeze_channels < 1:
            raise ValueError(f"squeeze_channels must be a positive integer, got {squeeze_channels!r}")
        super().__init__(channels, squeeze_channels, activation=activation, scale_activation=scale_activation)
        self.channels, self.squeeze_channels = channels, squeeze_channels


def attention_weights(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run ``model`` on ``x`` in eval mode without gradients; return ``{block name: attention weights}``.

    Every module with an ``attention_child`` attribute (SE: channel weights (N, C, 1, 1) in (0, 1);
    SK: branch weights (N, M, C, 1, 1) that sum to 1 over the M branches) contributes its gate's
    output. The model's training mode is restored afterwards.
    """
    blocks = {name: m for name, m in model.named_modules() if hasattr(m, "attention_child")}
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no attention blocks (SqueezeExcite, SelectiveKernel)")
    weights: dict[str, torch.Tensor] = {}
    handles = []
    for name, block in blocks.items():
        def keep(_module, _inputs, output, name=name):
            weights[name] = output.detach()
        handles.append(getattr(block, block.attention_child).register_forward_hook(keep))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return weights
