"""Explorer: pick a regularizer and its strength; see what it does to real images."""
from __future__ import annotations

import ipywidgets as widgets
import torch

from ..analysis.features import check_images
from ..analysis.regularization import (BRANCH_REGULARIZERS, mixed_samples, regularizer_masks,
                                       residual_branch_mix, shake_shake_mix)
from ..viz.regularization import plot_branch_mix, plot_mixed_samples, plot_regularizer_masks
from .base import Explorer

__all__ = ["regularizer_explorer", "REGULARIZERS"]

REGULARIZERS = {"dropout": "dropout", "DropBlock": "dropblock", "Cutout": "cutout",
                "Random Erasing": "random_erasing", "mixup": "mixup", "CutMix": "cutmix",
                "Shake-Shake α": "shake_shake", "Stochastic depth": "stochastic_depth", "ShakeDrop": "shakedrop",
                "Swapout": "swapout"}


def regularizer_explorer(images: torch.Tensor, labels: torch.Tensor | None = None,
                         classes: list[str] | None = None, count: int = 4) -> Explorer:
    """Dropdown of the method (:data:`REGULARIZERS`); sliders for the drop probability ``p`` (dropout,
    DropBlock, Random Erasing, stochastic depth, ShakeDrop, Swapout), the square ``size`` (DropBlock,
    Cutout), mixup/CutMix's Beta(``alpha``, ``alpha``) and the random ``seed``. The residual-unit methods
    take each image as the identity ``x`` and the next one as the branch ``F(x)`` (Shake-Shake: as its two
    branches). ``labels`` (default: each image its own class) name the soft labels of mixup and CutMix."""
    images = check_images(images)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count (images shown) must be an integer >= 1, got {count!r}")
    if len(images) < 2:
        raise ValueError(f"give at least 2 images (mixing needs pairs), got {len(images)}")
    labels = torch.arange(len(images)) if labels is None else torch.as_tensor(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must hold one class index per image ({len(images)}), got shape {tuple(labels.shape)}")
    num_classes = len(classes) if classes else int(labels.max()) + 1
    if int(labels.max()) >= num_classes:
        raise ValueError(f"labels go up to {int(labels.max())} but there are {num_classes} class names")
    shown = images[:count]
    largest = min(images.shape[-2:])
    largest -= 1 - largest % 2  # DropBlock needs an odd size
    method = widgets.Dropdown(options=list(REGULARIZERS), value="DropBlock", description="method")
    p = widgets.FloatSlider(value=0.2, min=0.0, max=0.6, step=0.05, description="p")
    size = widgets.IntSlider(value=min(7, largest), min=1, max=largest, step=2, description="size")
    alpha = widgets.FloatSlider(value=1.0, min=0.1, max=4.0, step=0.1, description="alpha")
    seed = widgets.IntSlider(value=0, min=0, max=20, description="seed")

    def draw(method, p, size, alpha, seed):
        kind = REGULARIZERS[method]
        if kind in ("mixup", "cutmix"):
            mixed, soft = mixed_samples(images, labels, num_classes, method=kind, alpha=alpha, seed=seed)
            return plot_mixed_samples(mixed, soft, classes, count)
        partners = shown.roll(-1, dims=0)
        if kind == "shake_shake":
            mixed, alphas = shake_shake_mix(shown, partners, seed=seed)
            titles = [f"α = {a:.2f}" for a in alphas.tolist()]
            return plot_branch_mix(shown, partners, mixed, titles, ("branch a", "branch b"), count)
        if kind in BRANCH_REGULARIZERS:
            out, factors = residual_branch_mix(shown, partners, kind, p=p, seed=seed)
            if kind == "swapout":
                titles = [f"branch units kept: {f:.0%}" for f in factors.tolist()]
            else:
                titles = [f"branch × {f:.2f}" for f in factors.tolist()]
            return plot_branch_mix(shown, partners, out, titles, count=count)
        masks = regularizer_masks(shown, p=p, block_size=size, seed=seed)
        return plot_regularizer_masks(shown, {kind: masks[kind]}, count)

    return Explorer("Regularizers", {"method": method, "p": p, "size": size, "alpha": alpha, "seed": seed}, draw,
                    hint="pick a method and move p, size or alpha to see what it does to the images; change seed to redraw")
