"""Figures of receptive fields: a unit's box on the image, growth through the layers, the effective field."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from ..analysis.receptive_field import receptive_field
from .images import image_for_display

__all__ = ["plot_receptive_field", "plot_rf_growth", "plot_erf"]


def _box(ax, box, **style):
    top, left, bottom, right = box
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False, **style))


def plot_receptive_field(image, box=None, *, model=None, layer=None, unit=(0, 0), ax=None):
    """The image with the receptive field of one unit drawn on it.

    Give either ``box`` = ``(top, left, bottom, right)``, or ``model`` (and ``layer``, ``unit``): then
    the exact box is drawn solid and the textbook box, reaching into the padding, dashed.
    """
    shown = image_for_display(image)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4, 4))
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None)
    title = "receptive field"
    if box is None:
        if model is None:
            raise ValueError("give a box (top, left, bottom, right) or a model with a layer and unit")
        h, w = shown.shape[:2]
        rf = receptive_field(model, layer, input_size=(1, 3 if shown.ndim == 3 else 1, h, w))
        box = rf.region(*unit)
        _box(ax, rf.region(*unit, clip=False), edgecolor="tab:red", linestyle="--", linewidth=1)
        title = f"{layer or 'output'} unit {tuple(unit)}: {rf.size[0]}x{rf.size[1]}, stride {rf.stride[0]}"
    _box(ax, box, edgecolor="tab:red", linewidth=2)
    pad = max(shown.shape[:2]) // 2
    ax.set_xlim(-pad - 0.5, shown.shape[1] + pad - 0.5)
    ax.set_ylim(shown.shape[0] + pad - 0.5, -pad - 0.5)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def plot_rf_growth(table, image_size: int | None = None):
    """Receptive field size and effective stride per layer, from :func:`receptive_field_table` rows."""
    rows = [r for r in table if r["size"] is not None]
    if not rows:
        raise ValueError("the table has no layer with a receptive field")
    fig, ax = plt.subplots(figsize=(max(5, len(rows) * 0.25), 3.5))
    x = np.arange(len(rows))
    ax.step(x, [r["size"][0] for r in rows], where="mid", label="receptive field (px)")
    ax.step(x, [max(r["stride"][0], 1) for r in rows], where="mid", label="effective stride (px)")
    if image_size:
        ax.axhline(image_size, color="gray", linestyle=":", label=f"image ({image_size} px)")
    ax.set_yscale("log")
    ax.set_xticks(x, [r["name"] for r in rows], rotation=90, fontsize=7)
    ax.set_ylabel("pixels")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_erf(erf_map, field=None, title: str = "effective receptive field"):
    """The effective receptive field map, with the theoretical box ``field`` (top, left, bottom, right)."""
    values = erf_map.detach().cpu().numpy() if isinstance(erf_map, torch.Tensor) else np.asarray(erf_map)
    if values.ndim != 2:
        raise ValueError(f"erf_map must be a 2D map, got shape {values.shape}")
    fig, ax = plt.subplots(figsize=(4, 4))
    image = ax.imshow(values, cmap="magma")
    if field is not None:
        _box(ax, field, edgecolor="tab:cyan", linewidth=1.5)
    fig.colorbar(image, ax=ax, fraction=0.046, label="mean |gradient|")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
