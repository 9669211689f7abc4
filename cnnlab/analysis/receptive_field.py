"""Theoretical receptive field of every layer, computed by walking the network's graph.

The receptive field of an output unit is the box of input pixels it can depend on [araujo2019computing].
We trace the model with ``torch.fx`` into a graph of operations and carry three numbers per spatial
dimension through it, for the unit at the top-left corner of each feature map:

* ``start``, ``end`` - the first and last input pixel it reads (negative, or past the image, in padding);
* ``jump`` - how far the box moves when we step one unit along the feature map (the effective stride).

A convolution or pooling with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` maps them to
``start - p*jump``, ``end + ((k-1)*d - p)*jump`` and ``jump*s``. Operations that combine tensors unit by
unit (addition, multiplication, concatenation, activations, batch norm) take the union of their inputs'
boxes, which is how a residual block or an Inception module is covered. Global pooling and flatten
read every unit, so they cover the union of all of them: the whole image for any real network.
The graph walk itself (tracing, one step per kind of operation) lives in :mod:`cnnlab.analysis.rf_walk`.

Where the walk cannot follow an operation (an up-sampling, an unknown module that changes the size of its
input) it says so and points to :func:`measured_receptive_field`, which finds the same box by
back-propagating from one output unit through a "positive and linear" copy of the model.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn

from .rf_walk import ACTIVATIONS, Unwalkable, Walk
from .rf_walk import walk as walk_graph

__all__ = ["RF", "receptive_field", "receptive_field_table", "measured_receptive_field"]


@dataclass(frozen=True)
class RF:
    """The receptive field of one layer, per spatial dimension ``(h, w)``.

    ``size`` is the side of the box one unit reads, ``stride`` how far it moves per unit (the effective
    stride or "jump"), ``start`` where the box of unit ``(0, 0)`` begins (minus the effective padding),
    ``input_size`` the image it was computed for and ``output_size`` the feature map's spatial size.
    ``size``/``stride``/``start`` are the textbook numbers [araujo2019computing]; :meth:`region` with
    ``clip=True`` is exact at the borders too (it follows the units that exist, layer by layer).
    After a global pooling there is one unit and nothing to step over: ``stride`` is 0 there.
    """

    size: tuple[int, int]
    stride: tuple[int, int]
    start: tuple[int, int]
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    exact: Callable[[int, int], tuple[int, int, int, int]] = field(repr=False, compare=False)

    @property
    def padding(self) -> tuple[int, int]:
        """The effective padding: how far the box of unit ``(0, 0)`` reaches before the image."""
        return (-self.start[0], -self.start[1])

    def region(self, i: int, j: int, clip: bool = True) -> tuple[int, int, int, int]:
        """Input box ``(top, left, bottom, right)`` (inclusive) of output unit ``(i, j)``.

        ``clip=False`` gives the textbook box ``start + unit*stride`` of side ``size``, which reaches into
        the padding; ``clip=True`` gives the pixels of the image the unit really reads. (Near the right or
        bottom border of a network with unpadded strided layers that is less than the textbook box cut to
        the image: some pixels there are read by no unit at all.)
        """
        oh, ow = self.output_size
        if not (0 <= i < oh and 0 <= j < ow):
            raise ValueError(f"unit ({i}, {j}) is outside the {oh}x{ow} feature map")
        if clip:
            return self.exact(i, j)
        top, left = self.start[0] + i * self.stride[0], self.start[1] + j * self.stride[1]
        return (top, left, top + self.size[0] - 1, left + self.size[1] - 1)


def _to_rf(walk: Walk, node, name: str, input_size) -> RF:
    state = walk.states[node]
    if isinstance(state, Unwalkable):
        raise ValueError(f"cannot walk to layer {name!r}: {state.reason}; use "
                         f"measured_receptive_field(model, layer, unit) instead")
    h, w = state
    return RF(size=(h.end - h.start + 1, w.end - w.start + 1), stride=(h.jump, w.jump), start=(h.start, w.start),
              input_size=tuple(input_size[2:]), output_size=(h.n, w.n), exact=lambda i, j: walk.region(node, i, j))


def _find(walk: Walk, model, layer):
    if layer is None:
        return list(walk.states)[-1]
    node = walk.outputs.get(layer)
    if node is None or node not in walk.states:
        names = [n for n, nd in walk.outputs.items() if nd in walk.states]
        raise KeyError(f"no layer {layer!r} in {type(model).__name__}; layers are: {', '.join(names)}")
    return node


def _check_input_size(input_size) -> tuple[int, int, int, int]:
    """``input_size`` as (N, C, H, W) of positive integers, or a ValueError that says so."""
    try:
        size = tuple(input_size)
    except TypeError:
        size = ()
    if len(size) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
        raise ValueError(f"input_size must be (N, C, H, W), four positive integers such as (1, 3, 32, 32), "
                         f"got {input_size!r}")
    return size


def receptive_field(model: nn.Module, layer: str | None = None, input_size=(1, 3, 32, 32)) -> RF:
    """The :class:`RF` of the output of module ``layer`` (``None``: the model's output)."""
    input_size = _check_input_size(input_size)
    walk = walk_graph(model, input_size)
    return _to_rf(walk, _find(walk, model, layer), layer or "output", input_size)


def receptive_field_table(model: nn.Module, input_size=(1, 3, 32, 32)) -> list[dict]:
    """One row per module output, in the order they run: name, type, size, stride, start, output size.

    A layer the walk cannot follow has ``None`` in its numbers and the reason under ``"note"``. A module
    called more than once (one ``nn.ReLU`` reused in a block) is listed at its last call.
    """
    input_size = _check_input_size(input_size)
    walk = walk_graph(model, input_size)
    order = {node: k for k, node in enumerate(walk.states)}
    rows = []
    for name, node in sorted(((n, nd) for n, nd in walk.outputs.items() if nd in order), key=lambda t: order[t[1]]):
        kind = type(model.get_submodule(name)).__name__
        state = walk.states[node]
        if isinstance(state, Unwalkable):
            rows.append(dict(name=name, type=kind, size=None, stride=None, start=None, output_size=None,
                             note=state.reason))
            continue
        rf = _to_rf(walk, node, name, input_size)
        rows.append(dict(name=name, type=kind, size=rf.size, stride=rf.stride, start=rf.start,
                         output_size=rf.output_size, note=""))
    return rows


def _positive_linear_copy(model: nn.Module) -> nn.Module:
    """A float64 copy whose every path adds up: activation modules become identities (a saturating
    ReLU6 would stop gradients), max-pools become average pools of the same geometry (same window, so
    the same field), convolutions that transform their weights become plain ones, conv/linear weights
    become 1/fan_in with zero bias, batch norms become identities, every other parameter (gains,
    scales) becomes 1, dropout is off (eval mode)."""
    clone = copy.deepcopy(model).double().eval()
    for name, m in list(clone.named_modules()):
        if isinstance(m, nn.MaxPool2d):
            if m.dilation not in (1, (1, 1)):
                raise ValueError(f"{name}: a dilated max-pool has no average-pool twin; cannot measure")
            swap = nn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
            clone.set_submodule(name, swap)
        elif isinstance(m, nn.AdaptiveMaxPool2d):
            clone.set_submodule(name, nn.AdaptiveAvgPool2d(m.output_size))
        elif isinstance(m, ACTIVATIONS):
            clone.set_submodule(name, nn.Identity())
        elif isinstance(m, nn.Conv2d) and type(m) is not nn.Conv2d:
            # A convolution that rewrites its weights (e.g. weight standardization) would turn the
            # constant weights below into zeros: measure the plain convolution of the same geometry.
            plain = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                              m.groups, bias=m.bias is not None, padding_mode=m.padding_mode)
            clone.set_submodule(name, plain.double())
    with torch.no_grad():
        for m in clone.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.fill_(1.0 / (m.weight[0].numel()))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.running_mean is not None:
                    m.running_mean.zero_()
                    m.running_var.fill_(1.0 - m.eps)
                if m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
            else:  # gains and scales (e.g. SkipInit's zero-initialized gain) would cut their path at 0
                for parameter in m.parameters(recurse=False):
                    parameter.fill_(1.0)
    return clone


