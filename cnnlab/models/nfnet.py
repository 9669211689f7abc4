"""Normalizer-free networks: NF-ResNets [brock2021characterizing] and NFNets [brock2021high].

No batch norm at all: the residual stream is kept in check analytically. Each block computes
``h_{i+1} = h_i + alpha * f_i(h_i / beta_i)`` where ``beta_i = sqrt(Var(h_i))`` is the variance
*expected* at the block input: f_i (scaled weight-standardized convs and scaled activations,
:mod:`cnnlab.layers.scaled_ws`) maps a unit-variance input to a unit-variance output, so the
variance grows by ``alpha^2`` per block and is reset to ``1 + alpha^2`` by every transition block,
whose shortcut (a conv on ``h_i / beta_i``) restarts the stream at variance 1 (:func:`expected_betas`).
A learnable scalar ``skip_gain`` multiplies f_i; ``skip_init=True`` starts it at 0 (SkipInit), so every
block is the identity at initialization, as the NFNet code does.

NFNet-F0 ([brock2021high] §4 and Appendix C): a stem of four 3x3 convs (16, 32, 64, 128 channels,
strides 2, 1, 1, 2), stages of 1, 2, 6, 3 bottleneck blocks of widths 256, 512, 1536, 1536
(bottleneck ratio 0.5; two grouped 3x3 convs with 128 channels per group; SE with ratio 0.5 and
a 2x sigmoid gate; GELU), a 1x1 conv to 3072 channels, pooling, dropout 0.2, linear classifier.

Departures (CIFAR forms): ``nf_resnet20/56`` are the CIFAR ResNets of [he2016deep] rebuilt
normalizer-free (pre-activation basic blocks, ReLU, 1x1 projection shortcuts at transitions);
``nfnet_f0_cifar`` keeps F0's block design and depths with a stride-1 stem of 16, 32, 32, 64
channels, widths 64, 128, 256, 256 and 16 channels per group, so it trains on a CPU.
The training-side piece, adaptive gradient clipping, lives in ``cnnlab.train.agc``.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
from torchvision.ops import StochasticDepth

from ..layers.scaled_ws import ScaledActivation, ScaledStdConv2d
from ..layers.se import SqueezeExcite
from .base import Network
from .registry import register

__all__ = ["NFNet", "NFBasicBlock", "NFBottleneck", "expected_betas"]


def expected_betas(depths: list[int], alpha: float) -> list[float]:
    """beta_i = expected std of every block's input: variance +alpha^2 per block, 1 + alpha^2 after a transition."""
    betas, variance = [], 1.0
    for depth in depths:
        for b in range(depth):
            betas.append(variance ** 0.5)
            variance = (1.0 if b == 0 else variance) + alpha ** 2
    return betas


class _TwiceSigmoid(nn.Module):
    """The NFNet SE gate, ``2 * sigmoid``: at init it keeps the signal's scale (sigmoid(0) * 2 = 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * torch.sigmoid(x)


class _NFResidual(nn.Module):
    """``shortcut + skip_gain * alpha * f(act(h) / beta)``; subclasses build ``body`` (f without its first act)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, beta: float, alpha: float, act: str,
                 skip_init: bool, drop_prob: float, pool_shortcut: bool):
        super().__init__()
        if beta <= 0 or alpha < 0:
            raise ValueError(f"beta must be positive and alpha non-negative, got beta={beta!r}, alpha={alpha!r}")
        self.beta, self.alpha = beta, alpha
        self.act = ScaledActivation(act)
        if stride > 1 and pool_shortcut:
            self.shortcut = nn.Sequential(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
                                          ScaledStdConv2d(in_channels, out_channels, 1))
        elif stride > 1 or in_channels != out_channels:
            self.shortcut = ScaledStdConv2d(in_channels, out_channels, 1, stride)
        else:
            self.shortcut = None
        self.skip_gain = nn.Parameter(torch.zeros(()) if skip_init else torch.ones(()))
        self.drop_path = StochasticDepth(drop_prob, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(x) / self.beta
        shortcut = x if self.shortcut is None else self.shortcut(out)
        return shortcut + self.drop_path(self.body(out)) * self.skip_gain * self.alpha


class NFBasicBlock(_NFResidual):
    """NF-ResNet basic block [brock2021characterizing]: f = conv3x3 (stride), act, conv3x3."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, beta: float = 1.0, alpha: float = 0.2,
                 act: str = "relu", skip_init: bool = True, drop_prob: float = 0.0):
        super().__init__(in_channels, out_channels, stride, beta, alpha, act, skip_init, drop_prob, pool_shortcut=False)
        self.body = nn.Sequential(ScaledStdConv2d(in_channels, out_channels, 3, stride), ScaledActivation(act),
                                  ScaledStdConv2d(out_channels, out_channels, 3))


class NFBottleneck(_NFResidual):
    """NFNet block [brock2021high] Fig. 5: 1x1, grouped 3x3 (stride), grouped 3x3, 1x1, SE (x2 gate).

    The inner width is ``expansion * out_channels`` rounded to whole groups of ``group_size``
    channels; the transition shortcut is 2x2 average pooling then a 1x1 conv.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, beta: float = 1.0, alpha: float = 0.2,
                 act: str = "gelu", skip_init: bool = True, drop_prob: float = 0.0, expansion: float = 0.5,
                 group_size: int = 128, se_ratio: float = 0.5):
        super().__init__(in_channels, out_channels, stride, beta, alpha, act, skip_init, drop_prob, pool_shortcut=True)
        groups = int(out_channels * expansion) // group_size
        if groups < 1:
            raise ValueError(f"group_size {group_size} exceeds the inner width {int(out_channels * expansion)}")
        width = groups * group_size
        self.body = nn.Sequential(OrderedDict([
            ("conv1", ScaledStdConv2d(in_channels, width, 1)), ("act1", ScaledActivation(act)),
            ("conv2", ScaledStdConv2d(width, width, 3, stride, groups=groups)), ("act2", ScaledActivation(act)),
            ("conv2b", ScaledStdConv2d(width, width, 3, groups=groups)), ("act3", ScaledActivation(act)),
            ("conv3", ScaledStdConv2d(width, out_channels, 1)),
            ("se", SqueezeExcite(out_channels, squeeze_channels=max(1, int(out_channels * se_ratio)),
                                 scale_activation=_TwiceSigmoid)),
        ]))


