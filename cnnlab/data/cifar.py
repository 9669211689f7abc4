"""CIFAR-10 and CIFAR-100 [krizhevsky2009learning] through torchvision's own download and parsing code.

The files land in :func:`cnnlab.data_dir` (``$CNNLAB_DATA``). Before any file is used, each pickled batch
is checked against the MD5 sum torchvision's dataset class carries for it; a file that fails is never
read: the error names it and says to delete it. Images come back as uint8 tensors (N x 3 x 32 x 32),
labels as int64.
"""
from __future__ import annotations

import os
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from torchvision import datasets
from torchvision.datasets.utils import check_integrity

__all__ = ["CIFAR_CLASSES", "CifarUnavailable", "CorruptCacheError", "load_cifar", "cifar_files"]

CIFAR_CLASSES = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100}
DOWNLOAD_TIMEOUT_S = 10


class CifarUnavailable(RuntimeError):
    """CIFAR is not in the cache and cannot be downloaded (offline, or not allowed)."""


class CorruptCacheError(RuntimeError):
    """A cached CIFAR file does not match its published checksum."""


def dataset_class(name: str):
    try:
        return CIFAR_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(CIFAR_CLASSES)}") from None


def cifar_files(name: str) -> list[tuple[str, str]]:
    """``(file name, md5)`` of every file of the dataset, as torchvision's class lists them."""
    cls = dataset_class(name)
    return [tuple(entry) for entry in cls.train_list + cls.test_list] + [(cls.meta["filename"], cls.meta["md5"])]


def _check_cache(name: str, root: Path) -> bool:
    """True when every file is there and sound; False when some are missing; raises on a corrupt one."""
    folder = root / dataset_class(name).base_folder
    complete = True
    for filename, md5 in cifar_files(name):
        path = folder / filename
        if not path.exists():
            complete = False
        elif not check_integrity(str(path), md5):
            raise CorruptCacheError(
                f"{path} is corrupt: its MD5 is not the published {md5}. It was not used. "
                f"Delete the folder {folder} and run again to download a fresh copy.")
    return complete


def _check_writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as error:
        raise PermissionError(
            f"cannot write to the data directory {root} ({error.strerror}): set CNNLAB_DATA to a folder "
            "you can write (or pass root=...)") from None


@contextmanager
def _socket_timeout(seconds: float):
    """Make an offline download attempt fail in seconds, not minutes."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _download(name: str, root: Path) -> None:
    _check_writable(root)
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            dataset_class(name)(str(root), train=True, download=True)
    except (OSError, RuntimeError) as error:  # URLError, timeouts, refused connections, bad archives
        raise CifarUnavailable(f"{name} could not be downloaded into {root}: {error}") from None


def load_cifar(name: str, root: str | os.PathLike, download: bool = True):
    """``(train_images, train_labels, test_images, test_labels, class_names)`` of CIFAR-10/100."""
    root = Path(root).expanduser()
    if not _check_cache(name, root):
        if not download:
            raise CifarUnavailable(f"{name} is not in {root} and download=False")
        _download(name, root)
        if not _check_cache(name, root):
            raise CifarUnavailable(f"{name}: the download into {root} is incomplete")
    splits = [dataset_class(name)(str(root), train=train, download=False) for train in (True, False)]
    tensors = []
    for split in splits:  # torchvision keeps HWC uint8 numpy arrays and a list of labels
        tensors += [torch.from_numpy(split.data).permute(0, 3, 1, 2).contiguous(),
                    torch.tensor(split.targets, dtype=torch.int64)]
    return (*tensors, list(splits[0].classes))
