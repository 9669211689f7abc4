"""The data of the course: CIFAR-10/100, or the offline stand-in when CIFAR cannot be had.

::

    data = cnnlab.data.load("cifar10")       # sizes follow the profile (cnnlab.train_size(), ...)
    data.source                              # where the images came from: every result records it
    data.train, data.val, data.test          # val: held out of the training images, for choosing
    train_loader, test_loader = cnnlab.data.loaders(data, batch_size=128)

Where the images come from (``source=``; ``book/running.md`` is the user's guide):

* ``"auto"`` (the default) tries, in order: CIFAR in torchvision's cache in the data directory; an
  image-folder copy (:mod:`cnnlab.data.imagefolder`) named by ``$CNNLAB_CIFAR10_DIR``
  (``$CNNLAB_CIFAR100_DIR``) or found in the data directory as ``cifar10-*/``; torchvision's download;
  and only then the procedural stand-in (:mod:`cnnlab.data.standin`), with a banner that says so: its
  numbers are *not* CIFAR numbers, never silently. A folder that is configured or found but is not a
  sound CIFAR copy is an error, never a silent fallback.
* ``"cifar"``: torchvision's files only (cache or download). ``"folder"``: the image-folder copy only.
  ``"standin"``: the stand-in. A path (``str`` or ``Path``): that image folder.
"""
from __future__ import annotations

import os
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import profiles
from ..session import data_dir
from . import cifar, imagefolder
from .cifar import CIFAR_CLASSES, CifarUnavailable, CorruptCacheError
from .imagefolder import BadImageFolder
from .loader import DeviceLoader, loaders, normalize
from .mix import mix_batch
from .standin import make_standin, standin_classes
from .transforms import transform_loader

__all__ = ["Split", "Data", "SOURCES", "LOADED_SOURCES", "load", "DeviceLoader", "loaders", "normalize",
           "transform_loader", "mix_batch", "CifarUnavailable", "CorruptCacheError", "BadImageFolder"]

SOURCES = ("auto", "cifar", "folder", "standin")
STANDIN_TRAIN, STANDIN_TEST = 50_000, 10_000  # the stand-in's "full" split sizes, CIFAR's
LOADED_SOURCES: list[str] = []  # every data source loaded in this process, in order (tools/notebooks.py reads it)


@dataclass
class Split:
    """Images (uint8, N x 3 x 32 x 32, on the CPU) and their labels (int64)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Data:
    """A dataset ready for the course: its splits, class names, per-channel statistics, provenance.

    ``val`` is held out of the training images (disjoint from ``train``), for choosing epochs and
    settings; ``test`` is for the final number only. ``val`` is None when ``val_size=0``.
    """

    name: str
    source: str
    is_standin: bool
    classes: list[str]
    train: Split
    test: Split
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    val: Split | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        val = len(self.val) if self.val is not None else 0
        return (f"Data({self.name}: {len(self.train)} train / {val} val / {len(self.test)} test images, "
                f"{self.num_classes} classes, source: {self.source})")


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images, in [0, 1] units.

    Computed exactly from each channel's histogram of the 256 pixel values: one pass, no float copy.
    """
    values = torch.arange(256, dtype=torch.float64) / 255
    mean, std = [], []
    for channel in range(images.shape[1]):
        counts = torch.bincount(images[:, channel].reshape(-1), minlength=256).to(torch.float64)
        m = (counts * values).sum() / counts.sum()
        mean.append(round(m.item(), 4))
        std.append(round(((counts * (values - m).square()).sum() / counts.sum()).sqrt().item(), 4))
    return tuple(mean), tuple(std)


def balanced_indices(labels: torch.Tensor, n: int, num_classes: int, seed: int) -> torch.Tensor:
    """Sorted indices of ``n`` of ``labels``, the classes as even as they allow, chosen by ``seed``.

    Shuffle, then take the first image of every class, then the second, ... The bookkeeping runs in
    NumPy: on 50,000 labels torch's thread pool costs seconds on a busy 2-core machine, NumPy milliseconds.
    """
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).numpy()
    shuffled = labels.numpy()[order]
    rank = np.zeros(len(labels), dtype=np.int64)  # the k-th image of its class in the shuffled order has rank k
    for c in range(num_classes):
        members = shuffled == c
        rank[members] = np.arange(members.sum())
    return torch.from_numpy(np.sort(order[np.argsort(rank, kind="stable")[:n]]))


