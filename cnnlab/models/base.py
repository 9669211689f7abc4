"""The base class of every classifier in the zoo: it checks its input before running."""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["Network"]


class Network(nn.Module):
    """An ``nn.Module`` that refuses an input it cannot take, with a message naming what it expects.

    Subclasses set ``self.in_channels`` and either ``self.input_size`` (the model needs exactly this
    side, e.g. LeNet-5's 32 or AlexNet's 224) or ``self.min_input_size`` (fully convolutional
    models with global pooling take any side at least this large). The check is a forward
    pre-hook, so ``forward`` itself stays plain and traceable by ``torch.fx``.
    """

    def __init__(self, in_channels: int = 3, input_size: int | None = None, min_input_size: int | None = None):
        super().__init__()
        self.in_channels = in_channels
        self.input_size = input_size
        self.min_input_size = min_input_size
        self.register_forward_pre_hook(_check_input)


def _check_input(module: Network, args) -> None:
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{type(module).__name__} expects a batch of images shaped (N, {module.in_channels}, H, W), "
                         f"got {shape}")
    if not x.is_floating_point():
        raise TypeError(f"{type(module).__name__} expects float images, got {x.dtype}; convert uint8 images with "
                        "cnnlab.data.normalize(images, data.mean, data.std) (or use cnnlab.data.DeviceLoader)")
    _, c, h, w = x.shape
    want = module.input_size
    if c != module.in_channels:
        raise ValueError(f"{type(module).__name__} expects {module.in_channels} input channels, got {c} "
                         f"(input shape {tuple(x.shape)})")
    if want is not None and (h, w) != (want, want):
        raise ValueError(f"{type(module).__name__} expects {want}x{want} images, got {h}x{w}; "
                         f"resize the input or build the model for this size")
    if module.min_input_size is not None and min(h, w) < module.min_input_size:
        raise ValueError(f"{type(module).__name__} needs images of at least {module.min_input_size}x"
                         f"{module.min_input_size}, got {h}x{w}")
