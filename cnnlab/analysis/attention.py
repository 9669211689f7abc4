"""What attention blocks learned: SE excitations per class, and SK branch weights as the object grows.

* :func:`attention_by_class` -- the mean attention of each class's images in every SE or SK block, and the
  share of its variance that lies between classes. [hu2020squeeze] Fig. 6 draws the first for SE-ResNet-50 on
  ImageNet: early blocks excite the channels alike for every class, later ones differently.
* :func:`attention_vs_scale` -- Li et al.'s experiment [li2019selective] (section 4.3, Fig. 3): enlarge the object
  (a centre crop resized back, 1.0x, 1.5x, 2.0x) and watch the weight of the larger kernel against the smaller.
  In their early SK blocks the larger kernel gains as the object grows.
* :func:`enlarge` and :func:`soften` -- the enlarged image, and its control: the image made as coarse as the
  enlargement makes it (resized down and back up) with the object at its size, so that a shift caused by the loss
  of detail alone is told apart from one caused by the object's size (not in the paper).

What a block contributes per image (:func:`attention_features`): an SE block its channel weights; an SK block
the weight of its last branch minus its first (with ``dilations=(1, 2)``: the "5x5" minus the 3x3 branch, the
paper's *attention difference*), per channel.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.se import attention_weights

__all__ = ["attention_features", "attention_by_class", "attention_vs_scale", "enlarge", "soften"]


def _check(images: torch.Tensor, scale: float) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor shaped (N, C, H, W), got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 1:
        raise ValueError(f"scale must be a number >= 1 (1.5 makes the object 1.5 times larger), got {scale!r}")


def enlarge(images: torch.Tensor, scale: float) -> torch.Tensor:
    """The centre ``1/scale`` of every image (side ``round(H / scale)``), resized back to ``H x W`` (bilinear):
    what the image's centre object looks like ``scale`` times larger. ``scale=1`` returns the images."""
    _check(images, scale)
    h, w = images.shape[-2:]
    ch, cw = round(h / scale), round(w / scale)
    top, left = int(round((h - ch) / 2)), int(round((w - cw) / 2))
    crop = images[..., top:top + ch, left:left + cw]
    return F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False) if (ch, cw) != (h, w) else crop


def soften(images: torch.Tensor, scale: float) -> torch.Tensor:
    """Every image resized to ``round(H / scale)`` (antialiased) and back to ``H x W`` (bilinear): as little detail
    per pixel as :func:`enlarge` leaves, with the object at its own size (the control of the scale experiment)."""
    _check(images, scale)
    h, w = images.shape[-2:]
    small = (round(h / scale), round(w / scale))
    if small == (h, w):
        return images
    coarse = F.interpolate(images, size=small, mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def attention_features(weights: torch.Tensor) -> torch.Tensor:
    """One attention block's weights for N images as (N, features): SE's (N, C, 1, 1) as (N, C); SK's
    (N, M, C, 1, 1) as the last branch's weight minus the first's, (N, C)."""
    if weights.dim() == 4:
        return weights.flatten(1)
    if weights.dim() == 5:
        return (weights[:, -1] - weights[:, 0]).flatten(1)
    raise ValueError(f"attention weights are (N, C, 1, 1) for SE or (N, M, C, 1, 1) for SK, got {tuple(weights.shape)}")


def _sums(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, num_classes: int, batch_size: int,
          transform=None) -> dict[str, dict]:
    """Per block: per-class sums of the features, the sum of their squares, per-class counts (float64), and
    whether the block weighs branches (SK) rather than channels (SE)."""
    if labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(f"labels must be one class index per image ({len(images)}), got shape {tuple(labels.shape)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {labels.min().item()}..{labels.max().item()}")
    param = next(model.parameters())
    sums: dict[str, dict] = {}
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(param.device, param.dtype)
        y = labels[start:start + batch_size].cpu()
        if transform is not None:
            x = transform(x)
        for name, weights in attention_weights(model, x).items():
            f = attention_features(weights.float()).cpu().double()  # summed on the CPU: MPS has no float64
            entry = sums.setdefault(name, {"sum": torch.zeros(num_classes, f.shape[1], dtype=torch.float64),
                                           "squares": 0.0, "count": torch.zeros(num_classes, dtype=torch.float64),
                                           "branches": weights.dim() == 5})
            entry["sum"].index_add_(0, y, f)
            entry["count"].index_add_(0, y, torch.ones_like(y, dtype=torch.float64))
            entry["squares"] += (f ** 2).sum().item()
    return sums


def attention_by_class(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                       batch_size: int = 500) -> dict[str, dict]:
    """``{block: {"by_class": [[...] per class], "all": [...], "class_share": s, "images": n}}`` for every SE/SK block.

    ``images`` are normalized (N, C, H, W), ``labels`` their classes. ``by_class[c]`` is the mean attention
    feature (:func:`attention_features`) of class ``c``'s images, ``all`` the mean over every image.
    ``class_share`` is the share of the features' variance (summed over features) that lies between the
    class means (the ANOVA's eta squared): 0 when every class gets the same mean attention, 1 when an
    image's attention is fixed by its class. The model runs in eval mode, its mode restored afterwards.
    """
    out = {}
    for name, s in _sums(model, images, labels, num_classes, batch_size).items():
        n = s["count"].sum().item()
        overall = s["sum"].sum(0) / n
        present = s["count"] > 0
        means = torch.where(present[:, None], s["sum"] / s["count"].clamp(min=1)[:, None], float("nan"))
        total = s["squares"] - n * (overall ** 2).sum().item()
        between = ((s["sum"][present] ** 2).sum(1) / s["count"][present]).sum().item() - n * (overall ** 2).sum().item()
        out[name] = {"by_class": means.tolist(), "all": overall.tolist(),
                     "class_share": between / total if total > 0 else 0.0, "images": int(n)}
    return out


def attention_vs_scale(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                       scales=(1.0, 1.5, 2.0), transform=enlarge, batch_size: int = 500) -> dict[str, dict]:
    """``{block: {"scales": [...], "by_class": [[per class] per scale], "all": [per scale]}}`` for every SK block.

    At each scale the images go through ``transform(images, scale)`` (:func:`enlarge`, or :func:`soften` for
    the control); the value is the mean over channels and images (of each class, and of all) of the
    attention difference, the last branch's weight minus the first's (for the paper's SK: "5x5" minus 3x3).
    """
    if not scales or any(isinstance(s, bool) or not isinstance(s, (int, float)) or s < 1 for s in scales):
        raise ValueError(f"scales must be a non-empty list of numbers >= 1, got {scales!r}")
    out: dict[str, dict] = {}
    for scale in scales:
        sums = _sums(model, images, labels, num_classes, batch_size, transform=lambda x: transform(x, scale))
        sums = {name: s for name, s in sums.items() if s["branches"]}
        if not sums:
            raise ValueError(f"{type(model).__name__} has no Selective Kernel blocks: attention_vs_scale reads the "
                             f"weights of SK branches (an SE block has no branches to choose between)")
        for name, s in sums.items():
            per_class = (s["sum"].mean(1) / s["count"].clamp(min=1)).where(s["count"] > 0, float("nan"))
            overall = s["sum"].mean(1).sum() / s["count"].sum()
            entry = out.setdefault(name, {"scales": [], "by_class": [], "all": []})
            entry["scales"].append(float(scale))
            entry["by_class"].append(per_class.tolist())
            entry["all"].append(overall.item())
    return out
