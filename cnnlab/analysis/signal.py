"""Signal propagation plots [brock2021characterizing]: how activation statistics evolve with depth."""
from __future__ import annotations

import re

import torch
import torch.nn as nn

__all__ = ["signal_propagation"]

_BLOCK_NAME = re.compile(r"(block|layer|stage)s?\.?\d*(\.\d+)?$")


def _block_names(model: nn.Module) -> list[str]:
    names = [name for name, _ in model.named_modules() if name and _BLOCK_NAME.search(name)]
    # keep the innermost: drop a name when one of its children is also a block (e.g. "layer1" vs "layer1.0")
    return [n for n in names if not any(o.startswith(n + ".") for o in names)]


@torch.no_grad()
def signal_propagation(model: nn.Module, x: torch.Tensor, layers: list[str] | None = None) -> dict[str, list]:
    """Per-layer statistics of the outputs of ``layers`` (default: modules named like blocks/stages) for the
    batch ``x``: ``mean_sq`` (squared channel mean, averaged over channels), ``var`` (channel variance,
    averaged over channels), as in the SPPs of [brock2021characterizing]. Returns ``{"layer", "mean_sq",
    "var"}`` lists in forward order."""
    modules = dict(model.named_modules())
    layers = list(layers) if layers is not None else _block_names(model)
    if not layers:
        raise ValueError("found no modules named like blocks/stages; pass layers= explicitly")
    for name in layers:
        if name not in modules:
            raise KeyError(f"no layer {name!r}; the layers are: {', '.join(n for n in modules if n)}")
    stats: dict[str, tuple[float, float]] = {}
    order: list[str] = []

    def hook(name):
        def record(_m, _i, out):
            channels = out.transpose(0, 1).reshape(out.shape[1], -1)
            stats[name] = (channels.mean(1).pow(2).mean().item(), channels.var(1).mean().item())
            order.append(name)
        return record

    parameter = next(model.parameters(), None)
    handles = [modules[name].register_forward_hook(hook(name)) for name in layers]
    try:
        model(x.to(parameter.device) if parameter is not None else x)
    finally:
        for handle in handles:
            handle.remove()
    seen = list(dict.fromkeys(order))
    return {"layer": seen, "mean_sq": [stats[n][0] for n in seen], "var": [stats[n][1] for n in seen]}
