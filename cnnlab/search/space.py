"""A small cell search space in NASNet's form [zoph2018learning], small enough to search on a CPU.

An *architecture* is a pair of cells, normal and reduction, each a :class:`cnnlab.layers.Genotype`: ``B``
blocks, each picking two existing states (0 = h_{i-1}, 1 = h_i, 2.. = earlier blocks) and one operation
for each, and adding the two results. The operations are 6 of NASNet's 13 (:data:`OPS`; the
:data:`cnnlab.layers.SEARCH_SPACE` builds them), the cheap ones a CPU can train many times.

Mutations are those of regularized evolution [real2019regularized] §Methods: pick the normal or the
reduction cell, one of its blocks, one of the block's two inputs; then either the *hidden-state mutation*
(that input reads another state of the cell; states are numbered so that no loop can form) or the *op
mutation* (its operation becomes another one from the list), each with probability 1/2. The paper's third,
the identity mutation (the child is a copy), is left out: our proxy gives a copy the same accuracy again.

Departures from NASNet, to keep the space small and every network the same width: ``B = 3`` blocks
instead of 5, and a cell concatenates all its blocks' outputs, as DARTS does [liu2019darts], instead of
only the states no block reads; so the cost of a cell depends on its operations only.
"""
from __future__ import annotations

import random
from typing import NamedTuple

from ..layers.nas_ops import SEARCH_SPACE, Genotype
from ..models.nasnet import NASNet

__all__ = ["OPS", "BLOCKS", "Architecture", "random_cell", "random_architecture", "mutate", "network"]

OPS = ("identity", "conv_1x1", "conv_3x3", "sep_conv_3x3", "avg_pool_3x3", "max_pool_3x3")
BLOCKS = 3


class Architecture(NamedTuple):
    """A searched network's two cells. ``str()`` gives a one-line text that :meth:`parse` reads back, e.g.
    ``conv_3x3@1+identity@0 ... | max_pool_3x3@0+...`` (blocks separated by spaces, cells by `` | ``)."""

    normal: Genotype
    reduction: Genotype

    def __str__(self) -> str:
        return " | ".join(" ".join("+".join(f"{op}@{i}" for op, i in block) for block in cell.blocks)
                          for cell in (self.normal, self.reduction))

    @classmethod
    def parse(cls, text: str) -> "Architecture":
        """The architecture that ``str()`` wrote as ``text``."""
        cells = text.split(" | ")
        if len(cells) != 2:
            raise ValueError(f"an architecture is two cells separated by ' | ', got {text!r}")
        genotypes = []
        for cell in cells:
            blocks = []
            for block in cell.split(" "):
                pair = []
                for item in block.split("+"):
                    op, _, index = item.partition("@")
                    if not index.isdigit():
                        raise ValueError(f"each input is written op@state, got {item!r} in {text!r}")
                    pair.append((op, int(index)))
                if len(pair) != 2:
                    raise ValueError(f"a block adds two inputs, got {block!r} in {text!r}")
                blocks.append(tuple(pair))
            genotypes.append(_cell(blocks))
        return cls(*genotypes)


def _cell(blocks) -> Genotype:
    """A cell of ``blocks`` that concatenates all of them (states 2 .. B + 1)."""
    blocks = tuple(tuple((op, index) for op, index in block) for block in blocks)
    for b, block in enumerate(blocks):
        for op, index in block:
            if op not in SEARCH_SPACE:
                raise ValueError(f"unknown operation {op!r}; expected one of {tuple(SEARCH_SPACE)}")
            if not 0 <= index < b + 2:
                raise ValueError(f"block {b} may read states 0..{b + 1}, got {index}")
    return Genotype(blocks, tuple(range(2, len(blocks) + 2)))


def _check_ops(ops) -> tuple[str, ...]:
    ops = tuple(ops)
    unknown = [op for op in ops if op not in SEARCH_SPACE]
    if len(ops) < 2 or unknown:
        raise ValueError(f"ops must list at least two of {tuple(SEARCH_SPACE)}; got {ops}")
    return ops


def random_cell(rng: random.Random, blocks: int = BLOCKS, ops=OPS) -> Genotype:
    """A cell drawn uniformly: for each block and each of its two inputs, a state and then an op."""
    ops = _check_ops(ops)
    if not isinstance(blocks, int) or blocks < 1:
        raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
    drawn = []
    for b in range(blocks):
        drawn.append(tuple((rng.choice(ops), rng.randrange(b + 2)) for _ in range(2)))
    return _cell(drawn)


def random_architecture(rng: random.Random, blocks: int = BLOCKS, ops=OPS) -> Architecture:
    """A normal and a reduction cell, drawn one after the other with :func:`random_cell`."""
    return Architecture(random_cell(rng, blocks, ops), random_cell(rng, blocks, ops))


def mutate(architecture: Architecture, rng: random.Random, ops=OPS) -> Architecture:
    """A child that differs from ``architecture`` by one mutation (see the module docstring).

    Draws, in this order: the cell (normal or reduction), the block, which of its two inputs, the kind of
    mutation (hidden state or op), then the new value among the ones that differ from the old one. The first
    block can read only states 0 and 1, so its hidden-state mutation swaps them.
    """
    ops = _check_ops(ops)
    which = rng.randrange(2)
    cell = architecture[which]
    b = rng.randrange(len(cell.blocks))
    side = rng.randrange(2)
    op, index = cell.blocks[b][side]
    if rng.random() < 0.5:
        index = rng.choice([i for i in range(b + 2) if i != index])
    else:
        op = rng.choice([o for o in ops if o != op])
    blocks = [list(block) for block in cell.blocks]
    blocks[b][side] = (op, index)
    cells = list(architecture)
    cells[which] = _cell(blocks)
    return Architecture(*cells)


def network(architecture: Architecture, channels: int = 16, repeats: int = 1, num_classes: int = 10) -> NASNet:
    """The CIFAR network of :class:`cnnlab.models.nasnet.NASNet` with ``architecture``'s cells: ``repeats``
    normal cells per stage, ``channels`` per state in the first stage, doubled by each reduction cell."""
    return NASNet(repeats, channels, num_classes, normal=architecture.normal, reduction=architecture.reduction)
