"""ResNet [he2016deep] and the families that reshape its block: pre-activation [he2016identity],
wide [zagoruyko2016wide], ResNeXt [xie2017aggregated] and ResNet-D [he2019bag].

One class, :class:`ResNet`, builds them all from a stem, stages of residual blocks
(:mod:`cnnlab.layers.residual`) and a head (global average pooling, linear). The ImageNet forms
match torchvision's parameter counts exactly; CIFAR forms follow the papers' CIFAR tables.

CIFAR forms of the ImageNet ResNets (``resnet18`` ... ``resnet152``) depart from [he2016deep]: the
stem is one 3x3 conv with stride 1 and there is no max-pool, because a 32x32 image would be 8x8
after the 7x7/2 conv and the pool; this is the common CIFAR adaptation.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from torchvision.ops import DropBlock2d

from ..layers.antialias import MaxBlurPool
from ..layers.residual import BasicBlock, Bottleneck
from .base import Network
from .registry import register

__all__ = ["ResNet"]

STEMS = ("imagenet", "cifar", "deep")


def _stem(kind: str, channels: int, antialias: bool) -> nn.Sequential:
    pool = MaxBlurPool(channels) if antialias else nn.MaxPool2d(3, 2, 1)
    if kind == "imagenet":  # 7x7/2 conv, 3x3/2 max-pool [he2016deep]
        return nn.Sequential(nn.Conv2d(3, channels, 7, 2, 3, bias=False), nn.BatchNorm2d(channels), nn.ReLU(), pool)
    if kind == "deep":  # ResNet-C/D stem [he2019bag]: three 3x3 convs instead of the 7x7
        half = channels // 2
        return nn.Sequential(nn.Conv2d(3, half, 3, 2, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                             nn.Conv2d(half, half, 3, 1, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                             nn.Conv2d(half, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
                             pool)
    if kind == "cifar":  # one 3x3 conv, stride 1, no pooling [he2016deep] §4.2
        return nn.Sequential(nn.Conv2d(3, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())
    raise ValueError(f"unknown stem {kind!r}; expected one of {STEMS}")


class ResNet(Network):
    """Stem, ``len(depths)`` stages of residual blocks, global average pooling, linear classifier.

    ``widths`` are the output channels of each stage; the first stage keeps the resolution and
    every later one halves it in its first block. For bottleneck blocks ``inner_widths`` are the
    3x3 conv widths (default ``width // 4``) and ``groups`` its groups (ResNeXt). ``variant``,
    ``shortcut``, ``residual`` and ``dropout`` go to every block (see :mod:`cnnlab.layers.residual`);
    ``drop_prob`` is the stochastic-depth drop probability of the LAST block, growing linearly from
    0 over the blocks as in [huang2016deep]. ``antialias=True`` [zhang2019making] blurs before every
    subsampling (max-pool -> MaxBlurPool, strided conv -> conv + BlurPool). Pre-activation variants
    end with batch norm and ReLU before pooling, as their papers do.

    ``dropblock`` [ghiasi2018dropblock] is the drop probability of a ``torchvision.ops.DropBlock2d``
    placed after every block of the last two stages (the paper's groups 3 and 4 of ResNet-50), with
    square blocks of side ``dropblock_size`` (default 7 as the paper's ImageNet setting, 3 with the
    CIFAR stem, whose last maps are 8x8 or 4x4). Departures: the paper drops after every conv and
    on the shortcut too, and ramps the probability up during training; here it drops the block
    output only, at a fixed probability (a training loop may change ``module.p``).

    ``swapout=(p_identity, p_residual)`` makes every block combine its shortcut and branch by
    Swapout [singh2016swapout] (see :mod:`cnnlab.layers.residual`), the same pair in every block.
    """

    def __init__(self, block: str, depths: list[int], widths: list[int], num_classes: int = 10,
                 stem: str = "cifar", stem_channels: int = 64, variant: str = "original", shortcut: str = "b",
                 residual: bool = True, dropout: float = 0.0, drop_prob: float = 0.0,
                 inner_widths: list[int] | None = None, groups: int = 1, antialias: bool = False,
                 dropblock: float = 0.0, dropblock_size: int | None = None,
                 swapout: tuple[float, float] | None = None, input_size: int = 32):
        super().__init__(in_channels=3, min_input_size=input_size // 8 if stem == "cifar" else 32)
        if block not in ("basic", "bottleneck"):
            raise ValueError(f"unknown block {block!r}; expected 'basic' or 'bottleneck'")
        if len(depths) != len(widths) or not depths or any(d < 1 for d in depths):
            raise ValueError(f"depths {depths} and widths {widths} must be non-empty lists of the same "
                             f"length with at least one block per stage")
        if inner_widths is not None and (block != "bottleneck" or len(inner_widths) != len(widths)):
            raise ValueError("inner_widths needs bottleneck blocks and one width per stage")
        if not 0.0 <= dropblock < 1.0:
            raise ValueError(f"dropblock is a drop probability in [0, 1), got {dropblock!r}")
        if dropblock_size is None:
            dropblock_size = 3 if stem == "cifar" else 7
        if not isinstance(dropblock_size, int) or dropblock_size < 1:
            raise ValueError(f"dropblock_size must be a positive integer, got {dropblock_size!r}")
        self.stem = _stem(stem, stem_channels, antialias)
        total = sum(depths)
        stages = OrderedDict()
        channels, index = stem_channels, 0
        for s, (depth, width) in enumerate(zip(depths, widths)):
            blocks = []
            for b in range(depth):
                options = dict(stride=2 if (s > 0 and b == 0) else 1, variant=variant, shortcut=shortcut,
                               residual=residual, dropout=dropout, drop_prob=drop_prob * index / max(total - 1, 1),
                               antialias=antialias, swapout=swapout)
                if block == "basic":
                    blocks.append(BasicBlock(channels, width, **options))
                else:
                    inner = inner_widths[s] if inner_widths is not None else None
                    blocks.append(Bottleneck(channels, width, groups=groups, width=inner, **options))
                channels, index = width, index + 1
                if dropblock > 0 and s >= len(depths) - 2:
                    blocks.append(DropBlock2d(dropblock, dropblock_size))
            stages[f"stage{s + 1}"] = nn.Sequential(*blocks)
        self.stages = nn.Sequential(stages)
        final = [nn.BatchNorm2d(channels), nn.ReLU()] if variant != "original" else []
        self.head = nn.Sequential(*final, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


# --- ImageNet forms (torchvision parity) and their CIFAR adaptations ------------------------------

_IMAGENET = {  # name: (block, depths)
    "resnet18": ("basic", [2, 2, 2, 2]), "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]), "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}


def _imagenet_widths(block: str) -> list[int]:
    return [64, 128, 256, 512] if block == "basic" else [256, 512, 1024, 2048]


def _add_imagenet_resnet(name: str, block: str, depths: list[int]) -> None:
    def build(num_classes: int = 1000, stem: str = "imagenet", shortcut: str = "b", **options) -> ResNet:
        return ResNet(block, depths, _imagenet_widths(block), num_classes, stem=stem, shortcut=shortcut,
                      input_size=224, **options)

    def build_cifar(num_classes: int = 10, **options) -> ResNet:
        return ResNet(block, depths, _imagenet_widths(block), num_classes, stem="cifar", **options)

    build.__doc__ = (f"{name.upper()} of [he2016deep] at 224x224, torchvision's layout (stride on the 3x3). "
                     f"``stem='deep', shortcut='d'`` gives ResNet-D [he2019bag].")
    build_cifar.__doc__ = f"{name.upper()} on CIFAR: 3x3 stride-1 stem, no max-pool (see module docstring)."
    register(f"{name}_imagenet", paper="he2016deep", family="resnet", input_size=224,
             reference=f"torchvision.models.{name}", torchvision_builder=name, tags=("chapter05",))(build)
    large = ("large",) if depths[2] > 6 else ()
    register(name, paper="he2016deep", family="resnet", tags=("chapter05",) + large)(build_cifar)


for _name, (_block, _depths) in _IMAGENET.items():
    _add_imagenet_resnet(_name, _block, _depths)


def _add_grouped_imagenet(name: str, depths: list[int], groups: int, base_width: int, paper: str,
                          family: str) -> None:
    inner = [int(planes * base_width / 64) * groups for planes in (64, 128, 256, 512)]

    def build(num_classes: int = 1000, **options) -> ResNet:
        return ResNet("bottleneck", depths, _imagenet_widths("bottleneck"), num_classes, stem="imagenet",
                      inner_widths=inner, groups=groups, input_size=224, **options)

    build.__doc__ = f"{name} [{paper}] at 224x224: bottleneck 3x3 widths {inner}, {groups} group(s)."
    register(f"{name}_imagenet", paper=paper, family=family, input_size=224,
             reference=f"torchvision.models.{name}", torchvision_builder=name, tags=("chapter06",))(build)


_add_grouped_imagenet("wide_resnet50_2", [3, 4, 6, 3], 1, 128, "zagoruyko2016wide", "wide_resnet")
_add_grouped_imagenet("resnext50_32x4d", [3, 4, 6, 3], 32, 4, "xie2017aggregated", "resnext")
_add_grouped_imagenet("resnext101_32x8d", [3, 4, 23, 3], 32, 8, "xie2017aggregated", "resnext")


# --- CIFAR ResNets of [he2016deep] §4.2 and their plain twins ------------------------------------

def cifar_resnet(depth: int, num_classes: int = 10, residual: bool = True, block_variant: str = "original",
                 shortcut: str = "a", **options) -> ResNet:
    """The 6n+2-layer CIFAR ResNet of [he2016deep] §4.2: 16/32/64 channels, 3 stages of n basic blocks.

    ``residual=False`` is the plain network; ``block_variant`` swaps the block order (chapter 05).
    Other options go to :class:`ResNet`, e.g. ``drop_prob`` (stochastic depth), ``dropblock``,
    ``antialias``.
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has depth 6n+2 (20, 32, 44, 56, 110...), got {depth!r}")
    n = (depth - 2) // 6
    return ResNet("basic", [n] * 3, [16, 32, 64], num_classes, stem="cifar", stem_channels=16,
                  variant=block_variant, shortcut=shortcut, residual=residual, **options)


_CIFAR_PAPER = {20: "0.27", 32: "0.46", 44: "0.66", 56: "0.85", 110: "1.7"}  # [he2016deep] Table 6


def _figure_to_params(figure: str) -> int:
    return round(float(figure) * 1_000_000)


def _add_cifar(depth: int, figure: str) -> None:
    def build(num_classes: int = 10, **options) -> ResNet:
        return cifar_resnet(depth, num_classes, **options)

    def build_plain(num_classes: int = 10, **options) -> ResNet:
        return cifar_resnet(depth, num_classes, residual=False, **options)

    build.__doc__ = f"ResNet-{depth} on CIFAR [he2016deep] §4.2 (option A shortcuts, {figure}M)."
    build_plain.__doc__ = f"Plain-{depth}: ResNet-{depth} without shortcuts (degradation experiment, [he2016deep])."
    register(f"resnet{depth}", paper="he2016deep", family="resnet_cifar",
             reference=f"paper: he2016deep, Table 6 ({figure}M)", reference_params=_figure_to_params(figure),
             reference_classes=10, tags=("chapter05",))(build)
    register(f"plain{depth}", paper="he2016deep", family="resnet_cifar", tags=("chapter05",))(build_plain)


for _depth, _figure in _CIFAR_PAPER.items():
    _add_cifar(_depth, _figure)


@register("preact_resnet18", paper="he2016identity", family="preact_resnet", tags=("chapter05",))
def preact_resnet18(num_classes: int = 10, **options) -> ResNet:
    """ResNet-18 with pre-activation blocks [he2016identity], CIFAR stem (as ``resnet18``)."""
    return ResNet("basic", [2, 2, 2, 2], [64, 128, 256, 512], num_classes, stem="cifar", variant="preact", **options)


@register("preact_resnet110", paper="he2016identity", family="preact_resnet",
          reference="paper: he2016identity, Table 2 (1.7M)", reference_params=1_700_000, reference_classes=10,
          tags=("chapter05",))
def preact_resnet110(num_classes: int = 10, **options) -> ResNet:
    """Pre-activation ResNet-110 on CIFAR [he2016identity]; 1x1 projection shortcuts as in that paper."""
    return cifar_resnet(110, num_classes, block_variant="preact", shortcut="b", **options)


@register("preact_resnet164", paper="he2016identity", family="preact_resnet",
          reference="paper: he2016identity, Table 2 (1.7M)", reference_params=1_700_000, reference_classes=10,
          tags=("chapter05",))
def preact_resnet164(num_classes: int = 10, **options) -> ResNet:
    """Pre-activation ResNet-164 [he2016identity]: 3 stages of 18 bottlenecks, outputs 64/128/256."""
    return ResNet("bottleneck", [18] * 3, [64, 128, 256], num_classes, stem="cifar", stem_channels=16,
                  variant="preact", **options)


# --- Wide ResNets [zagoruyko2016wide] and CIFAR ResNeXt [xie2017aggregated] ----------------------

def wide_resnet(depth: int, k: int, num_classes: int = 10, dropout: float = 0.0, **options) -> ResNet:
    """WRN-depth-k [zagoruyko2016wide]: 3 stages of (depth-4)/6 "wrn" blocks, 16k/32k/64k channels."""
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"a Wide ResNet has depth 6n+4 (16, 28, 40...), got {depth!r}")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"the widening factor k must be a positive integer, got {k!r}")
    n = (depth - 4) // 6
    return ResNet("basic", [n] * 3, [16 * k, 32 * k, 64 * k], num_classes, stem="cifar", stem_channels=16,
                  variant="wrn", dropout=dropout, **options)


