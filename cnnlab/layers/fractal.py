"""The pieces of a fractal block, FractalNet [larsson2017fractalnet], used by :mod:`cnnlab.models.fractalnet`.

:class:`FractalBlock` expands the fractal rule into columns of conv-BN-ReLU; :class:`FractalJoin`
averages the columns that meet and applies drop-path in training, in the mode drawn for the
mini-batch by :class:`ColumnSampler` (global: one column everywhere; local: each join drops each
input with ``p_local`` and keeps at least one). The model module explains the rule.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .conv import ConvBNAct

__all__ = ["FractalBlock", "FractalJoin", "ColumnSampler"]


class ColumnSampler(nn.Module):
    """Draw this mini-batch's drop-path mode: the index of the one column kept everywhere (global,
    with probability ``global_ratio``) or -1 (local). Always -1 in eval."""

    def __init__(self, columns: int, global_ratio: float = 0.5):
        super().__init__()
        if not 0.0 <= global_ratio <= 1.0:
            raise ValueError(f"global_ratio must lie in [0, 1], got {global_ratio!r}")
        self.columns, self.global_ratio = columns, global_ratio

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x.new_full((), -1, dtype=torch.long)
        column = torch.randint(self.columns, (), device=x.device)
        is_global = torch.rand((), device=x.device) < self.global_ratio
        return torch.where(is_global, column, -1)


class FractalJoin(nn.Module):
    """Mean of the inputs from ``columns``, with drop-path in training (see the module docstring)."""

    def __init__(self, columns: list[int], p_local: float = 0.15):
        super().__init__()
        if not 0.0 <= p_local < 1.0:
            raise ValueError(f"p_local must lie in [0, 1), got {p_local!r}")
        self.p_local = p_local
        self.register_buffer("columns", torch.tensor(columns), persistent=False)

    def forward(self, inputs: list[torch.Tensor], chosen: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack(inputs)
        if not self.training:
            return stacked.mean(0)
        k = len(inputs)
        keep = torch.rand(k, device=stacked.device) >= self.p_local
        one = nn.functional.one_hot(torch.randint(k, (), device=stacked.device), k).bool()
        keep = torch.where(keep.any(), keep, one)  # local: at least one input survives
        on_column = self.columns == chosen
        keep = torch.where(chosen < 0, keep, torch.where(on_column.any(), on_column, torch.ones_like(keep)))
        weights = keep.to(stacked.dtype) / keep.sum()
        return (weights.view(k, 1, 1, 1, 1) * stacked).sum(0)


class FractalBlock(nn.Module):
    """A fractal block of ``columns`` columns: column j (0-based, shallowest first) has 2^j convs."""

    def __init__(self, in_channels: int, out_channels: int, columns: int, dropout: float = 0.0,
                 p_local: float = 0.15):
        super().__init__()
        self.depth = 2 ** (columns - 1)
        self.spans = [self.depth // 2 ** j for j in range(columns)]  # a conv of column j ends every span[j]
        convs, joins = [], []
        for j in range(columns):
            chain = [ConvBNAct(in_channels if i == 0 else out_channels, out_channels) for i in range(2 ** j)]
            if dropout:
                chain = [nn.Sequential(conv, nn.Dropout(dropout)) for conv in chain]
            convs.append(nn.ModuleList(chain))
        for d in range(1, self.depth + 1):
            joins.append(FractalJoin(self._ending(d), p_local))
        self.columns = nn.ModuleList(convs)
        self.joins = nn.ModuleList(joins)

    def _ending(self, depth: int) -> list[int]:
        return [j for j, span in enumerate(self.spans) if depth % span == 0]

    def column_forward(self, x: torch.Tensor, column: int) -> torch.Tensor:
        """Column ``column`` alone (0-based, shallowest first): its chain of 2^column convs, no joins.
        This is what global drop-path trains when it draws that column."""
        for conv in self.columns[column]:
            x = conv(x)
        return x

    def forward(self, x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        current = [x] * len(self.columns)  # the input of each column's next conv
        for d, join in zip(range(1, self.depth + 1), self.joins):
            ending = self._ending(d)
            out = join([self.columns[j][d // self.spans[j] - 1](current[j]) for j in ending], chosen)
            for j in ending:
                current[j] = out
        return out
