"""The ResNeXt block in its three equivalent forms, Fig. 3 of [xie2017aggregated], for teaching.

The block adds to its input ``x`` an *aggregated transformation*, the sum of ``C`` (the cardinality)
paths that share one shape: a 1x1 convolution from ``in_channels`` down to ``d`` channels (the
bottleneck width), a 3x3 convolution ``d -> d``, a 1x1 convolution ``d -> in_channels`` (eq. 3):
``y = relu(x + bn(sum_i T_i(x)))``. The paper draws it three ways, and all three compute the same
function when they hold the same weights:

(a) :class:`SplitTransformMerge`: ``C`` separate paths, their outputs summed;
(b) :class:`EarlyConcatenation`: the paths' first two layers as in (a), their ``d``-channel outputs
    concatenated (``C*d`` channels) and one 1x1 convolution ``C*d -> in_channels``: a 1x1 convolution of
    a concatenation is the sum of 1x1 convolutions of its parts;
(c) :class:`GroupedConvolution`: one 1x1 convolution ``in -> C*d`` (the paths' first layers stacked),
    one 3x3 convolution with ``groups=C`` (path ``i`` reads only its own ``d`` channels), one 1x1
    convolution ``C*d -> in``. This is the form ResNeXt is built with (``cnnlab.layers.Bottleneck``
    with ``groups``).

Every convolution is followed by batch norm and ReLU inside the paths; batch norm works per channel,
so a batch norm over ``C*d`` channels is ``C`` batch norms over ``d``. The last batch norm comes after
the merge, once. The shortcut is the identity (the paper's Fig. 3 blocks keep 256 channels).

:func:`path_weights` reads any form's weights as per-path tensors (a leading dimension of size ``C``),
:func:`load_path_weights` writes them into any form, and :func:`convert` builds the other form of a
block with the same weights. :func:`bottleneck_width` is the rule of the paper's Table 2: the ``d``
that keeps a block's weights at those of the ResNet bottleneck (``C=1``, ``d=64``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from math import sqrt

import torch
import torch.nn as nn

__all__ = ["ResNeXtBlock", "SplitTransformMerge", "EarlyConcatenation", "GroupedConvolution", "FORMS",
           "path_weights", "load_path_weights", "convert", "bottleneck_width", "template_weights"]

_BN_TENSORS = ("weight", "bias", "running_mean", "running_var")


def template_weights(in_channels: int, cardinality: int, width: int) -> int:
    """Convolution weights of the block, ``C * (in*d + 9*d*d + d*in)`` (the paper's Sec. 4 count)."""
    return cardinality * (2 * in_channels * width + 9 * width * width)


def bottleneck_width(cardinality: int, in_channels: int = 256, reference_width: int = 64) -> int:
    """The bottleneck width ``d`` that keeps ``C`` paths at the weights of one path of width
    ``reference_width`` (the ResNet bottleneck), rounded: solves ``C (2 in d + 9 d^2) = 2 in d0 + 9 d0^2``."""
    for name, value in (("cardinality", cardinality), ("in_channels", in_channels),
                        ("reference_width", reference_width)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    budget = template_weights(in_channels, 1, reference_width) / cardinality
    return max(1, round((-2 * in_channels + sqrt(4 * in_channels ** 2 + 36 * budget)) / 18))


class ResNeXtBlock(nn.Module, ABC):
    """What the three forms share: the checked shape, the batch norm after the merge and the ReLU
    after the identity shortcut. A form implements :meth:`transform`, the sum of the ``C`` paths."""

    form = ""

    def __init__(self, in_channels: int, cardinality: int, width: int):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("cardinality", cardinality), ("width", width)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.in_channels, self.cardinality, self.width = in_channels, cardinality, width
        self.bn_out = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()

    @abstractmethod
    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """The sum of the ``C`` paths (each form computes it its own way)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.bn_out(self.transform(x)))


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU()]


def _path_head(in_channels: int, width: int) -> nn.Sequential:
    """1x1 reduce, bn, relu, 3x3, bn, relu: the part of one path before its last 1x1 convolution."""
    return nn.Sequential(nn.Conv2d(in_channels, width, 1, bias=False), *_bn_relu(width),
                         nn.Conv2d(width, width, 3, padding=1, bias=False), *_bn_relu(width))


class SplitTransformMerge(ResNeXtBlock):
    """Form (a): ``C`` paths, each 1x1 -> 3x3 -> 1x1 back to ``in_channels``, outputs summed."""

    form = "split-transform-merge"

    def __init__(self, in_channels: int = 256, cardinality: int = 32, width: int = 4):
        super().__init__(in_channels, cardinality, width)
        self.paths = nn.ModuleList(nn.Sequential(*_path_head(in_channels, width),
                                                 nn.Conv2d(width, in_channels, 1, bias=False))
                                   for _ in range(cardinality))

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([path(x) for path in self.paths]).sum(0)


class EarlyConcatenation(ResNeXtBlock):
    """Form (b): the paths' 1x1 and 3x3 layers, their outputs concatenated, one 1x1 ``C*d -> in``."""

    form = "early concatenation"

    def __init__(self, in_channels: int = 256, cardinality: int = 32, width: int = 4):
        super().__init__(in_channels, cardinality, width)
        self.paths = nn.ModuleList(_path_head(in_channels, width) for _ in range(cardinality))
        self.expand = nn.Conv2d(cardinality * width, in_channels, 1, bias=False)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(torch.cat([path(x) for path in self.paths], dim=1))


class GroupedConvolution(ResNeXtBlock):
    """Form (c): 1x1 ``in -> C*d``, 3x3 with ``groups=C``, 1x1 ``C*d -> in``."""

    form = "grouped convolution"

    def __init__(self, in_channels: int = 256, cardinality: int = 32, width: int = 4):
        super().__init__(in_channels, cardinality, width)
        inner = cardinality * width
        self.reduce = nn.Conv2d(in_channels, inner, 1, bias=False)
        self.bn1, self.relu1 = _bn_relu(inner)
        self.conv = nn.Conv2d(inner, inner, 3, padding=1, groups=cardinality, bias=False)
        self.bn2, self.relu2 = _bn_relu(inner)
        self.expand = nn.Conv2d(inner, in_channels, 1, bias=False)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.reduce(x)))
        out = self.relu2(self.bn2(self.conv(out)))
        return self.expand(out)


