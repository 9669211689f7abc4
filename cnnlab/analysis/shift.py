"""Is a CNN shift-invariant? Consistency of predictions and equivariance of feature maps under shifts.

Convolution is shift-equivariant, but striding and max-pooling subsample without low-pass filtering, so
a shift of one pixel can change the prediction [zhang2019making]. Two shifts are offered:

* ``"circular"`` rolls the image (``torch.roll``): content leaving one side comes back on the other, so a
  network of circular convolutions and global pooling is exactly invariant - a clean baseline;
* ``"crop"`` zero-pads the image and crops it back at an offset: the image moves and new border appears,
  which is what a camera does (Zhang's random crops of a larger image).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["shift_images", "consistency", "equivariance_error"]

_MODES = ("circular", "crop")


def _check_images(images, model: nn.Module | None = None) -> torch.Tensor:
    """A float batch ``(N, C, H, W)`` with at least one image, in the dtype of ``model``'s weights."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a float torch tensor shaped (N, C, H, W), got {type(images).__name__}")
    if images.dim() != 4 or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor shaped (N, C, H, W), got {tuple(images.shape)} {images.dtype}")
    if len(images) == 0:
        raise ValueError("images is an empty batch (0 images); give at least one image")
    weight = next(model.parameters(), None) if model is not None else None
    if weight is not None and images.dtype != weight.dtype:
        raise TypeError(f"images are {images.dtype} but the model's weights are {weight.dtype}; "
                        f"pass images.to({weight.dtype})")
    return images


def _check_shift(images: torch.Tensor, shift: int, mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    h, w = images.shape[-2:]
    if not isinstance(shift, int) or shift < 0 or shift >= min(h, w):
        raise ValueError(f"a shift must be an integer from 0 to {min(h, w) - 1} for {h}x{w} images, got {shift!r}")


def shift_images(images: torch.Tensor, dy: int, dx: int, mode: str = "circular") -> torch.Tensor:
    """Move the content of ``images`` down by ``dy`` and right by ``dx`` pixels (negative: up/left)."""
    images = _check_images(images)
    _check_shift(images, max(abs(dy), abs(dx)), mode)
    if mode == "circular":
        return torch.roll(images, shifts=(dy, dx), dims=(-2, -1))
    h, w = images.shape[-2:]
    m = max(abs(dy), abs(dx))
    padded = F.pad(images, (m, m, m, m))
    return padded[..., m - dy:m - dy + h, m - dx:m - dx + w]


@torch.no_grad()
def consistency(model: nn.Module, images: torch.Tensor, max_shift: int = 8, n_pairs: int = 5,
                mode: str = "circular", seed: int = 0) -> float:
    """How often the top-1 class agrees between two random shifts of the same image [zhang2019making].

    For each image and each of ``n_pairs`` pairs, two offsets ``(dy, dx)`` are drawn uniformly from
    ``0..max_shift``; the result is the share of pairs whose predictions agree (1.0: fully consistent).
    """
    images = _check_images(images, model)
    _check_shift(images, max_shift, mode)
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be at least 1, got {n_pairs}")
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    agree = 0
    for _ in range(n_pairs):
        offsets = torch.randint(0, max_shift + 1, (2, 2), generator=generator).tolist()
        first, second = (model(shift_images(images, dy, dx, mode)).argmax(1) for dy, dx in offsets)
        agree += int((first == second).sum())
    model.train(was_training)
    return agree / (n_pairs * len(images))


def _features(model: nn.Module, images: torch.Tensor, layer: str | None) -> torch.Tensor:
    if layer is None:
        return model(images)
    modules = dict(model.named_modules())
    if layer not in modules:
        names = ", ".join(n for n in modules if n)
        raise KeyError(f"no layer {layer!r} in {type(model).__name__}; layers are: {names}")
    captured = {}
    handle = modules[layer].register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out))
    try:
        model(images)
    finally:
        handle.remove()
    return captured["out"]


@torch.no_grad()
def equivariance_error(model: nn.Module, images: torch.Tensor, layer: str, shifts=range(0, 5),
                       mode: str = "circular") -> dict:
    """How far the feature map of ``layer`` is from moving with the image, per diagonal shift ``t``.

    The error is ``||f(shift_t(x)) - shift_u(f(x))|| / ||f(x)||`` with the feature map shifted by
    ``u = round(t / stride)``, ``stride`` being how much smaller the map is than the image. Only shifts
    that are multiples of the stride can compare exactly; for the others ``u`` is the nearest whole
    shift of the map, so some error is expected even from a perfectly equivariant network. Returns
    ``{"shifts": [...], "errors": [...], "stride": stride}``.
    """
    images = _check_images(images, model)
    shifts = list(shifts)
    for t in shifts:
        _check_shift(images, t, mode)
    was_training = model.training
    model.eval()
    base = _features(model, images, layer)
    if base.dim() != 4:
        raise ValueError(f"layer {layer!r} gives shape {tuple(base.shape)}; "
                         f"pick a layer with a feature map (N, C, H, W)")
    stride = images.shape[-1] / base.shape[-1]
    errors = []
    for t in shifts:
        moved = _features(model, shift_images(images, t, t, mode), layer)
        u = round(t / stride)
        expected = shift_images(base, u, u, mode)
        errors.append(float((moved - expected).norm() / base.norm().clamp_min(1e-12)))
    model.train(was_training)
    return {"shifts": shifts, "errors": errors, "stride": stride}