def balanced_subset(split: Split, n: int | None, num_classes: int, seed: int) -> Split:
    """``n`` images with the classes as even as the split allows, chosen by ``seed`` (None = all)."""
    if n is None or n >= len(split):
        return split
    return _take(split, balanced_indices(split.labels, n, num_classes, seed))


def hold_out(split: Split, n: int, num_classes: int, seed: int) -> tuple[Split, Split | None]:
    """``(rest, held_out)``: ``n`` class-balanced images taken out of ``split`` (None when ``n`` is 0)."""
    if n == 0:
        return split, None
    held = balanced_indices(split.labels, n, num_classes, seed)
    rest = torch.from_numpy(np.setdiff1d(np.arange(len(split)), held.numpy(), assume_unique=True))
    return _take(split, rest), _take(split, held)


def _take(split: Split, index: torch.Tensor) -> Split:
    return Split(split.images.index_select(0, index), split.labels.index_select(0, index))


def standin_banner(reason: str) -> str:
    lines = ["CIFAR is not available here, so this run uses the OFFLINE STAND-IN:",
             "procedural CIFAR-shaped images (cnnlab.data.standin), not CIFAR.",
             "Accuracies below are NOT CIFAR numbers; every result records the data source.",
             *textwrap.wrap(f"Reason: {reason}", 76)]
    width = max(map(len, lines))
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line.ljust(width)} |" for line in lines), rule])


STANDIN_VAL_SEED = 1_000_003  # far from the train (2 * seed) and test (2 * seed + 1) seeds of any run


def _standin(name: str, train_size, val_size: int, test_size, seed: int):
    """The stand-in's splits; ``val`` comes from its own seed, so it shares no image with ``train``."""
    num_classes = 10 if name == "cifar10" else 100
    if train_size is None:
        _check_pool(STANDIN_TRAIN, None, val_size, "the stand-in")
    train = Split(*make_standin(train_size or STANDIN_TRAIN - val_size, num_classes, seed=2 * seed))
    test = Split(*make_standin(test_size or STANDIN_TEST, num_classes, seed=2 * seed + 1))
    val = Split(*make_standin(val_size, num_classes, seed=STANDIN_VAL_SEED + seed)) if val_size else None
    source = f"stand-in: procedural CIFAR-shaped shapes ({num_classes} classes, seed {seed}) -- NOT CIFAR"
    return train, val, test, standin_classes(num_classes), source


def _fall_back_to_standin(name: str, reason: str) -> None:
    print(standin_banner(reason))
    # Attributed to "cnnlab.data" rather than a file, so notebooks show no path of this machine.
    warnings.warn_explicit(f"{name}: using the offline stand-in, not CIFAR ({reason})", UserWarning,
                           filename="cnnlab.data.load", lineno=0)


def _torchvision(name: str, root: Path, download: bool):
    *arrays, classes = cifar.load_cifar(name, root, download=download)
    return (*arrays, classes, f"{imagefolder.TITLES[name]} (torchvision, {root})")


def _folder_for(name: str, root: Path) -> Path | None:
    """The image folder configured by ``$CNNLAB_CIFAR10_DIR`` (checked to exist), else one found in ``root``."""
    configured = imagefolder.configured_folder(name)
    if configured is not None and not configured.is_dir():
        raise BadImageFolder(f"{imagefolder.FOLDER_VARIABLES[name]}={configured} is not a folder: point it at a "
                             f"CIFAR copy laid out as train/<class>/* and test/<class>/*, or unset it")
    return configured or imagefolder.find_folder(name, root)


