"""Explorer: pick a layer and one of its units, and see which pixels of the image it reads."""
from __future__ import annotations

import ipywidgets as widgets
import torch.nn as nn

from ..analysis.receptive_field import receptive_field, receptive_field_table
from ..viz.images import image_for_display
from ..viz.receptive_field import plot_receptive_field
from .base import Explorer

__all__ = ["receptive_field_explorer"]


def receptive_field_explorer(model: nn.Module, image, layers: list[str] | None = None) -> Explorer:
    """Dropdown of ``layers`` (default: every layer the walk follows that has a feature map) and two
    sliders for the unit ``(i, j)``; the figure shows that unit's receptive field on ``image`` (C, H, W)."""
    shown = image_for_display(image)
    size = (1, 3 if shown.ndim == 3 else 1, *shown.shape[:2])
    if layers is None:
        layers = [r["name"] for r in receptive_field_table(model, size) if r["size"] is not None
                  and r["output_size"] != (1, 1)]
    if not layers:
        raise ValueError("no layer with a feature map to explore; pass layers=[...]")
    fields = {name: receptive_field(model, name, size) for name in layers}
    first = fields[layers[0]]
    layer = widgets.Dropdown(options=layers, value=layers[0], description="layer")
    row = widgets.IntSlider(value=first.output_size[0] // 2, min=0, max=first.output_size[0] - 1, description="unit i")
    col = widgets.IntSlider(value=first.output_size[1] // 2, min=0, max=first.output_size[1] - 1, description="unit j")

    def draw(layer, i, j):
        rf = fields[layer]
        unit = (min(i, rf.output_size[0] - 1), min(j, rf.output_size[1] - 1))
        return plot_receptive_field(image, model=model, layer=layer, unit=unit)

    def fit_sliders(name):
        rows, cols = fields[name].output_size
        row.max, col.max = rows - 1, cols - 1

    return Explorer("Receptive field", {"layer": layer, "i": row, "j": col}, draw,
                    hint="pick a deeper layer and move the unit to see how much of the image it reads",
                    linked={"layer": fit_sliders})