class NFNet(Network):
    """Stem, stages of NF blocks with betas from :func:`expected_betas`, final conv (optional), head.

    ``block`` is "bottleneck" (NFNet) or "basic" (NF-ResNet); ``stem_widths``/``stem_strides`` give
    the stem's 3x3 convs; the first stage keeps the resolution, later ones halve it. ``final_width``
    adds the 1x1 conv before pooling (NFNet). ``drop_path`` grows linearly to its value at the last
    block. Extra ``block_options`` (act, group_size, skip_init, ...) go to every block.
    Children: ``stem``, ``stages``, ``final``, ``head``. No normalization layer anywhere.
    """

    def __init__(self, depths: list[int], widths: list[int], num_classes: int = 10, block: str = "bottleneck",
                 stem_widths: tuple[int, ...] = (16, 32, 64, 128), stem_strides: tuple[int, ...] = (2, 1, 1, 2),
                 final_width: int | None = None, alpha: float = 0.2, act: str = "gelu", dropout: float = 0.2,
                 drop_path: float = 0.0, min_input_size: int = 32, **block_options):
        if block not in ("basic", "bottleneck"):
            raise ValueError(f"unknown block {block!r}; expected 'basic' or 'bottleneck'")
        if len(depths) != len(widths) or not depths or any(not isinstance(d, int) or d < 1 for d in depths):
            raise ValueError(f"depths {depths} and widths {widths} must be lists of the same length with at "
                             f"least one block per stage")
        if len(stem_widths) != len(stem_strides) or not stem_widths:
            raise ValueError("stem_widths and stem_strides must be non-empty and of the same length")
        if not 0 <= dropout < 1 or not 0 <= drop_path < 1:
            raise ValueError(f"dropout and drop_path must lie in [0, 1), got {dropout!r}, {drop_path!r}")
        super().__init__(in_channels=3, min_input_size=min_input_size)
        stem, channels = [], 3
        for i, (width, stride) in enumerate(zip(stem_widths, stem_strides)):
            if i > 0:
                stem.append(ScaledActivation(act))
            stem.append(ScaledStdConv2d(channels, width, 3, stride))
            channels = width
        self.stem = nn.Sequential(*stem)
        Block = NFBottleneck if block == "bottleneck" else NFBasicBlock
        betas, total, index = expected_betas(depths, alpha), sum(depths), 0
        stages = OrderedDict()
        for s, (depth, width) in enumerate(zip(depths, widths)):
            blocks = []
            for b in range(depth):
                blocks.append(Block(channels, width, 2 if s > 0 and b == 0 else 1, beta=betas[index], alpha=alpha,
                                    act=act, drop_prob=drop_path * index / max(total - 1, 1), **block_options))
                channels, index = width, index + 1
            stages[f"stage{s + 1}"] = nn.Sequential(*blocks)
        self.stages = nn.Sequential(stages)
        final: list[nn.Module] = []
        if final_width is not None:
            final.append(ScaledStdConv2d(channels, final_width, 1))
            channels = final_width
        self.final = nn.Sequential(*final, ScaledActivation(act))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(channels, num_classes))
        nn.init.zeros_(self.head[-1].weight)  # zero-initialized classifier, as the official code
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.final(self.stages(self.stem(x))))


@register("nfnet_f0_imagenet", paper="brock2021high", family="nfnet", input_size=256,
          reference="paper: brock2021high, Table 1 (71.5M)", reference_params=71_500_000, tags=("chapter16", "large"))
def nfnet_f0_imagenet(num_classes: int = 1000, **options) -> NFNet:
    """NFNet-F0 [brock2021high] (trained at 192, tested at 256 pixels; see module docstring)."""
    return NFNet([1, 2, 6, 3], [256, 512, 1536, 1536], num_classes, final_width=3072, **options)


@register("nfnet_f0_cifar", paper="brock2021high", family="nfnet", tags=("chapter16",))
def nfnet_f0_cifar(num_classes: int = 10, **options) -> NFNet:
    """NFNet-F0's design, narrowed for CIFAR (see module docstring)."""
    options.setdefault("group_size", 16)
    return NFNet([1, 2, 6, 3], [64, 128, 256, 256], num_classes, stem_widths=(16, 32, 32, 64),
                 stem_strides=(1, 1, 1, 1), final_width=512, min_input_size=8, **options)


def _add_nf_resnet(depth: int) -> None:
    def build(num_classes: int = 10, **options) -> NFNet:
        n = (depth - 2) // 6
        options.setdefault("act", "relu")
        options.setdefault("dropout", 0.0)
        return NFNet([n] * 3, [16, 32, 64], num_classes, block="basic", stem_widths=(16,), stem_strides=(1,),
                     min_input_size=8, **options)

    build.__doc__ = f"NF-ResNet-{depth} on CIFAR [brock2021characterizing]: ResNet-{depth} without batch norm."
    register(f"nf_resnet{depth}", paper="brock2021characterizing", family="nfnet", tags=("chapter16",))(build)


for _depth in (20, 56):
    _add_nf_resnet(_depth)