def _add_wrn(depth: int, k: int, figure: str, table: str, tags: tuple[str, ...]) -> None:
    def build(num_classes: int = 10, **options) -> ResNet:
        return wide_resnet(depth, k, num_classes, **options)

    build.__doc__ = f"WRN-{depth}-{k} on CIFAR [zagoruyko2016wide] ({figure}M); ``dropout=0.3`` as the paper's best."
    register(f"wrn{depth}_{k}", paper="zagoruyko2016wide", family="wide_resnet",
             reference=f"paper: zagoruyko2016wide, {table} ({figure}M)", reference_params=_figure_to_params(figure),
             reference_classes=10, tags=("chapter06",) + tags)(build)


_add_wrn(28, 10, "36.5", "Table 5", ("large",))
_add_wrn(16, 8, "11.0", "Table 5", ("large",))
_add_wrn(40, 4, "8.9", "Table 5", ("large",))
_add_wrn(16, 4, "2.7", "Table 4", ())


def cifar_resnext(cardinality: int, bottleneck_width: int, num_classes: int = 10, **options) -> ResNet:
    """ResNeXt-29 (Cxd) on CIFAR [xie2017aggregated] §5.3: 3x3 stem with 64 channels, 3 stages of 3
    bottlenecks with outputs 256/512/1024 and grouped 3x3 convs of C*d, 2C*d, 4C*d channels."""
    inner = [cardinality * bottleneck_width * 2 ** s for s in range(3)]
    return ResNet("bottleneck", [3, 3, 3], [256, 512, 1024], num_classes, stem="cifar", stem_channels=64,
                  inner_widths=inner, groups=cardinality, **options)


@register("resnext29_8x64d", paper="xie2017aggregated", family="resnext",
          reference="paper: xie2017aggregated, Table 7 (34.4M)", reference_params=34_400_000,
          reference_classes=10, tags=("chapter06", "large"))
def resnext29_8x64d(num_classes: int = 10, **options) -> ResNet:
    """ResNeXt-29, 8x64d on CIFAR [xie2017aggregated]."""
    return cifar_resnext(8, 64, num_classes, **options)


@register("resnext29_16x64d", paper="xie2017aggregated", family="resnext", tags=("chapter06", "large"))
def resnext29_16x64d(num_classes: int = 10, **options) -> ResNet:
    """ResNeXt-29, 16x64d on CIFAR [xie2017aggregated].

    Ours has 68.155M parameters at 10 classes; Table 7 prints 68.1M, so the figure seems truncated,
    not rounded (the 8x64d form matches its 34.4M either way). It carries no reference figure.
    """
    return cifar_resnext(16, 64, num_classes, **options)
