"""Explorer: shift the image and watch the prediction and a feature map (do they move with it?)."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn

from ..analysis.features import input_channels
from ..analysis.shift import _features, shift_images
from ..viz.images import image_for_display
from .base import Explorer

__all__ = ["shift_explorer"]


def shift_explorer(model: nn.Module, image: torch.Tensor, layers: list[str], max_shift: int = 8,
                   mode: str = "circular", classes: list[str] | None = None) -> Explorer:
    """Sliders for the shift ``(dy, dx)`` and a dropdown of ``layers``; the figure shows the shifted image,
    the mean over channels of the layer's feature map and the top-3 class probabilities."""
    channels = input_channels(model)
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch tensor shaped ({channels}, H, W), got {type(image).__name__}")
    if image.dim() != 3 or image.shape[0] != channels:
        hint = "; it looks channels-last (H, W, C): use image.permute(2, 0, 1)" if (
            image.dim() == 3 and image.shape[-1] == channels) else ""
        raise ValueError(f"image must be a tensor shaped ({channels}, H, W), got {tuple(image.shape)}{hint}")
    if not layers or isinstance(layers, str):
        raise ValueError(f"layers must be a non-empty list of layer names whose feature maps to show, got {layers!r}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be an integer >= 0 (pixels), got {max_shift!r}")
    batch = image[None].float()
    shift_images(batch, max_shift, max_shift, mode)  # checks max_shift and mode before any control is built
    if classes is not None:
        with torch.no_grad():
            outputs = model.eval()(batch).shape[1]
        if len(classes) < outputs:
            raise ValueError(f"classes has {len(classes)} names but the model has {outputs} outputs; "
                             f"give one name per class (e.g. data.classes)")
    for name in layers:
        _features(model, batch, name)  # unknown names fail here, listing the real ones
    dy = widgets.IntSlider(value=0, min=-max_shift, max=max_shift, description="shift y")
    dx = widgets.IntSlider(value=0, min=-max_shift, max=max_shift, description="shift x")
    layer = widgets.Dropdown(options=layers, value=layers[0], description="layer")

    @torch.no_grad()
    def draw(dy, dx, layer):
        moved = shift_images(batch, dy, dx, mode)
        model.eval()
        probs = model(moved).softmax(1)[0]
        feature = _features(model, moved, layer)[0]
        top = probs.topk(min(3, len(probs)))
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        axes[0].imshow(image_for_display(moved[0]))
        axes[0].set_title(f"image shifted by ({dy}, {dx})", fontsize=9)
        axes[1].imshow((feature.mean(0) if feature.dim() == 3 else feature[None]).cpu().numpy(), cmap="viridis")
        axes[1].set_title(f"{layer}: mean over channels", fontsize=9)
        for ax in axes[:2]:
            ax.set_xticks([])
            ax.set_yticks([])
        labels = [classes[k] if classes else str(k) for k in top.indices.tolist()]
        axes[2].barh(labels[::-1], top.values.flip(0).cpu().numpy())
        axes[2].set_xlim(0, 1)
        axes[2].set_title("top-3 probabilities", fontsize=9)
        fig.tight_layout()
        return fig

    return Explorer("Shift", {"dy": dy, "dx": dx, "layer": layer}, draw,
                    hint="move the shift sliders and see whether the feature map and the prediction move with the image")
