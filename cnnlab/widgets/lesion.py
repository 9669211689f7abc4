"""Explorer: delete residual blocks of trained networks at test time and see what accuracy is left
[veit2016residual] (the deletion itself is :mod:`cnnlab.analysis.lesion`)."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch.nn as nn

from ..analysis.lesion import accuracy_without, residual_blocks
from .base import Explorer

__all__ = ["lesion_explorer"]


def lesion_explorer(models: dict[str, nn.Module], batches, deleted: tuple[str, ...] = ()) -> Explorer:
    """``models``: name -> trained network with the same residual block names (e.g. ResNet-56 and its plain
    twin); ``batches``: the ``(images, labels)`` batches to score them on (re-iterable, e.g. a
    :class:`cnnlab.data.DeviceLoader` with ``train=False``). The control chooses any set of blocks to
    delete (``deleted`` at first); the figure marks them on the chain of blocks and shows each network's
    accuracy with them deleted beside its intact accuracy. Every change re-scores the networks."""
    if not models:
        raise ValueError("models must map at least one name to a network with residual blocks")
    names = residual_blocks(next(iter(models.values())))
    if not names:
        raise ValueError("the first model has no residual blocks (cnnlab.layers.ResidualBlock) to delete")
    for label, model in models.items():
        if residual_blocks(model) != names:
            raise ValueError(f"model {label!r} has other residual blocks than the first one; give networks of "
                             f"the same layout (e.g. resnet56 and plain56)")
    intact = {label: accuracy_without(model, batches) for label, model in models.items()}
    short = [name.removeprefix("stages.") for name in names]
    control = widgets.SelectMultiple(options=list(zip(short, names)), value=tuple(deleted), rows=8,
                                     description="delete")

    def draw(delete):
        fig, (chain, bars) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [3, 2]})
        colours = ["tab:red" if name in delete else "tab:green" for name in names]
        chain.bar(range(1, len(names) + 1), [1] * len(names), color=colours, width=0.8)
        chain.set_yticks([])
        chain.set_xlabel("block (input side left); red: deleted")
        chain.set_title(f"{len(delete)} of {len(names)} blocks deleted", fontsize=10)
        labels = list(models)
        accuracies = [accuracy_without(model, batches, delete) for model in models.values()]
        y = range(len(labels))
        bars.barh([k + 0.2 for k in y], [100 * intact[label] for label in labels], height=0.4, color="grey",
                  label="intact")
        bars.barh([k - 0.2 for k in y], [100 * a for a in accuracies], height=0.4, color="tab:red",
                  label="with the blocks deleted")
        bars.set_yticks(list(y), labels)
        bars.set_xlim(0, 100)
        bars.set_xlabel("accuracy (%)")
        bars.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        return fig

    return Explorer("Block deletion", {"delete": control}, draw,
                    hint="select blocks to delete (ctrl/shift-click for several) and compare how much accuracy "
                         "each network keeps")
