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

Where the walk cannot follow an operation (an up-sampling, an unknown module that changes the size of its
input) it says so and points to :func:`measured_receptive_field`, which finds the same box by
back-propagating from one output unit through a "positive and linear" copy of the model.
"""
from __future__ import annotations

import copy
import operator
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

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


@dataclass(frozen=True)
class _Dim:
    """Box of the top-left unit in one dimension, its jump, and the feature map length ``n``."""

    start: int
    end: int
    jump: int
    n: int


class _Unwalkable:
    """Marks a node the walk could not follow, with the reason (raised only if that layer is asked for)."""

    def __init__(self, reason: str):
        self.reason = reason


_STOCHASTIC = ("StochasticDepth", "DropBlock2d", "DropBlock3d", "DropPath")
_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
                 nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus)
_PASS_THROUGH = _ACTIVATIONS + (nn.Identity, nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.modules.batchnorm._BatchNorm,
                 nn.GroupNorm, nn.LocalResponseNorm, nn.Softmax, nn.LogSoftmax, nn.ChannelShuffle)


class _Tracer(torch.fx.Tracer):
    """fx tracer that keeps torch.nn and stochastic-regularizer modules whole and records every
    module's output node (containers included), so any module name can be asked for."""

    def __init__(self):
        super().__init__()
        self.module_outputs: dict[str, torch.fx.Node] = {}

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return type(m).__name__ in _STOCHASTIC or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        result = super().call_module(m, forward, args, kwargs)
        name = self.path_of_module(m)
        if name and isinstance(result, torch.fx.Proxy):
            self.module_outputs[name] = result.node
        return result


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


# A step maps an interval of output units [a, b] (one dimension) to the interval of input units it
# reads: ``(scale, lo, hi)`` means [a*scale + lo, b*scale + hi]; ``None`` means every input unit.
_IDENTITY = (1, 0, 0)


def _window(kernel: int, stride: int, pad: int, dilation: int) -> tuple[int, int, int]:
    return (stride, -pad, (kernel - 1) * dilation - pad)


def _windows(kernels, strides, pads, dilations):
    return tuple(_window(k, s, p, d) for k, s, p, d in zip(_pair(kernels), _pair(strides), _pair(pads),
                                                            _pair(dilations)))


