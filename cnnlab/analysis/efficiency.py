"""What kind of work a network does: multiply-adds and parameters per kind of layer, and arithmetic intensity.

Efficient networks [howard2017mobilenets, sandler2018mobilenetv2, ma2018shufflenet] replace standard
convolutions by *depthwise* ones (one filter per channel, ``groups == in_channels``), *pointwise* ones (1x1)
and *grouped* ones. :func:`work_by_kind` splits a network's multiply-adds and parameters by these kinds, as
[howard2017mobilenets] Table 2 does for MobileNet (95% of its multiply-adds in 1x1 convolutions).

Fewer multiply-adds are not proportionally less time: a layer also moves its input, output and weights through
memory. :func:`arithmetic_intensity` is the ratio of the two, floating-point operations per byte moved at least
once (the x axis of the roofline model [williams2009roofline]). A 3x3 depthwise convolution does 9
multiply-adds per input value and has an intensity near 2 FLOPs per byte; a standard 3x3 convolution with
``c`` input channels does ``9 c`` and has one about ``c`` times higher. A processor that is fast at
arithmetic spends the depthwise layer waiting for memory [ma2018shufflenet] (guideline G2).
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["KINDS", "layer_kind", "work_by_kind", "arithmetic_intensity"]

KINDS = ("standard", "depthwise", "pointwise", "grouped", "linear")
"""The kinds :func:`layer_kind` tells apart (in this order in :func:`work_by_kind`'s result)."""


def layer_kind(module: nn.Module) -> str | None:
    """The kind of a convolution or linear layer (one of :data:`KINDS`), None for any other module.

    depthwise: ``groups == in_channels > 1``; grouped: other ``groups > 1``; pointwise: 1x1 with one group;
    standard: larger kernels with one group."""
    if isinstance(module, nn.Linear):
        return "linear"
    if not isinstance(module, nn.Conv2d):
        return None
    if module.groups > 1:
        return "depthwise" if module.groups == module.in_channels else "grouped"
    return "pointwise" if tuple(module.kernel_size) == (1, 1) else "standard"


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one image through ``module`` (a conv or linear layer), from its output's shape."""
    if isinstance(module, nn.Linear):
        return output[0].numel() * module.in_features
    kh, kw = module.kernel_size
    return output[0].numel() * (module.in_channels // module.groups) * kh * kw


def work_by_kind(model: nn.Module, input_size=(1, 3, 32, 32)) -> dict[str, dict[str, int]]:
    """``{kind: {"macs": ..., "params": ...}}`` over every conv and linear layer of ``model`` for one image of
    ``input_size`` (every kind of :data:`KINDS` present, zero where absent). Bias parameters count with their
    layer; other parameters (batch norm) are left out, and so is the work outside these layers. The model may
    live on the ``meta`` device (only shapes are used)."""
    size = tuple(input_size)
    if len(size) != 4 or not all(isinstance(v, int) and v > 0 for v in size):
        raise ValueError(f"input_size must be four positive integers (N, C, H, W), got {input_size!r}")
    work = {kind: {"macs": 0, "params": 0} for kind in KINDS}
    handles = []
    for module in model.modules():
        kind = layer_kind(module)
        if kind is not None:
            work[kind]["params"] += sum(p.numel() for p in module.parameters(recurse=False))

            def hook(m, _inputs, output, kind=kind):
                work[kind]["macs"] += _macs(m, output)
            handles.append(module.register_forward_hook(hook))
    param = next(model.parameters(), None)
    x = torch.zeros(size, device=param.device if param is not None else "cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return work


def arithmetic_intensity(layer: nn.Conv2d, input_size) -> float:
    """FLOPs (2 per multiply-add) per byte that ``layer`` must at least read and write for a batch of
    ``input_size``: its input, its output and its weights, each once, at the bytes per value of its weights."""
    if not isinstance(layer, nn.Conv2d):
        raise ValueError(f"arithmetic_intensity takes an nn.Conv2d, got {type(layer).__name__}")
    size = tuple(input_size)
    if len(size) != 4 or size[1] != layer.in_channels:
        raise ValueError(f"input_size must be (N, {layer.in_channels}, H, W) for this layer, got {input_size!r}")
    with torch.device("meta"):
        probe = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                          layer.dilation, layer.groups, bias=layer.bias is not None)
        output = probe(torch.empty(size))
    flops = 2 * _macs(layer, output) * size[0]
    values = torch.Size(size).numel() + output.numel() + sum(p.numel() for p in layer.parameters())
    return flops / (values * layer.weight.element_size())
