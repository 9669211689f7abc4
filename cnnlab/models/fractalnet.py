"""FractalNet [larsson2017fractalnet]: depth without residuals, by a fractal expansion rule.

A block with C columns is built by f_1(z) = conv(z) and f_{C+1}(z) = join(f_C(f_C(z)), conv(z)),
where join is the element-wise mean. Column j (from the shallowest, j = 1..C) is a chain of
2^(j-1) convs; the deepest has 2^(C-1). Joins that meet at the same depth are merged into one
(Fig. 1 of the paper), so a C-column block runs conv by conv, from depth 1 to 2^(C-1), and at each
depth joins the columns that end a conv there. Every conv is 3x3 conv, BN, ReLU.

Drop-path regularises training: per mini-batch, either *local* (each join drops each input with
probability ``p_local``, keeping at least one) or *global* (one column, drawn at random, is kept
throughout the network, so each column must work alone). The paper draws global for half of the
mini-batches (``global_ratio``). In eval every path is used and the joins average deterministically.
The choice is drawn by :class:`ColumnSampler` and applied by :class:`FractalJoin`, two small
modules that hold all the randomness and use tensor operations only (no Python branch on a tensor
value), so the network stays traceable by torch.fx.

The CIFAR network has B=5 blocks of 64, 128, 256, 512, 512 channels, each followed by 2x2
max-pooling (32x32 -> 1x1), then a linear layer; C=3 gives 20 layers.

A single column can be evaluated alone after training (the paper's Table 1, "deepest column alone"):
``with model.only_column(j): ...`` runs every block as its column ``j`` only (0-based, shallowest
first; ``columns - 1`` is the deepest), a plain network of ``5 * 2^j`` convolutions. ``dropout`` is the rate of
the last block, rates growing linearly from 0 (the paper's 0, 10, ..., 40%).

Parameter count: ours has 33.72M at C=3; the paper prints 38.6M for its 20-layer network. The
authors' released generator (github.com/gustavla/fractalnet, ``generation/fractalnet.py``: 3 columns,
5 blocks, 64-512 filters) wires the same seven 3x3 convs per block and comes to 33.71M (its convs
carry biases, its batch norms have no affine parameters), so the printed figure cannot be rebuilt
from the paper's description or its code, and no reference figure is checked.
"""
from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn

from ..layers.fractal import ColumnSampler, FractalBlock
from .base import Network
from .registry import register

__all__ = ["FractalNet"]


class FractalNet(Network):
    """FractalNet for 32x32 images: fractal blocks of ``widths`` channels, each then 2x2 max-pooled."""

    def __init__(self, columns: int = 3, widths: tuple[int, ...] = (64, 128, 256, 512, 512), num_classes: int = 10,
                 dropout: float = 0.0, p_local: float = 0.15, global_ratio: float = 0.5):
        if not widths or 2 ** len(widths) > 32:
            raise ValueError(f"widths gives one block per 2x2 pooling of a 32x32 image: 1 to 5 blocks, got {widths!r}")
        super().__init__(in_channels=3, input_size=32)
        if not isinstance(columns, int) or columns < 1:
            raise ValueError(f"columns must be a positive integer, got {columns!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.sampler = ColumnSampler(columns, global_ratio)
        self.columns = columns
        self.column: int | None = None  # set by only_column: run that column alone
        blocks, channels = OrderedDict(), 3
        for b, width in enumerate(widths):
            rate = dropout * b / max(len(widths) - 1, 1)
            blocks[f"block{b + 1}"] = FractalBlock(channels, width, columns, rate, p_local)
            channels = width
        self.blocks = nn.ModuleDict(blocks)
        self.pool = nn.MaxPool2d(2)
        side = 32 // 2 ** len(widths)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, num_classes))

    @contextmanager
    def only_column(self, column: int) -> Iterator[FractalNet]:
        """Inside the ``with`` block the network is column ``column`` alone (0-based, shallowest first)."""
        if isinstance(column, bool) or not isinstance(column, int) or not 0 <= column < self.columns:
            raise ValueError(f"column must be an integer from 0 (the shallowest) to {self.columns - 1} "
                             f"(the deepest), got {column!r}")
        previous, self.column = self.column, column
        try:
            yield self
        finally:
            self.column = previous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.column is not None:
            for block in self.blocks.values():
                x = self.pool(block.column_forward(x, self.column))
            return self.head(x)
        chosen = self.sampler(x)
        for block in self.blocks.values():
            x = self.pool(block(x, chosen))
        return self.head(x)


@register("fractalnet20", paper="larsson2017fractalnet", family="fractalnet", tags=("chapter06", "large"))
def fractalnet20(num_classes: int = 10, *, dropout: float = 0.0, p_local: float = 0.15,
                 global_ratio: float = 0.5) -> FractalNet:
    """FractalNet-20 on CIFAR [larsson2017fractalnet]: 5 blocks of 3 columns, 64-512 channels."""
    return FractalNet(3, (64, 128, 256, 512, 512), num_classes, dropout=dropout, p_local=p_local,
                      global_ratio=global_ratio)


@register("fractalnet20_w16", paper="larsson2017fractalnet", family="fractalnet", tags=("chapter06",))
def fractalnet20_w16(num_classes: int = 10, *, dropout: float = 0.0, p_local: float = 0.15,
                     global_ratio: float = 0.5) -> FractalNet:
    """FractalNet-20 with a quarter of the widths (16-128 channels), for quick runs on a CPU."""
    return FractalNet(3, (16, 32, 64, 128, 128), num_classes, dropout=dropout, p_local=p_local,
                      global_ratio=global_ratio)
