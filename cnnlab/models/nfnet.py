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

from ..layers.nf import NFBasicBlock, NFBottleneck
from ..layers.regularizers import drop_probabilities
from ..layers.scaled_ws import ScaledActivation, ScaledStdConv2d
from .base import Network
from .registry import register

__all__ = ["NFNet", "expected_betas"]


def expected_betas(depths: list[int], alpha: float) -> list[float]:
    """beta_i = expected std of every block's input: variance +alpha^2 per block, 1 + alpha^2 after a transition."""
    betas, variance = [], 1.0
    for depth in depths:
        for b in range(depth):
            betas.append(variance ** 0.5)
            variance = (1.0 if b == 0 else variance) + alpha ** 2
    return betas


class NFNet(Network):
    """Stem, stages of NF blocks with betas from :func:`expected_betas`, final conv (optional), head.

    ``block`` is "bottleneck" (NFNet) or "basic" (NF-ResNet); ``stem_widths``/``stem_strides`` give
    the stem's 3x3 convs; the first stage keeps the resolution, later ones halve it. ``final_width``
    adds the 1x1 conv before pooling (NFNet). ``drop_path`` is the stochastic-depth probability of the
    last block, block l of L dropping l/L of it [huang2016deep]. ``group_size`` and ``skip_init`` go to
    every block (``group_size`` to bottlenecks only).
    Children: ``stem``, ``stages``, ``final``, ``head``. No normalization layer anywhere.
    """

    def __init__(self, depths: list[int], widths: list[int], num_classes: int = 10, block: str = "bottleneck",
                 stem_widths: tuple[int, ...] = (16, 32, 64, 128), stem_strides: tuple[int, ...] = (2, 1, 1, 2),
                 final_width: int | None = None, alpha: float = 0.2, act: str = "gelu", dropout: float = 0.2,
                 drop_path: float = 0.0, min_input_size: int = 32, group_size: int = 128, skip_init: bool = True):
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
        betas, drop_probs = iter(expected_betas(depths, alpha)), iter(drop_probabilities(sum(depths), drop_path))
        block_options = dict(skip_init=skip_init)
        if block == "bottleneck":
            block_options["group_size"] = group_size
        stages = OrderedDict()
        for s, (depth, width) in enumerate(zip(depths, widths)):
            blocks = []
            for b in range(depth):
                blocks.append(Block(channels, width, 2 if s > 0 and b == 0 else 1, beta=next(betas), alpha=alpha,
                                    act=act, drop_prob=next(drop_probs), **block_options))
                channels = width
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
def nfnet_f0_imagenet(num_classes: int = 1000, *, dropout: float = 0.2, drop_path: float = 0.0,
                      skip_init: bool = True) -> NFNet:
    """NFNet-F0 [brock2021high] (trained at 192, tested at 256 pixels; see module docstring)."""
    return NFNet([1, 2, 6, 3], [256, 512, 1536, 1536], num_classes, final_width=3072, dropout=dropout,
                 drop_path=drop_path, skip_init=skip_init)


@register("nfnet_f0_cifar", paper="brock2021high", family="nfnet", tags=("chapter16",))
def nfnet_f0_cifar(num_classes: int = 10, *, group_size: int = 16, dropout: float = 0.2, drop_path: float = 0.0,
                   skip_init: bool = True) -> NFNet:
    """NFNet-F0's design, narrowed for CIFAR (see module docstring)."""
    return NFNet([1, 2, 6, 3], [64, 128, 256, 256], num_classes, stem_widths=(16, 32, 32, 64),
                 stem_strides=(1, 1, 1, 1), final_width=512, min_input_size=8, group_size=group_size, dropout=dropout,
                 drop_path=drop_path, skip_init=skip_init)


def _nf_resnet(depth: int, num_classes: int, **options) -> NFNet:
    n = (depth - 2) // 6
    return NFNet([n] * 3, [16, 32, 64], num_classes, block="basic", stem_widths=(16,), stem_strides=(1,),
                 min_input_size=8, **options)


@register("nf_resnet20", paper="brock2021characterizing", family="nfnet", tags=("chapter16",))
def nf_resnet20(num_classes: int = 10, *, act: str = "relu", alpha: float = 0.2, dropout: float = 0.0,
                drop_path: float = 0.0, skip_init: bool = True) -> NFNet:
    """NF-ResNet-20 on CIFAR [brock2021characterizing]: ResNet-20 without batch norm."""
    return _nf_resnet(20, num_classes, act=act, alpha=alpha, dropout=dropout, drop_path=drop_path, skip_init=skip_init)


@register("nf_resnet56", paper="brock2021characterizing", family="nfnet", tags=("chapter16",))
def nf_resnet56(num_classes: int = 10, *, act: str = "relu", alpha: float = 0.2, dropout: float = 0.0,
                drop_path: float = 0.0, skip_init: bool = True) -> NFNet:
    """NF-ResNet-56 on CIFAR [brock2021characterizing]: ResNet-56 without batch norm."""
    return _nf_resnet(56, num_classes, act=act, alpha=alpha, dropout=dropout, drop_path=drop_path, skip_init=skip_init)
