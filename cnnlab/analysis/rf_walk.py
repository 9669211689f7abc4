"""The graph walk behind :mod:`cnnlab.analysis.receptive_field`: trace a model with ``torch.fx`` and
carry each node's receptive field through the graph.

For every node of the traced graph we keep, per spatial dimension, a :class:`Dim`: the box
``start..end`` of input pixels read by the node's top-left unit, the ``jump`` between neighbouring
units and the map length ``n``. Each operation is a *step* that maps an interval of its output
units to the interval of input units it reads; :func:`walk` composes them forward (the recurrence
of :mod:`cnnlab.analysis.receptive_field`) and :meth:`Walk.region` backward, for exact borders.
Operations the walk cannot follow are marked :class:`Unwalkable`, with the reason.
"""
from __future__ import annotations

import contextlib
import io
import operator
from dataclasses import dataclass

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

__all__ = ["Dim", "Unwalkable", "Walk", "walk", "ACTIVATIONS"]


@dataclass(frozen=True)
class Dim:
    """Box of the top-left unit in one dimension, its jump, and the feature map length ``n``."""

    start: int
    end: int
    jump: int
    n: int


class Unwalkable:
    """Marks a node the walk could not follow, with the reason (raised only if that layer is asked for)."""

    def __init__(self, reason: str):
        self.reason = reason


_STOCHASTIC = ("StochasticDepth", "DropBlock2d", "DropBlock3d", "DropPath")
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
                 nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus)
_PASS_THROUGH = ACTIVATIONS + (nn.Identity, nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.modules.batchnorm._BatchNorm,
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
    """The step of an adaptive pooling whose bins are equal (see :func:`_adaptive_step`): 1 output ->
    every input unit (None); 1 input -> copied to every bin; ``n_in`` a multiple of ``n_out`` -> a
    plain window of ``n_in // n_out``."""
    if n_out == 1:
        return None
    if n_in == 1:
        return (0, 0, 0)
    k = n_in // n_out
    return _window(k, k, 0, 1)


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
    return Unwalkable(f"{where} changes the feature map from {sizes[0]} to {out} in a way the walk "
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
        return Unwalkable(f"{where} is a Linear layer applied to a feature map (it mixes the last axis)")
    if isinstance(m, _PASS_THROUGH + (nn.Linear, nn.Flatten)) or type(m).__name__ in _STOCHASTIC:
        return _generic(inputs, states, out_shape, where)
    return Unwalkable(f"{where} is a {type(m).__name__}, which the walk does not know")


def _adaptive_step(x, states, out_shape, where):
    sizes = [(d.n, n) for d, n in zip(states[x], _spatial(out_shape))]
    if any(n_out > 1 and n_in > 1 and n_in % n_out for n_in, n_out in sizes):
        return Unwalkable(f"{where} pools {(states[x][0].n, states[x][1].n)} units into "
                           f"{_spatial(out_shape)} bins of unequal size (no single window)")
    return [(x, tuple(_adaptive(n_in, n_out) for n_in, n_out in sizes))]


def _function_step(node, states, out_shape, where: str):
    target, args, kwargs = node.target, node.args, node.kwargs

    def arg(i, name, default):
        """Argument ``name`` of the call, given by position ``i`` or by keyword (e.g. F.conv2d's stride is 3rd)."""
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
                return Unwalkable(f"{where} indexes the feature map with {s!r}")
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
                boxes.append(Dim(d.start, d.end + (d.n - 1) * d.jump, 0, n_out))
            else:
                scale, lo, hi = m
                boxes.append(Dim(d.start + lo * d.jump, d.end + hi * d.jump, d.jump * scale, n_out))
        jumps = {b.jump for b in boxes if b.jump}
        if len(jumps) > 1 and n_out > 1:
            return Unwalkable(f"{where} combines feature maps of different effective strides {sorted(jumps)}")
        result.append(Dim(min(b.start for b in boxes), max(b.end for b in boxes), max(jumps, default=0), n_out))
    return tuple(result)


@dataclass
class Walk:
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


def walk(model: nn.Module, size: tuple[int, int, int, int]) -> Walk:
    """Trace ``model``, find every node's output shape for an input of ``size`` (N, C, H, W, checked by
    the caller), and carry the receptive field through the graph."""
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
    try:
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints its traceback
            ShapeProp(gm).propagate(torch.zeros(size, dtype=param.dtype if param is not None else torch.float32,
                                                device=param.device if param is not None else "cpu"))
    except RuntimeError as err:
        cause = err.__cause__ or err
        raise ValueError(f"input_size={size} does not fit {type(model).__name__}: {cause}; give (N, C, H, W) with "
                         f"the channels its first layer takes and an image large enough for its strides and "
                         f"pools") from None
    finally:
        model.train(was_training)
    states, links = {}, {}
    for node in graph.nodes:
        out_shape = _shape(node)
        if node.op == "placeholder":
            states[node] = (Dim(0, 0, 1, size[2]), Dim(0, 0, 1, size[3]))
            continue
        inputs = _tensor_nodes(list(node.args) + list(node.kwargs.values()), states)
        if node.op in ("get_attr", "output") or out_shape is None or not inputs:
            continue
        where = f"{node.op} {node.target!r}"
        bad = [states[n] for n in inputs if isinstance(states[n], Unwalkable)]
        if bad:
            states[node] = bad[0]
            continue
        if node.op == "call_module":
            step = _module_step(gm.get_submodule(node.target), inputs, states, out_shape, where)
        else:
            step = _function_step(node, states, out_shape, where)
        if isinstance(step, Unwalkable):
            states[node] = step
            continue
        links[node] = step
        states[node] = _forward(step, states, out_shape, where)
    return Walk(gm, tracer.module_outputs, states, links)


