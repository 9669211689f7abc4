"""MixUp [zhang2018mixup] and CutMix [yun2019cutmix] on a batch, with torchvision's ``v2.MixUp``/``v2.CutMix``.

Both blend two images and their labels: MixUp pixel-wise by lambda ~ Beta(alpha, alpha), CutMix by
pasting a box whose area is 1 - lambda. The labels become soft: a row of class probabilities. This is the
one place of cnnlab that builds them: ``fit(mix=...)`` and the regularizer figures use it too.
"""
from __future__ import annotations

import torch
from torchvision.transforms import v2

__all__ = ["MIX_MODES", "batch_mixer", "mix_batch"]

MIX_MODES = ("mixup", "cutmix", "both")


def batch_mixer(mode: str, num_classes: int, alpha: float = 1.0) -> v2.Transform:
    """The torchvision transform ``mixer(images, labels) -> (mixed images, soft labels)`` of ``mode``;
    ``both`` picks MixUp or CutMix per batch (timm's and DeiT's recipe)."""
    if mode not in MIX_MODES:
        raise ValueError(f"unknown mix mode {mode!r}: expected one of {MIX_MODES}")
    if not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ValueError(f"alpha (of Beta(alpha, alpha)) must be > 0, e.g. 1.0, got {alpha!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    mixup, cutmix = v2.MixUp(alpha=alpha, num_classes=num_classes), v2.CutMix(alpha=alpha, num_classes=num_classes)
    return {"mixup": mixup, "cutmix": cutmix, "both": v2.RandomChoice([mixup, cutmix])}[mode]


def mix_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int, mode: str = "mixup",
              alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mixed images, soft labels (N x num_classes))`` of one batch (see :func:`batch_mixer`)."""
    mixer = batch_mixer(mode, num_classes, alpha)
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}] (num_classes={num_classes}), "
                         f"got labels from {int(y.min())} to {int(y.max())}")
    return mixer(x, y)
