"""Regularizers made visible: which pixels dropout, DropBlock, Cutout and Random Erasing remove, and the
gradient-to-weight ratios that adaptive gradient clipping (AGC) looks at."""
from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.ops import drop_block2d
from torchvision.transforms import v2

from .features import check_images

__all__ = ["regularizer_masks", "unitwise_ratios", "mixed_samples"]


def regularizer_masks(images: torch.Tensor, p: float = 0.25, block_size: int = 7,
                      seed: int = 0) -> dict[str, torch.Tensor]:
    """Keep-masks ``(N, H, W)`` (1 kept, 0 dropped) of four regularizers at drop probability ``p``:
    ``dropout`` (independent pixels), ``dropblock`` (squares of an odd ``block_size``, torchvision's
    ``drop_block2d``), ``cutout`` (one ``block_size`` square per image) and ``random_erasing``
    (torchvision ``v2.RandomErasing`` with an area share of about ``p``)."""
    images = check_images(images)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    n, _, h, w = images.shape
    if not 1 <= block_size <= min(h, w):
        raise ValueError(f"block_size must lie in [1, {min(h, w)}], got {block_size!r}")
    if block_size % 2 == 0:
        raise ValueError(f"block_size must be odd (torchvision's drop_block2d), got {block_size}")
    torch.manual_seed(seed)
    ones = torch.ones(n, 1, h, w)
    dropout = (torch.rand(n, h, w) >= p).float()
    dropblock = (drop_block2d(ones, p, block_size, inplace=False, training=True) > 0).float()[:, 0]
    cutout = torch.ones(n, h, w)
    for i in range(n):
        top = int(torch.randint(0, h - block_size + 1, ()))
        left = int(torch.randint(0, w - block_size + 1, ()))
        cutout[i, top:top + block_size, left:left + block_size] = 0
    erase = v2.RandomErasing(p=1.0, scale=(max(p, 1e-3), max(p, 1e-3)), value=0)
    erased = torch.stack([erase(torch.ones(1, h, w))[0] for _ in range(n)]) if p > 0 else torch.ones(n, h, w)
    return {"dropout": dropout, "dropblock": dropblock, "cutout": cutout, "random_erasing": erased}


def unitwise_ratios(model: nn.Module) -> dict[str, torch.Tensor]:
    """``||G_i|| / ||W_i||`` per output unit ``i`` of every weight with a gradient, the quantity AGC clips
    [brock2021high] (unit = row of a linear weight, output filter of a conv). Call after ``backward()``."""
    ratios = {}
    for name, param in model.named_parameters():
        if param.grad is None or param.dim() < 2:
            continue
        weight_norm = param.detach().flatten(1).norm(dim=1)
        grad_norm = param.grad.detach().flatten(1).norm(dim=1)
        ratios[name] = grad_norm / weight_norm.clamp_min(1e-3)
    if not ratios:
        raise ValueError("no weight has a gradient; run loss.backward() first")
    return ratios


def mixed_samples(images: torch.Tensor, labels: torch.Tensor, num_classes: int, method: str = "mixup",
                  alpha: float = 1.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch mixed by torchvision's ``v2.MixUp`` or ``v2.CutMix`` (each image with its neighbour in the
    batch) and the soft labels ``(N, num_classes)`` that go with it (each row sums to 1)."""
    images = check_images(images)
    mixers = {"mixup": v2.MixUp, "cutmix": v2.CutMix}
    if method not in mixers:
        raise ValueError(f"method must be one of {', '.join(mixers)}, got {method!r}")
    torch.manual_seed(seed)
    return mixers[method](alpha=alpha, num_classes=num_classes)(images, labels)
