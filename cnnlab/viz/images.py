"""Image grids: sample photographs that ship offline, image grids with labels, filters and feature maps."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import cbook


__all__ = ["image_for_display", "sample_photos", "sample_images", "show_images", "plot_filters", "plot_feature_maps"]

PHOTOS = {"grace_hopper.jpg": "Grace Hopper", "Minduka_Present_Blue_Pack.png": "gift box"}


def image_for_display(image) -> np.ndarray:
    """An image tensor ``(C, H, W)`` or ``(1, C, H, W)`` (any range) as an ``(H, W, C)`` array in [0, 1]."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().float()
        if image.dim() == 4 and image.shape[0] == 1:
            image = image[0]
        if image.dim() != 3:
            raise ValueError(f"image must be shaped (C, H, W) or (1, C, H, W), got {tuple(image.shape)}")
        image = image.permute(1, 2, 0).numpy()
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"image must have 2 or 3 dimensions, got shape {image.shape}")
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return image[..., 0] if image.shape[-1] == 1 else image


def sample_photos(size: int | None = 32) -> torch.Tensor | list[torch.Tensor]:
    """matplotlib's bundled photographs (:data:`PHOTOS`, no download) as a float batch ``(N, 3, size, size)``
    in [0, 1], each cut to its central square first; ``size=None`` keeps the squares at full resolution
    (then the batch is a list, as the photos differ in size)."""
    photos = []
    for name in PHOTOS:
        with cbook.get_sample_data(name) as file:
            array = plt.imread(file, format=name.rsplit(".", 1)[1])
        image = torch.from_numpy(np.asarray(array)[..., :3].copy()).permute(2, 0, 1).float()
        image = image / 255 if image.max() > 1 else image
        side = min(image.shape[1:])
        top, left = (image.shape[1] - side) // 2, (image.shape[2] - side) // 2
        image = image[:, top:top + side, left:left + side]
        if size is not None:
            image = F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True,
                                  align_corners=False)[0]
        photos.append(image.clamp(0, 1))
    return torch.stack(photos) if size is not None else photos


def sample_images(kind: str = "photo", data=None, count: int = 8, size: int = 32, split: str = "test",
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images that ship offline, as ``(images, labels, classes)`` with float images in [0, 1]:
    ``kind="photo"``: matplotlib's sample photographs at ``size`` (labels index their names);
    ``kind="dataset"``: ``count`` images of ``data`` (a ``cnnlab.data.Data``) from ``split``, one class
    after the other so that every class shows up, picked at random by ``seed``."""
    if kind == "photo":
        return sample_photos(size), torch.arange(len(PHOTOS)), list(PHOTOS.values())
    if kind != "dataset":
        raise ValueError(f"kind must be 'photo' or 'dataset', got {kind!r}")
    if data is None:
        raise ValueError("kind='dataset' needs data=cnnlab.data.load(...)")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    chosen = getattr(data, split)
    order = torch.randperm(len(chosen.labels), generator=torch.Generator().manual_seed(seed))
    per_class = [order[chosen.labels[order] == label] for label in range(len(data.classes))]
    rounds = min(count, max(len(indices) for indices in per_class))  # one image per class and round
    picked = [int(indices[r]) for r in range(rounds) for indices in per_class if r < len(indices)][:count]
    index = torch.tensor(picked, dtype=torch.long)
    images = chosen.images[index]
    images = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    return images, chosen.labels[index], list(data.classes)


def _grid(n: int, columns: int | None = None):
    columns = columns or min(n, 8)
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return fig, axes.flat


def show_images(images: torch.Tensor, labels=None, classes: list[str] | None = None, columns: int | None = None):
    """A grid of ``images`` ``(N, C, H, W)``, titled by ``labels`` (class names when ``classes`` is given)."""
    fig, axes = _grid(len(images), columns)
    for i, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image_for_display(image))
        if labels is not None:
            label = int(labels[i])
            ax.set_title(classes[label] if classes else str(label), fontsize=8)
    return fig


def plot_filters(weights: torch.Tensor, per_filter_norm: bool = True, columns: int | None = None):
    """Conv filters ``(C_out, 3, k, k)`` as small RGB images (``C_in != 3``: channel 0 in gray). With
    ``per_filter_norm`` each filter is stretched to [0, 1] on its own, else all share one scale."""
    if weights.dim() != 4:
        raise ValueError(f"weights must be shaped (C_out, C_in, k, k), got {tuple(weights.shape)}")
    w = weights.detach().float().cpu()
    w = w if w.shape[1] == 3 else w[:, :1].expand(-1, 3, -1, -1)
    dims = (1, 2, 3) if per_filter_norm else (0, 1, 2, 3)
    low, high = w.amin(dim=dims, keepdim=True), w.amax(dim=dims, keepdim=True)
    w = (w - low) / (high - low).clamp_min(1e-8)
    fig, axes = _grid(len(w), columns)
    for ax, f in zip(axes, w):
        ax.imshow(f.permute(1, 2, 0).numpy(), interpolation="nearest")
    return fig


def plot_feature_maps(maps: torch.Tensor, columns: int | None = None, limit: int = 32):
    """The channels of one feature map ``(C, H, W)`` (or ``(1, C, H, W)``), the first ``limit`` of them."""
    maps = maps.detach().cpu()
    maps = maps[0] if maps.dim() == 4 else maps
    if maps.dim() != 3:
        raise ValueError(f"maps must be shaped (C, H, W) or (1, C, H, W), got {tuple(maps.shape)}")
    fig, axes = _grid(min(len(maps), limit), columns)
    for c, ax in enumerate(axes):
        ax.imshow(maps[c].numpy(), cmap="viridis")
        ax.set_title(str(c), fontsize=7)
    return fig
