"""Signal propagation plots [brock2021characterizing]: how activation statistics evolve with depth, forward
(:func:`signal_propagation`) and backward (:func:`gradient_propagation`: the gradient norms per block that
[he2016deep] checks when it argues that plain networks with batch norm [ioffe2015batch] and He initialization
[he2015delving] do not fail from vanishing gradients)."""
from __future__ import annotations

import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.running_stats import running_stats_kept

__all__ = ["signal_propagation", "gradient_propagation"]

_BLOCK_NAME = re.compile(r"(block|layer|stage)s?\.?\d*(\.\d+)?$")


def _block_names(model: nn.Module) -> list[str]:
    names = [name for name, _ in model.named_modules() if name and _BLOCK_NAME.search(name)]
    # keep the innermost: drop a name when one of its children is also a block (e.g. "layer1" vs "layer1.0")
    return [n for n in names if not any(o.startswith(n + ".") for o in names)]


def _checked_layers(model: nn.Module, layers: list[str] | None) -> tuple[dict[str, nn.Module], list[str]]:
    modules = dict(model.named_modules())
    layers = list(layers) if layers is not None else _block_names(model)
    if not layers:
        raise ValueError("found no modules named like blocks/stages; pass layers= explicitly")
    for name in layers:
        if name not in modules:
            raise KeyError(f"no layer {name!r}; the layers are: {', '.join(n for n in modules if n)}")
    return modules, layers


@torch.no_grad()
def signal_propagation(model: nn.Module, x: torch.Tensor, layers: list[str] | None = None) -> dict[str, list]:
    """Per-layer statistics of the outputs of ``layers`` (default: modules named like blocks/stages) for the
    batch ``x``: ``mean_sq`` (squared channel mean, averaged over channels), ``var`` (channel variance,
    averaged over channels), as in the SPPs of [brock2021characterizing]. Returns ``{"layer", "mean_sq",
    "var"}`` lists in forward order."""
    modules, layers = _checked_layers(model, layers)
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


def gradient_propagation(model: nn.Module, x: torch.Tensor, y: torch.Tensor, layers: list[str] | None = None,
                         loss_fn=F.cross_entropy) -> dict[str, list]:
    """Backward statistics per layer for one batch: the gradient of ``loss_fn(model(x), y)`` with respect to
    the output of each of ``layers`` (default: modules named like blocks/stages, as
    :func:`signal_propagation`) and to each layer's parameters. Returns ``{"layer", "grad_rms",
    "param_grad_norm"}`` lists in forward order: ``grad_rms`` is the root mean square of d loss / d output over
    the batch, its channels and positions; ``param_grad_norm`` the L2 norm of the gradient of all the layer's
    parameters together (0 for a layer without parameters).

    The model keeps its mode (in train mode batch norm normalizes with the batch statistics, as at a training
    step), its buffers (batch norm's running statistics are put back after the forward pass) and its ``.grad``
    fields (``torch.autograd.grad``, not ``backward``): measuring a trained model changes nothing in it.
    """
    modules, layers = _checked_layers(model, layers)
    outputs: dict[str, torch.Tensor] = {}

    def hook(name):
        def record(_m, _i, out):
            outputs.setdefault(name, out)
        return record

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else x.device
    handles = [modules[name].register_forward_hook(hook(name)) for name in layers]
    try:  # the buffers come back after the backward pass, which needs them as the forward pass saw them
        with running_stats_kept(model):
            loss = loss_fn(model(x.to(device)), y.to(device))
            seen = list(outputs)
            params = {name: [p for p in modules[name].parameters() if p.requires_grad] for name in seen}
            grads = torch.autograd.grad(loss, [outputs[name] for name in seen] +
                                        [p for n in seen for p in params[n]], allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
    output_grads, param_grads = grads[:len(seen)], list(grads[len(seen):])
    result = {"layer": seen, "grad_rms": [], "param_grad_norm": []}
    for name, grad in zip(seen, output_grads):
        result["grad_rms"].append(0.0 if grad is None else grad.pow(2).mean().sqrt().item())
        mine, param_grads = param_grads[:len(params[name])], param_grads[len(params[name]):]
        squares = sum(g.pow(2).sum().item() for g in mine if g is not None)
        result["param_grad_norm"].append(squares ** 0.5)
    return result