FORMS = {"a": SplitTransformMerge, "b": EarlyConcatenation, "c": GroupedConvolution}


def _per_path_layers(block: ResNeXtBlock) -> tuple[list[nn.Conv2d], list[nn.BatchNorm2d], list[nn.Conv2d],
                                                    list[nn.BatchNorm2d]]:
    """The first conv, bn, second conv, bn of every path of a form (a) or (b) block."""
    return tuple([path[k] for path in block.paths] for k in (0, 1, 3, 4))


def path_weights(block: ResNeXtBlock) -> dict[str, torch.Tensor]:
    """The block's weights per path (leading dimension ``C``): ``reduce`` (C, d, in, 1, 1), ``conv``
    (C, d, d, 3, 3), ``expand`` (C, in, d, 1, 1), ``bn1.*``/``bn2.*`` (C, d); ``bn_out.*`` (in,) is shared."""
    if not isinstance(block, ResNeXtBlock):
        raise TypeError(f"expected a ResNeXt block of cnnlab.layers.resnext, got {type(block).__name__}")
    C, d = block.cardinality, block.width
    if isinstance(block, GroupedConvolution):
        reduce, conv = block.reduce.weight.view(C, d, -1, 1, 1), block.conv.weight.view(C, d, d, 3, 3)
        bn1 = {k: getattr(block.bn1, k).view(C, d) for k in _BN_TENSORS}
        bn2 = {k: getattr(block.bn2, k).view(C, d) for k in _BN_TENSORS}
    else:  # forms (a) and (b) keep the first two layers per path
        reduces, bns1, convs, bns2 = _per_path_layers(block)
        reduce, conv = torch.stack([m.weight for m in reduces]), torch.stack([m.weight for m in convs])
        bn1 = {k: torch.stack([getattr(m, k) for m in bns1]) for k in _BN_TENSORS}
        bn2 = {k: torch.stack([getattr(m, k) for m in bns2]) for k in _BN_TENSORS}
    if isinstance(block, SplitTransformMerge):
        expand = torch.stack([path[6].weight for path in block.paths])
    else:  # one 1x1 conv over the C*d concatenated channels: its input channels split by path
        expand = block.expand.weight.view(block.in_channels, C, d, 1, 1).transpose(0, 1)
    weights = {"reduce": reduce, "conv": conv, "expand": expand}
    weights.update({f"bn1.{k}": v for k, v in bn1.items()})
    weights.update({f"bn2.{k}": v for k, v in bn2.items()})
    weights.update({f"bn_out.{k}": getattr(block.bn_out, k) for k in _BN_TENSORS})
    return {k: v.detach().clone() for k, v in weights.items()}


@torch.no_grad()
def load_path_weights(block: ResNeXtBlock, weights: dict[str, torch.Tensor]) -> ResNeXtBlock:
    """Write per-path ``weights`` (as :func:`path_weights` gives them) into ``block``, of any form."""
    expected = path_weights(block)
    for name, value in expected.items():
        if name not in weights or weights[name].shape != value.shape:
            got = tuple(weights[name].shape) if name in weights else "missing"
            raise ValueError(f"weights[{name!r}] must have shape {tuple(value.shape)} for this block "
                             f"(C={block.cardinality}, d={block.width}, in={block.in_channels}), got {got}")
    C, d = block.cardinality, block.width
    for k in _BN_TENSORS:
        getattr(block.bn_out, k).copy_(weights[f"bn_out.{k}"])
    if isinstance(block, GroupedConvolution):
        block.reduce.weight.copy_(weights["reduce"].reshape(C * d, -1, 1, 1))
        block.conv.weight.copy_(weights["conv"].reshape(C * d, d, 3, 3))
        for bn, prefix in ((block.bn1, "bn1"), (block.bn2, "bn2")):
            for k in _BN_TENSORS:
                getattr(bn, k).copy_(weights[f"{prefix}.{k}"].reshape(C * d))
    else:
        reduces, bns1, convs, bns2 = _per_path_layers(block)
        for i in range(C):
            reduces[i].weight.copy_(weights["reduce"][i])
            convs[i].weight.copy_(weights["conv"][i])
            for bn, prefix in ((bns1[i], "bn1"), (bns2[i], "bn2")):
                for k in _BN_TENSORS:
                    getattr(bn, k).copy_(weights[f"{prefix}.{k}"][i])
    if isinstance(block, SplitTransformMerge):
        for i, path in enumerate(block.paths):
            path[6].weight.copy_(weights["expand"][i])
    else:
        block.expand.weight.copy_(weights["expand"].transpose(0, 1).reshape(block.in_channels, C * d, 1, 1))
    return block


def convert(block: ResNeXtBlock, form: str) -> ResNeXtBlock:
    """A new block of ``form`` ("a", "b" or "c", Fig. 3) holding the same weights as ``block``
    (and in the same train/eval mode), so it computes the same function."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {sorted(FORMS)} (Fig. 3 (a), (b), (c)), got {form!r}")
    other = FORMS[form](block.in_channels, block.cardinality, block.width)
    load_path_weights(other, path_weights(block))
    return other.train(block.training)