def _same_padding(kernel, dilation):
    return tuple((d * (k - 1)) // 2 for k, d in zip(_pair(kernel), _pair(dilation)))


def _adaptive(n_in: int, n_out: int):
    """Adaptive pooling: 1 output -> everything; 1 input -> copied to every bin; ``n_in`` a multiple
    of ``n_out`` -> a plain window. Unequal bins have no single window and return ``False``."""
    if n_out == 1:
        return None
    if n_in == 1:
        return (0, 0, 0)
    if n_in % n_out == 0:
        k = n_in // n_out
        return _window(k, k, 0, 1)
    return False


def _shape(node) -> tuple[int, ...] | None:
    """The output shape of ``node``; for a tuple of tensors (``chunk``, ``split``) that of the first."""
    meta = node.meta.get("tensor_meta") if isinstance(node, torch.fx.Node) else None
    if not hasattr(meta, "shape") and isinstance(meta, (tuple, list)) and meta:
        meta = meta[0]
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _tensor_nodes(args, states) -> list:
    found = []
    for a in args:
        if isinstance(a, torch.fx.Node) and a in states:
            found.append(a)
        elif isinstance(a, (list, tuple)):
            found.extend(_tensor_nodes(a, states))
        elif isinstance(a, dict):
            found.extend(_tensor_nodes(list(a.values()), states))
    return found


def _spatial(shape) -> tuple[int, int] | None:
    return tuple(shape[-2:]) if shape is not None and len(shape) >= 3 else None


def _generic(inputs, states, out_shape, where: str):
    """An operation known by what it does to the size: the same spatial size -> unit by unit (the
    union of the inputs; a 1x1 input is broadcast); reduced to 1x1 or to no spatial axes -> every
    unit; anything else cannot be followed."""
    out = _spatial(out_shape)
    sizes = [(states[n][0].n, states[n][1].n) for n in inputs]
    if out is None or (out == (1, 1) and any(s != (1, 1) for s in sizes)):
        return [(n, (None, None)) for n in inputs]
    if all(s in (out, (1, 1)) for s in sizes):
        broadcast = (0, 0, 0)
        return [(n, (_IDENTITY, _IDENTITY) if s == out else (broadcast, broadcast)) for n, s in zip(inputs, sizes)]
    return _Unwalkable(f"{where} changes the feature map from {sizes[0]} to {out} in a way the walk "
                       f"does not know")


def _module_step(m: nn.Module, inputs, states, out_shape, where: str):
    x = inputs[0]
    if isinstance(m, nn.Conv2d):
        pad = m.padding if not isinstance(m.padding, str) else \
            ((0, 0) if m.padding == "valid" else _same_padding(m.kernel_size, m.dilation))
        return [(x, _windows(m.kernel_size, m.stride, pad, m.dilation))]
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        stride = m.stride if m.stride is not None else m.kernel_size
        return [(x, _windows(m.kernel_size, stride, m.padding, getattr(m, "dilation", 1)))]
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return _adaptive_step(x, states, out_shape, where)
    if isinstance(m, nn.Linear) and _spatial(out_shape) is not None:
        return _Unwalkable(f"{where} is a Linear layer applied to a feature map (it mixes the last axis)")
    if isinstance(m, _PASS_THROUGH + (nn.Linear, nn.Flatten)) or type(m).__name__ in _STOCHASTIC:
        return _generic(inputs, states, out_shape, where)
    return _Unwalkable(f"{where} is a {type(m).__name__}, which the walk does not know")


def _adaptive_step(x, states, out_shape, where):
    maps = tuple(_adaptive(d.n, n) for d, n in zip(states[x], _spatial(out_shape)))
    if False in maps:
        return _Unwalkable(f"{where} pools {(states[x][0].n, states[x][1].n)} units into "
                           f"{_spatial(out_shape)} bins of unequal size")
    return [(x, maps)]


def _function_step(node, states, out_shape, where: str):
    target, args, kwargs = node.target, node.args, node.kwargs

    def arg(i, name, default):
        return args[i] if len(args) > i else kwargs.get(name, default)

    x = args[0] if args else None
    if target is F.conv2d:
        kernel, dil = _shape(arg(1, "weight", None))[-2:], arg(5, "dilation", 1)
        pad = arg(4, "padding", 0)
        if isinstance(pad, str):
            pad = (0, 0) if pad == "valid" else _same_padding(kernel, dil)
        return [(x, _windows(kernel, arg(3, "stride", 1), pad, dil))]
    if target in (F.max_pool2d, F.avg_pool2d):
        kernel, stride = arg(1, "kernel_size", None), arg(2, "stride", None)
        dil = arg(4, "dilation", 1) if target is F.max_pool2d else 1
        return [(x, _windows(kernel, stride if stride not in (None, []) else kernel, arg(3, "padding", 0), dil))]
    if target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
        return _adaptive_step(x, states, out_shape, where)
    if target is F.pad and len(arg(1, "pad", ())) >= 4:
        left, _, top, _ = arg(1, "pad", ())[:4]
        return [(x, ((1, -top, -top), (1, -left, -left)))]
    if target is operator.getitem and isinstance(args[1], tuple) and len(args[1]) == 4 and x in states:
        maps = []
        for s in args[1][2:]:
            if not isinstance(s, slice) or (s.start or 0) < 0:
                return _Unwalkable(f"{where} indexes the feature map with {s!r}")
            maps.append((s.step or 1, s.start or 0, s.start or 0))
        return [(x, tuple(maps))]
    return _generic(_tensor_nodes(list(args) + list(kwargs.values()), states), states, out_shape, where)


def _forward(links, states, out_shape, where):
    """The top-left unit's box and jump after a step, per dimension: the union over the step's inputs."""
    result = []
    for axis, n_out in enumerate(_spatial(out_shape) or (1, 1)):
        boxes = []
        for node, maps in links:
            d, m = states[node][axis], maps[axis]
            if m is None:
                boxes.append(_Dim(d.start, d.end + (d.n - 1) * d.jump, 0, n_out))
            else:
                scale, lo, hi = m
                boxes.append(_Dim(d.start + lo * d.jump, d.end + hi * d.jump, d.jump * scale, n_out))
        jumps = {b.jump for b in boxes if b.jump}
        if len(jumps) > 1 and n_out > 1:
            return _Unwalkable(f"{where} combines feature maps of different effective strides {sorted(jumps)}")
        result.append(_Dim(min(b.start for b in boxes), max(b.end for b in boxes), max(jumps, default=0), n_out))
    return tuple(result)


@dataclass
class _Walk:
    """The traced graph, each module's output node, each node's state and the steps that lead to it."""

    graph_module: torch.fx.GraphModule
    outputs: dict
    states: dict
    links: dict

    def region(self, node, i: int, j: int) -> tuple[int, int, int, int]:
        """Exact box of unit (i, j) of ``node``: walk the graph backwards, carrying the interval of
        units each node must provide (clipped to the units that exist, so borders are exact)."""
        need = {node: ((i, i), (j, j))}
        box = None
        for current in reversed(list(self.states)):
            if current not in need:
                continue
            (a_h, b_h), (a_w, b_w) = need.pop(current)
            if current.op == "placeholder":
                box = (a_h, a_w, b_h, b_w) if box is None else \
                    (min(box[0], a_h), min(box[1], a_w), max(box[2], b_h), max(box[3], b_w))
                continue
            for source, maps in self.links[current]:
                wanted = []
                for (a, b), m, d in zip(((a_h, b_h), (a_w, b_w)), maps, self.states[source]):
                    lo, hi = (0, d.n - 1) if m is None else (a * m[0] + m[1], b * m[0] + m[2])
                    wanted.append((max(lo, 0), min(hi, d.n - 1)))
                if any(lo > hi for lo, hi in wanted):
                    continue
                if source in need:
                    old = need[source]
                    wanted = [(min(o[0], w[0]), max(o[1], w[1])) for o, w in zip(old, wanted)]
                need[source] = tuple(wanted)
        return box


def _walk(model: nn.Module, input_size) -> _Walk:
    """Trace ``model``, find every node's output shape, and carry the receptive field through the graph."""
    size = tuple(input_size)
    if len(size) != 4:
        raise ValueError(f"input_size must be (N, C, H, W), got {input_size!r}")
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as err:
        raise ValueError(f"torch.fx cannot trace {type(model).__name__} ({err}); use "
                         f"measured_receptive_field(model, layer, unit) instead") from err
    gm = torch.fx.GraphModule(tracer.root, graph)
    was_training = model.training
    gm.eval()
    param = next(model.parameters(), None)
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(size, dtype=param.dtype if param is not None else torch.float32,
                                            device=param.device if param is not None else "cpu"))
    model.train(was_training)
    states, links = {}, {}
    for node in graph.nodes:
        out_shape = _shape(node)
        if node.op == "placeholder":
            states[node] = (_Dim(0, 0, 1, size[2]), _Dim(0, 0, 1, size[3]))
            continue
        inputs = _tensor_nodes(list(node.args) + list(node.kwargs.values()), states)
        if node.op in ("get_attr", "output") or out_shape is None or not inputs:
            continue
        where = f"{node.op} {node.target!r}"
        bad = [states[n] for n in inputs if isinstance(states[n], _Unwalkable)]
        if bad:
            states[node] = bad[0]
            continue
        if node.op == "call_module":
            step = _module_step(gm.get_submodule(node.target), inputs, states, out_shape, where)
        else:
            step = _function_step(node, states, out_shape, where)
        if isinstance(step, _Unwalkable):
            states[node] = step
            continue
        links[node] = step
        states[node] = _forward(step, states, out_shape, where)
    return _Walk(gm, tracer.module_outputs, states, links)


