"""The data of the course: CIFAR-10/100, or the offline stand-in when CIFAR cannot be had.

::

    data = cnnlab.data.load("cifar10")       # sizes follow the profile (cnnlab.train_size())
    data.source                              # where the images came from: every result records it
    train_loader, test_loader = cnnlab.data.loaders(data, batch_size=128)

``source="auto"`` (the default) uses CIFAR from the cache, downloads it when it is missing, and when it
cannot (no network), falls back to the procedural stand-in (:mod:`cnnlab.data.standin`) with a banner
that says so: the numbers are then *not* CIFAR numbers, never silently. ``source="cifar"`` insists on
CIFAR; ``source="standin"`` asks for the stand-in.
"""
from __future__ import annotations

import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from .cifar import CIFAR_CLASSES, CifarUnavailable, CorruptCacheError, load_cifar
from .loader import DeviceLoader, loaders, normalize
from .mix import mix_batch
from .standin import make_standin, standin_classes
from .transforms import transform_loader

__all__ = ["Split", "Data", "SOURCES", "load", "DeviceLoader", "loaders", "normalize", "transform_loader",
           "mix_batch", "CifarUnavailable", "CorruptCacheError"]

SOURCES = ("auto", "cifar", "standin")
STANDIN_TRAIN, STANDIN_TEST = 50_000, 10_000  # the stand-in's "full" split sizes, CIFAR's


@dataclass
class Split:
    """Images (uint8, N x 3 x 32 x 32, on the CPU) and their labels (int64)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Data:
    """A dataset ready for the course: two splits, class names, per-channel statistics, provenance."""

    name: str
    source: str
    is_standin: bool
    classes: list[str]
    train: Split
    test: Split
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        return (f"Data({self.name}: {len(self.train)} train / {len(self.test)} test images, "
                f"{self.num_classes} classes, source: {self.source})")


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images, in [0, 1] units."""
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for chunk in images.split(8192):  # keeps memory small on the full 50,000 images
        x = chunk.to(torch.float64).div_(255).transpose(0, 1).flatten(1)
        total += x.sum(1)
        squares += x.square().sum(1)
    count = images.numel() / images.shape[1]
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(0).sqrt()
    return tuple(round(v, 4) for v in mean.tolist()), tuple(round(v, 4) for v in std.tolist())


def balanced_subset(split: Split, n: int | None, num_classes: int, seed: int) -> Split:
    """``n`` images with the classes as even as the split allows, chosen by ``seed`` (None = all)."""
    if n is None or n >= len(split):
        return split
    if n < 1:
        raise ValueError(f"a subset needs at least one image, got {n}")
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(split), generator=g)
    labels = split.labels[order]
    rank = torch.zeros_like(labels)  # the k-th image of its class in the shuffled order has rank k
    for c in range(num_classes):
        members = labels == c
        rank[members] = torch.arange(int(members.sum()))
    keep = order[torch.argsort(rank * len(split) + torch.arange(len(split)))[:n]]
    keep = keep.sort().values
    return Split(split.images[keep], split.labels[keep])


def standin_banner(reason: str) -> str:
    lines = ["CIFAR is not available here, so this run uses the OFFLINE STAND-IN:",
             "procedural CIFAR-shaped images (cnnlab.data.standin), not CIFAR.",
             "Accuracies below are NOT CIFAR numbers; every result records the data source.",
             *textwrap.wrap(f"Reason: {reason}", 76)]
    width = max(map(len, lines))
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])


def _standin(name: str, train_size, test_size, seed: int) -> tuple[Split, Split, list[str], str]:
    num_classes = 10 if name == "cifar10" else 100
    train = Split(*make_standin(train_size or STANDIN_TRAIN, num_classes, seed=2 * seed))
    test = Split(*make_standin(test_size or STANDIN_TEST, num_classes, seed=2 * seed + 1))
    source = f"stand-in: procedural CIFAR-shaped shapes ({num_classes} classes, seed {seed}) -- NOT CIFAR"
    return train, test, standin_classes(num_classes), source


def load(name: str = "cifar10", *, source: str = "auto", train_size: int | None = None,
         test_size: int | None = None, root=None, download: bool = True, seed: int = 0) -> Data:
    """Load ``cifar10`` or ``cifar100`` (see the module docstring for ``source``).

    ``train_size``/``test_size`` default to the profile's (:func:`cnnlab.train_size`); subsets are
    class-balanced and chosen by ``seed``. ``root`` defaults to :func:`cnnlab.data_dir`.
    """
    from .. import data_dir, profiles

    name = str(name).lower().replace("-", "")
    if name not in CIFAR_CLASSES:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(CIFAR_CLASSES)}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: expected one of {SOURCES}")
    train_size = profiles.train_size(train_size)
    test_size = profiles.test_size(test_size)
    root = Path(root).expanduser() if root is not None else data_dir()

    if source == "standin":
        train, test, classes, description = _standin(name, train_size, test_size, seed)
    else:
        try:
            *arrays, classes = load_cifar(name, root, download=download)
        except (CifarUnavailable, PermissionError) as error:
            if source == "cifar":
                raise
            banner = standin_banner(str(error))
            print(banner)
            # Attributed to "cnnlab.data" rather than a file, so notebooks show no path of this machine.
            warnings.warn_explicit(f"{name}: using the offline stand-in, not CIFAR ({error})", UserWarning,
                                   filename="cnnlab.data.load", lineno=0)
            train, test, classes, description = _standin(name, train_size, test_size, seed)
        else:
            num_classes = len(classes)
            train = balanced_subset(Split(arrays[0], arrays[1]), train_size, num_classes, seed)
            test = balanced_subset(Split(arrays[2], arrays[3]), test_size, num_classes, seed + 1)
            title = "CIFAR-10" if name == "cifar10" else "CIFAR-100"
            description = f"{title} (torchvision, {root})"
    mean, std = channel_stats(train.images)
    return Data(name, description, description.startswith("stand-in"), classes, train, test, mean, std)