def _source_path(source) -> Path | None:
    """``source`` as a folder path, None when it names a source; raises when it is neither."""
    if isinstance(source, os.PathLike):
        return Path(source)
    if not isinstance(source, str):
        raise TypeError(f"source must be one of {SOURCES} or a folder path, got {type(source).__name__}")
    if source in SOURCES:
        return None
    if not Path(source).expanduser().is_dir():
        raise ValueError(f"unknown source {source!r}: expected one of {SOURCES}, or the path of an image folder "
                         f"(no folder {source!r} exists)")
    return Path(source)


def _check_pool(pool: int, train_size, val_size: int, where: str) -> None:
    """The training images must hold the ``val_size`` validation images and the ``train_size`` others."""
    if val_size >= pool:
        raise ValueError(f"val_size={val_size} would leave no training images: {where} has {pool}; "
                         f"pass a smaller val_size (0 for no validation split)")
    if train_size is not None and train_size + val_size > pool:
        raise ValueError(f"{where} has {pool} training images, fewer than the {train_size} train + {val_size} "
                         f"validation images asked for (profile {profiles.get_profile().name}): add images, or pass "
                         f"smaller train_size/val_size")


def _auto(name: str, root: Path, download: bool):
    """torchvision's cache, then an image folder, then torchvision's download; None means the stand-in."""
    try:
        return _torchvision(name, root, download=False)
    except CifarUnavailable:
        pass
    folder = _folder_for(name, root)
    if folder is not None:
        return imagefolder.load_folder(name, folder, root)
    try:
        return _torchvision(name, root, download)
    except (CifarUnavailable, PermissionError) as error:
        _fall_back_to_standin(name, str(error))
        return None


def load(name: str = "cifar10", *, source="auto", train_size: int | None = None, val_size: int | None = None,
         test_size: int | None = None, root=None, download: bool = True, seed: int = 0) -> Data:
    """Load ``cifar10`` or ``cifar100`` (see the module docstring for ``source``).

    ``train_size``/``val_size``/``test_size`` default to the profile's (:func:`cnnlab.train_size`,
    :func:`cnnlab.val_size`, :func:`cnnlab.test_size`). The validation images are held out of the
    training images first, then the training subset is drawn from the rest; every subset is
    class-balanced and chosen by ``seed``. ``val_size=0`` gives ``data.val = None``. ``root`` (the data
    directory) defaults to :func:`cnnlab.data_dir`; ``download=False`` never downloads.
    """
    name = str(name).lower().replace("-", "")
    if name not in CIFAR_CLASSES:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(CIFAR_CLASSES)}")
    folder = _source_path(source)
    train_size = profiles.train_size(train_size)
    val_size = profiles.val_size(val_size)
    test_size = profiles.test_size(test_size)
    root = Path(root).expanduser() if root is not None else data_dir()

    if source == "standin":
        train, val, test, classes, description = _standin(name, train_size, val_size, test_size, seed)
    else:
        if folder is None and source == "folder":
            folder = _folder_for(name, root)
            if folder is None:
                raise BadImageFolder(
                    f"source='folder' but no image folder of {name} is configured or found: set "
                    f"{imagefolder.FOLDER_VARIABLES[name]}=<folder>, or put it in the data directory {root} "
                    f"as {name}-<anything>/ (train/<class>/*, test/<class>/*)")
        if folder is not None:
            arrays = imagefolder.load_folder(name, folder, root)
        elif source == "cifar":
            arrays = _torchvision(name, root, download)
        else:
            arrays = _auto(name, root, download)
        if arrays is None:
            train, val, test, classes, description = _standin(name, train_size, val_size, test_size, seed)
        else:
            train_images, train_labels, test_images, test_labels, classes, description = arrays
            pool = Split(train_images, train_labels)
            _check_pool(len(pool), train_size, val_size, description)
            pool, val = hold_out(pool, val_size, len(classes), seed + 2)
            train = balanced_subset(pool, train_size, len(classes), seed)
            test = balanced_subset(Split(test_images, test_labels), test_size, len(classes), seed + 1)
    mean, std = channel_stats(train.images)
    if description not in LOADED_SOURCES:
        LOADED_SOURCES.append(description)
    return Data(name, description, description.startswith("stand-in"), classes, train, test, mean, std, val)