def measured_receptive_field(model: nn.Module, layer: str | None, unit: tuple[int, int],
                             input_size=(1, 3, 32, 32)) -> tuple[int, int, int, int]:
    """Input box ``(top, left, bottom, right)`` of output unit ``unit`` of ``layer``, found by back-propagation.

    We back-propagate the sum over channels of that unit through :func:`_positive_linear_copy` of the
    model (all weights positive, so no path cancels; the input is random and positive) and take the
    bounding box of the input pixels whose gradient is not zero. Works on any model; functional
    max-pools (``F.max_pool2d`` inside ``forward``) cannot be swapped and shrink the box.
    """
    input_size = _check_input_size(input_size)
    if (not isinstance(unit, (tuple, list)) or len(unit) != 2
            or not all(isinstance(u, int) and not isinstance(u, bool) and u >= 0 for u in unit)):
        raise ValueError(f"unit must be (row, column) of the feature map, two non-negative integers, got {unit!r}")
    clone = _positive_linear_copy(model)
    captured = {}
    if layer is not None:
        modules = dict(clone.named_modules())
        if layer not in modules:
            raise KeyError(f"no layer {layer!r} in {type(model).__name__}; layers are: "
                           f"{', '.join(n for n in modules if n)}")
        modules[layer].register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out))
    generator = torch.Generator().manual_seed(0)
    x = (0.5 + torch.rand(input_size, dtype=torch.float64, generator=generator)).to(
        next(clone.parameters()).device).requires_grad_(True)
    try:
        out = clone(x)
    except RuntimeError as err:
        raise ValueError(f"input_size={input_size} does not fit {type(model).__name__}: {err}; give (N, C, H, W) "
                         f"with the channels its first layer takes and an image large enough") from None
    out = captured.get("out", out)
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{layer or 'the model'} returns {type(out).__name__}, not one tensor "
                         "(several exits?): name a layer whose output is a tensor")
    i, j = unit
    if out.dim() == 4 and not (i < out.shape[2] and j < out.shape[3]):
        raise ValueError(f"unit {tuple(unit)} is outside the {out.shape[2]}x{out.shape[3]} feature map of "
                         f"{layer or 'the model'}; rows and columns count from 0")
    target = out[0, :, i, j].sum() if out.dim() == 4 else out[0].sum()
    (grad,) = torch.autograd.grad(target, x)
    hit = grad[0].abs().sum(0) != 0
    rows, cols = torch.nonzero(hit.any(1)).flatten(), torch.nonzero(hit.any(0)).flatten()
    if len(rows) == 0:
        raise ValueError(f"no input pixel reaches unit {unit} of {layer!r}")
    return (int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1]))