def _to_rf(walk: _Walk, node, name: str, input_size) -> RF:
    state = walk.states[node]
    if isinstance(state, _Unwalkable):
        raise ValueError(f"cannot walk to layer {name!r}: {state.reason}; use "
                         f"measured_receptive_field(model, layer, unit) instead")
    h, w = state
    return RF(size=(h.end - h.start + 1, w.end - w.start + 1), stride=(h.jump, w.jump), start=(h.start, w.start),
              input_size=tuple(input_size[2:]), output_size=(h.n, w.n), exact=lambda i, j: walk.region(node, i, j))


def _find(walk: _Walk, model, layer):
    if layer is None:
        return list(walk.states)[-1]
    node = walk.outputs.get(layer)
    if node is None or node not in walk.states:
        names = [n for n, nd in walk.outputs.items() if nd in walk.states]
        raise KeyError(f"no layer {layer!r} in {type(model).__name__}; layers are: {', '.join(names)}")
    return node


def receptive_field(model: nn.Module, layer: str | None = None, input_size=(1, 3, 32, 32)) -> RF:
    """The :class:`RF` of the output of module ``layer`` (``None``: the model's output)."""
    walk = _walk(model, input_size)
    return _to_rf(walk, _find(walk, model, layer), layer or "output", input_size)


def receptive_field_table(model: nn.Module, input_size=(1, 3, 32, 32)) -> list[dict]:
    """One row per module output, in the order they run: name, type, size, stride, start, output size.

    A layer the walk cannot follow has ``None`` in its numbers and the reason under ``"note"``. A module
    called more than once (one ``nn.ReLU`` reused in a block) is listed at its last call.
    """
    walk = _walk(model, input_size)
    order = {node: k for k, node in enumerate(walk.states)}
    rows = []
    for name, node in sorted(((n, nd) for n, nd in walk.outputs.items() if nd in order), key=lambda t: order[t[1]]):
        kind = type(model.get_submodule(name)).__name__
        state = walk.states[node]
        if isinstance(state, _Unwalkable):
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
            if _pair(m.dilation) != (1, 1):
                raise ValueError(f"{name}: a dilated max-pool has no average-pool twin; cannot measure")
            swap = nn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
            clone.set_submodule(name, swap)
        elif isinstance(m, nn.AdaptiveMaxPool2d):
            clone.set_submodule(name, nn.AdaptiveAvgPool2d(m.output_size))
        elif isinstance(m, _ACTIVATIONS):
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
    out = clone(x)
    out = captured.get("out", out)
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{layer or 'the model'} returns {type(out).__name__}, not one tensor "
                         "(several exits?): name a layer whose output is a tensor")
    i, j = unit
    target = out[0, :, i, j].sum() if out.dim() == 4 else out[0].sum()
    (grad,) = torch.autograd.grad(target, x)
    hit = grad[0].abs().sum(0) != 0
    rows, cols = torch.nonzero(hit.any(1)).flatten(), torch.nonzero(hit.any(0)).flatten()
    if len(rows) == 0:
        raise ValueError(f"no input pixel reaches unit {unit} of {layer!r}")
    return (int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1]))
