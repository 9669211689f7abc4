"""Keeping batch norm's running statistics [ioffe2015batch] as they were.

Every training-mode forward pass through a batch norm updates its running mean and variance (and its
batch counter). Two kinds of forward pass must not leave that trace: a *recomputation* during the
backward pass (checkpointing, as in memory-efficient DenseNets [pleiss2017memory]), which would count
the same batch twice, and a *measurement* of a model (signal, gradients, memory), which must leave a
trained model unchanged. :func:`running_stats_kept` is the one place that puts the buffers back.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

__all__ = ["running_stats_kept"]


@contextmanager
def running_stats_kept(module: nn.Module) -> Iterator[nn.Module]:
    """Run the ``with`` body, then copy every buffer of ``module`` back to its value before the body
    (also after an error)."""
    saved = [buffer.clone() for buffer in module.buffers()]
    try:
        yield module
    finally:
        with torch.no_grad():
            for buffer, value in zip(module.buffers(), saved):
                buffer.copy_(value)
