"""Explorer: pick a conv layer and a channel; see its filter (first input channels) and its feature map."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn

from ..analysis.features import check_images, feature_maps, input_channels
from ..viz.images import image_for_display
from .base import Explorer

__all__ = ["filter_explorer"]


def filter_explorer(model: nn.Module, images: torch.Tensor) -> Explorer:
    """Dropdown of the conv layers of ``model``, slider of the output channel; the figure shows the first
    image, the filter (mean over its input channels) and the channel's feature map on that image."""
    image = check_images(images, input_channels(model))[:1]
    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    if not convs:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer")
    layer = widgets.Dropdown(options=list(convs), value=next(iter(convs)), description="layer")
    channel = widgets.IntSlider(value=0, min=0, max=convs[layer.value].out_channels - 1, description="channel")
    layer.observe(lambda change: setattr(channel, "max", convs[change["new"]].out_channels - 1), names="value")

    def draw(layer, channel):
        channel = min(channel, convs[layer].out_channels - 1)
        fmap = feature_maps(model, image, [layer])[layer][0, channel]
        fig, axes = plt.subplots(1, 3, figsize=(9, 3))
        shown = image_for_display(image[0])
        axes[0].imshow(shown[..., 0] if shown.shape[-1] == 1 else shown, cmap="gray")  # grey-scale: one channel
        axes[0].set_title("image", fontsize=9)
        axes[1].imshow(convs[layer].weight[channel].detach().mean(0).cpu().numpy(), cmap="gray", interpolation="nearest")
        axes[1].set_title(f"{layer} filter {channel} (mean over inputs)", fontsize=9)
        axes[2].imshow(fmap.cpu().numpy(), cmap="viridis")
        axes[2].set_title("feature map", fontsize=9)
        for ax in axes:
            ax.set_axis_off()
        fig.tight_layout()
        return fig

    return Explorer("Filters", {"layer": layer, "channel": channel}, draw,
                    hint="pick a layer and slide through its channels to see what each filter responds to")
