"""Explorer: enlarge an image's object and watch where a Selective Kernel network's attention goes
([li2019selective] section 4.3)."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

from ..analysis.attention import attention_features, enlarge, soften
from ..layers.se import attention_weights
from ..viz.images import image_for_display
from .base import Explorer

__all__ = ["sk_scale_explorer"]

TRANSFORMS = {"enlarged": enlarge, "coarsened only": soften}


def sk_scale_explorer(model: nn.Module, images: torch.Tensor, classes: list[str] | None = None,
                      labels: torch.Tensor | None = None, max_scale: float = 2.5) -> Explorer:
    """Sliders for the image (of ``images``, normalized (N, C, H, W)) and the scale, a dropdown for enlarging the
    object or only coarsening the image; the figure shows the image and, per SK block, the attention difference
    (larger kernel minus smaller, mean over channels) at this scale beside its value at scale 1."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not len(images):
        raise ValueError(f"images must be a non-empty float tensor shaped (N, C, H, W), got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if isinstance(max_scale, bool) or not isinstance(max_scale, (int, float)) or max_scale <= 1:
        raise ValueError(f"max_scale must be a number above 1, got {max_scale!r}")
    blocks = [name for name, w in attention_weights(model, images[:1].float()).items() if w.dim() == 5]
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no Selective Kernel blocks to show")

    def differences(x: torch.Tensor) -> np.ndarray:
        weights = attention_weights(model, x)
        return np.array([attention_features(weights[b].float()).mean().item() for b in blocks])

    index = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image")
    scale = widgets.FloatSlider(value=2.0, min=1.0, max=float(max_scale), step=0.25, description="scale")
    how = widgets.Dropdown(options=list(TRANSFORMS), value="enlarged", description="image is")

    def draw(index, scale, how):
        x = images[index:index + 1].float()
        changed = TRANSFORMS[how](x, scale)
        before, after = differences(x), differences(changed)
        fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4), gridspec_kw={"width_ratios": [1, 2.2]})
        name = f"{classes[int(labels[index])]}, " if classes is not None and labels is not None else ""
        axes[0].imshow(image_for_display(changed[0]))
        axes[0].set_title(f"{name}{how} {scale:g}x", fontsize=9)
        axes[0].set_xticks([])
        axes[0].set_yticks([])
        rows = np.arange(len(blocks))
        axes[1].barh(rows, after, color="tab:orange", label=f"{how} {scale:g}x")
        axes[1].scatter(before, rows, color="black", marker="|", s=200, zorder=3, label="as it is (1x)")
        axes[1].axvline(0, color="grey", lw=0.8)
        axes[1].set_yticks(rows)
        axes[1].set_yticklabels(blocks, fontsize=8)
        axes[1].invert_yaxis()
        axes[1].set_xlabel("weight of larger kernel minus smaller (mean over channels)")
        axes[1].legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        return fig

    return Explorer("Selective Kernel attention and object size", {"index": index, "scale": scale, "how": how},
                    draw, hint="move the scale slider and switch between enlarged and coarsened: does the larger "
                               "kernel gain in the early blocks, and does coarsening alone do the same?")
