"""Lesion studies [veit2016residual]: delete residual blocks of a trained network at test time.

Deleting a block keeps its shortcut and drops its residual branch, so the block computes
``shortcut(x)`` instead of ``shortcut(x) + branch(x)``: the identity where the block keeps the shape,
the block's own projection or zero-padding shortcut where it subsamples. A plain block (built with
``residual=False``) has no shortcut of its own; deleting it puts the parameter-free shortcut of option A
[he2016deep] in its place (the identity, or subsampling and zero-padding where the shape changes), the
closest thing a plain network has to a skip. Veit et al. read the result as an ensemble of paths: in a
residual network most paths survive the deletion of one block, in a plain network none does.

The original block's ReLU after the addition is dropped with the branch: it changes nothing, since the
shortcut carries the previous block's (non-negative) output. Pre-activation blocks apply nothing after it.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import torch
import torch.nn as nn

from ..layers.residual import ResidualBlock, make_shortcut

__all__ = ["DeletedBlock", "residual_blocks", "deleted_blocks", "accuracy_without", "block_deletion"]


def _stride(block: ResidualBlock) -> int:
    return block.blur.stride if block.blur is not None else block.conv_stride


class DeletedBlock(nn.Module):
    """What is left of ``block`` once its branch is deleted: its shortcut (module docstring)."""

    def __init__(self, block: ResidualBlock):
        super().__init__()
        if not isinstance(block, ResidualBlock):
            raise TypeError(f"only residual blocks (cnnlab.layers.ResidualBlock) can be deleted, "
                            f"got {type(block).__name__}")
        self.shortcut = block.shortcut if block.shortcut is not None else \
            make_shortcut("a", block.in_channels, block.out_channels, _stride(block), norm=False)
        self.downsampling = block.in_channels != block.out_channels or _stride(block) > 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x)


def residual_blocks(model: nn.Module) -> list[str]:
    """Names of the residual blocks of ``model`` (instances of :class:`cnnlab.layers.ResidualBlock`), in
    the order ``named_modules`` lists them (the forward order for cnnlab's ResNets)."""
    return [name for name, module in model.named_modules() if isinstance(module, ResidualBlock)]


def _parent_and_attr(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    parent, _, attr = name.rpartition(".")
    return (model.get_submodule(parent) if parent else model), attr


@contextmanager
def deleted_blocks(model: nn.Module, names: Iterable[str]) -> Iterator[nn.Module]:
    """Within the ``with`` block, the residual blocks ``names`` of ``model`` are replaced by
    :class:`DeletedBlock`; on exit (also after an error) the original blocks are put back.

    ``with deleted_blocks(model, ["stages.stage2.3"]): accuracy = ...``
    """
    names = list(names)
    known = residual_blocks(model)
    for name in names:
        if name not in known:
            raise KeyError(f"{name!r} is not a residual block of this model; its blocks are: {', '.join(known)}")
    if len(set(names)) != len(names):
        raise ValueError(f"each block can be deleted once; got {names}")
    originals = []
    try:
        for name in names:
            parent, attr = _parent_and_attr(model, name)
            block = getattr(parent, attr)
            setattr(parent, attr, DeletedBlock(block))
            originals.append((parent, attr, block))
        yield model
    finally:
        for parent, attr, block in reversed(originals):
            setattr(parent, attr, block)


@torch.no_grad()
def accuracy_without(model: nn.Module, batches, names: Iterable[str] = ()) -> float:
    """Accuracy of ``model`` in eval mode on ``batches`` (an iterable of ``(images, labels)``) with the residual
    blocks ``names`` deleted (none: the intact network); the model's mode and blocks are restored after."""
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        with deleted_blocks(model, names):
            for x, y in batches:
                correct += (model(x).argmax(1) == y).sum().item()
                total += len(y)
    finally:
        model.train(was_training)
    if not total:
        raise ValueError("batches gave no images: pass an iterable of (images, labels) batches")
    return correct / total


def block_deletion(model: nn.Module, batches, blocks: list[str] | None = None) -> list[dict]:
    """Accuracy of ``model`` on ``batches`` (re-iterable, e.g. a :class:`cnnlab.data.DeviceLoader` with
    ``train=False``) with each single block of ``blocks`` (default: all :func:`residual_blocks`) deleted, as in
    Fig. 3 of [veit2016residual]. Returns one dict per block, ``{"block", "accuracy", "downsampling"}``, after a
    first one for the intact network (``"block": None``). ``downsampling`` marks the blocks that change the
    shape (their shortcut subsamples), which Veit et al. find hurt more when deleted.
    """
    blocks = residual_blocks(model) if blocks is None else list(blocks)
    rows = [{"block": None, "accuracy": accuracy_without(model, batches), "downsampling": False}]
    for name in blocks:
        with deleted_blocks(model, [name]):
            downsampling = model.get_submodule(name).downsampling
        rows.append({"block": name, "accuracy": accuracy_without(model, batches, [name]),
                     "downsampling": downsampling})
    return rows
