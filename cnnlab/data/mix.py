"""MixUp [zhang2018mixup] and CutMix [yun2019cutmix] on a batch, with torchvision's ``v2.MixUp``/``v2.CutMix``.

Both blend two images and their labels: MixUp pixel-wise by lambda ~ Beta(alpha, alpha), CutMix by
pasting a box whose area is 1 - lambda. The labels become soft: a row of class probabilities.
"""
from __future__ import annotations

import torch
from torchvision.transforms import v2

__all__ = ["MIX_MODES", "mix_batch"]

MIX_MODES = ("mixup", "cutmix", "both")


def mix_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int, mode: str = "mixup",
              alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mixed images, soft labels (N x num_classes))``; ``both`` picks MixUp or CutMix per batch."""
    if mode not in MIX_MODES:
        raise ValueError(f"unknown mix mode {mode!r}: expected one of {MIX_MODES}")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    mixup, cutmix = v2.MixUp(alpha=alpha, num_classes=num_classes), v2.CutMix(alpha=alpha, num_classes=num_classes)
    mixer = {"mixup": mixup, "cutmix": cutmix, "both": v2.RandomChoice([mixup, cutmix])}[mode]
    return mixer(x, y)
