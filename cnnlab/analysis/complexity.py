"""How big and how costly a network is: parameters, FLOPs, activation memory, latency, a per-layer table.

Two measures of activation memory: :func:`activation_memory` adds up the outputs of the leaf modules
(a quick estimate that misses what is computed outside modules, such as ``torch.cat``), and
:func:`saved_activation_memory` counts what autograd really keeps for the backward pass, on any device
(CPU included, where there is no ``torch.cuda.max_memory_allocated``).

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode``, which counts the matrix products
(convolutions, linear layers, matmuls) and counts one multiply-add as **2 FLOPs**. Papers often quote
multiply-adds instead ("MACs", "mult-adds"); we report both, ``macs = flops / 2``. Element-wise work
(batch norm, activations, pooling, additions) is not counted, as in most papers.
"""
from __future__ import annotations

import html
import statistics
import time

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from ..layers.running_stats import running_stats_kept
from .receptive_field import receptive_field_table

__all__ = ["count_parameters", "count_flops", "activation_memory", "saved_activation_memory", "measure_latency",
           "Latency", "summary", "SummaryTable"]


def _check_size(input_size) -> tuple[int, ...]:
    size = tuple(input_size)
    if len(size) != 4 or not all(isinstance(v, int) and v > 0 for v in size):
        raise ValueError(f"input_size must be four positive integers (N, C, H, W), got {input_size!r}")
    return size


def _example(model: nn.Module, input_size) -> torch.Tensor:
    param = next(model.parameters(), None)
    return torch.zeros(_check_size(input_size), device=param.device if param is not None else "cpu",
                       dtype=param.dtype if param is not None else torch.float32)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (each shared tensor once); ``trainable_only`` skips frozen ones."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, input_size=(1, 3, 32, 32)) -> dict[str, int]:
    """``{"flops": ..., "macs": ...}`` of one forward pass on a zero input of ``input_size`` (eval mode)."""
    x = _example(model, input_size)
    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    flops = counter.get_total_flops()
    return {"flops": flops, "macs": flops // 2}


def _leaves(model: nn.Module):
    return [(name, m) for name, m in model.named_modules() if not list(m.children()) and name]


def activation_memory(model: nn.Module, input_size=(1, 3, 32, 32)) -> int:
    """Bytes of all leaf-module outputs of one forward pass, at fp32 (4 bytes a value).

    This is what training keeps for the backward pass, roughly; in-place activations share memory
    in practice, so it is an upper bound.
    """
    return sum(row["output_numel"] for row in _run_leaves(model, input_size)) * 4


def saved_activation_memory(model: nn.Module, input_size=(1, 3, 32, 32)) -> int:
    """Bytes of the tensors autograd saves for the backward pass of one training-mode forward pass.

    Every tensor an operation saves passes through ``torch.autograd.graph.saved_tensors_hooks``; we
    count each storage once (a tensor saved by two operations, or an in-place result, is one block of
    memory) and leave out the model's parameters and buffers (they are there anyway). Tensors saved by
    ``torch.utils.checkpoint`` are its inputs only, so a checkpointed part counts what it really keeps.
    The model runs in training mode on a zero input of ``input_size``; its batch-norm running statistics
    and its mode are put back afterwards.
    """
    x = _example(model, input_size)
    own = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    saved: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in own:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    was_training = model.training
    model.train()
    try:
        with running_stats_kept(model), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            model(x)
    finally:
        model.train(was_training)
    return sum(saved.values())


def _run_leaves(model: nn.Module, input_size) -> list[dict]:
    """Run the model once; per leaf module (in call order): name, type, output shape, params, FLOPs."""
    x = _example(model, input_size)
    rows, handles = [], []
    counter = FlopCounterMode(display=False)
    prefix = type(model).__name__

    def record(name):
        def hook(module, _inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            if isinstance(out, torch.Tensor):
                rows.append(dict(name=name, type=type(module).__name__, output_shape=tuple(out.shape),
                                 output_numel=out.numel(),
                                 params=sum(p.numel() for p in module.parameters(recurse=False))))
        return hook

    for name, m in _leaves(model):
        handles.append(m.register_forward_hook(record(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    counts = counter.get_flop_counts()
    for row in rows:
        row["flops"] = sum(counts.get(f"{prefix}.{row['name']}", {}).values())
    return rows


class SummaryTable(list):
    """A list of per-layer dicts that prints as a fixed-width table (``str``) and as HTML in a notebook."""

    columns = ("name", "type", "output_shape", "params", "flops", "rf", "stride")

    def _cells(self) -> list[list[str]]:
        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, tuple):
                return "x".join(str(x) for x in v)
            return f"{v:,}" if isinstance(v, int) else str(v)

        body = [[fmt(row.get(c)) for c in self.columns] for row in self]
        total = ["total", "", "", fmt(sum(r["params"] for r in self)), fmt(sum(r["flops"] for r in self)), "", ""]
        return [list(self.columns)] + body + [total]

    def __str__(self) -> str:
        cells = self._cells()
        widths = [max(len(row[k]) for row in cells) for k in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) if k < 3 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths)))
                 for row in cells]
        rule = "-" * len(lines[0])
        return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])

    def _repr_html_(self) -> str:
        cells = self._cells()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells[1:])
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary(model: nn.Module, input_size=(1, 3, 32, 32)) -> SummaryTable:
    """Per-leaf-layer table: name, type, output shape, params, FLOPs, receptive field ``rf`` and
    effective stride (``None`` where the receptive-field walk cannot follow the model)."""
    rows = _run_leaves(model, input_size)
    try:
        fields = {r["name"]: r for r in receptive_field_table(model, input_size)}
    except ValueError:
        fields = {}
    table = SummaryTable()
    for row in rows:
        rf = fields.get(row["name"], {})
        table.append(dict(name=row["name"], type=row["type"], output_shape=row["output_shape"],
                          params=row["params"], flops=row["flops"], rf=rf.get("size"), stride=rf.get("stride")))
    return table


class Latency(dict):
    """Median and interquartile range of the time of one forward pass (ms), and throughput (images/s)."""

    def __str__(self) -> str:
        return (f"{self['median_ms']:.2f} ms (IQR {self['iqr_ms']:.2f} ms) at batch {self['batch_size']} on "
                f"{self['device']}: {self['images_per_s']:.0f} images/s")


def measure_latency(model: nn.Module, input_size=(1, 3, 32, 32), device=None, warmup: int = 5, repeats: int = 20,
                    batch_size: int = 1) -> Latency:
    """Time ``repeats`` forward passes of a batch of ``batch_size`` (after ``warmup`` untimed ones).

    The device is synchronized around each pass so GPU work is really finished. Returns a
    :class:`Latency` with ``median_ms``, ``iqr_ms``, ``images_per_s``, ``batch_size``, ``device``.
    """
    if warmup < 0 or repeats < 1 or batch_size < 1:
        raise ValueError(f"need warmup >= 0, repeats >= 1, batch_size >= 1; got {warmup}, {repeats}, {batch_size}")
    size = _check_size(input_size)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device)
    x = torch.randn((batch_size, *size[1:]), device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "mps":
            torch.mps.synchronize()

    was_training = model.training
    model.eval()
    times = []
    with torch.no_grad():
        for k in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            model(x)
            sync()
            if k >= warmup:
                times.append((time.perf_counter() - start) * 1000)
    model.train(was_training)
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    median = statistics.median(times)
    return Latency(median_ms=median, iqr_ms=q[2] - q[0], images_per_s=batch_size / (median / 1000),
                   batch_size=batch_size, device=str(device))
