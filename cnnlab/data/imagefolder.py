"""CIFAR-10/100 [krizhevsky2009learning] from an image folder: PNG or JPEG files, one folder per class.

The layout is the one ``torchvision.datasets.ImageFolder`` reads, with a ``train`` and a ``test`` split::

    <folder>/train/airplane/0000.jpg ...      <folder>/test/airplane/0000.jpg ...

This is how many users have CIFAR (the common Kaggle copies), and how an offline machine can have it.
Class folders must carry CIFAR's class names (any case); labels follow CIFAR's class order, which for
both datasets is the alphabetical order ImageFolder uses. Files are read in sorted order, decoded by
torchvision (``torchvision.io.decode_image``) and must be 32 x 32 RGB. (torchvision 0.29 marks its image
codecs deprecated in favour of TorchCodec, a dependency the course does not have; until it does, we use
them and silence that one notice.)

Decoding 60,000 small files takes a while, so the first load writes a compact cache: one file of uint8
tensors in the data directory, with a SHA-256 checksum of its contents and a fingerprint of the folder
(every file's path, size and modification time). Later loads read the cache when both still match; a
cache that fails its checksum or cannot be read is never used: it is rebuilt, and a warning says so.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import torch
from torchvision.io import decode_image

__all__ = ["CLASS_NAMES", "FOLDER_VARIABLES", "BadImageFolder", "configured_folder", "find_folder",
           "load_folder"]

CLASS_NAMES = {  # CIFAR's label order (batches.meta / meta), which is also alphabetical
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "cifar100": (
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
        "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
        "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon",
        "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
        "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
        "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
        "willow_tree", "wolf", "woman", "worm"),
}
TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}
FOLDER_VARIABLES = {"cifar10": "CNNLAB_CIFAR10_DIR", "cifar100": "CNNLAB_CIFAR100_DIR"}
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
IMAGE_SUFFIXES = tuple(IMAGE_FORMATS)
SPLITS = ("train", "test")
CACHE_FOLDER = "imagefolder-cache"
CACHE_FORMAT = 1


class BadImageFolder(ValueError):
    """An image folder that is not a CIFAR copy in the expected layout."""


def configured_folder(name: str) -> Path | None:
    """The folder named by ``$CNNLAB_CIFAR10_DIR`` (``$CNNLAB_CIFAR100_DIR``), if the variable is set."""
    value = os.environ.get(FOLDER_VARIABLES[name])
    return Path(value).expanduser() if value else None


def find_folder(name: str, root: Path) -> Path | None:
    """The one image-folder copy of ``name`` in the data directory: ``<root>/<name>`` or ``<root>/<name>-*``
    (e.g. ``cifar10-jpeg``) holding ``train/`` and ``test/``; None when there is none."""
    if not root.is_dir():
        return None
    found = sorted(p for p in root.iterdir()
                   if (p.name == name or p.name.startswith(f"{name}-")) and all((p / s).is_dir() for s in SPLITS))
    if len(found) > 1:
        raise BadImageFolder(
            f"the data directory {root} holds {len(found)} image-folder copies of {name} "
            f"({', '.join(p.name for p in found)}): choose one with {FOLDER_VARIABLES[name]}=<folder> "
            f"or load(..., source=<folder>)")
    return found[0] if found else None


def _class_folders(folder: Path, split: str, name: str) -> list[Path]:
    """The class folders of one split, in CIFAR's label order; raises unless they are CIFAR's classes."""
    expected = CLASS_NAMES[name]
    where = folder / split
    if not where.is_dir():
        raise BadImageFolder(f"{folder} has no '{split}' folder: expected {split}/<class>/<image> for every one of "
                             f"{name}'s {len(expected)} classes (the layout torchvision's ImageFolder reads)")
    found = {p.name.lower(): p for p in where.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if set(found) != set(expected):
        missing = sorted(set(expected) - set(found))
        unknown = sorted(set(found) - set(expected))
        raise BadImageFolder(
            f"{where} has {len(found)} class folders, expected {name}'s {len(expected)} "
            f"({', '.join(expected[:10])}{', ...' if len(expected) > 10 else ''}); "
            f"missing: {', '.join(missing[:10]) or 'none'}{' ...' if len(missing) > 10 else ''}; "
            f"not {name} classes: {', '.join(unknown[:10]) or 'none'}{' ...' if len(unknown) > 10 else ''}")
    return [found[c] for c in expected]


def _scan(folder: Path, name: str) -> tuple[dict[str, list[tuple[str, int]]], str, set[str]]:
    """Every image file by split as ``(path, label)``, the folder's fingerprint, and the formats found.

    Plain strings and ``os.scandir`` rather than ``pathlib``: 60,000 Path objects would cost seconds.
    """
    files, suffixes = {}, set()
    fingerprint = hashlib.sha256()
    for split in SPLITS:
        files[split] = []
        for label, class_folder in enumerate(_class_folders(folder, split, name)):
            with os.scandir(class_folder) as scan:
                entries = sorted((e for e in scan if e.name.lower().endswith(IMAGE_SUFFIXES) and e.is_file()),
                                 key=lambda e: e.name)
            lines = []
            for entry in entries:
                stat = entry.stat()
                lines.append(f"{split}/{label}/{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
                files[split].append((entry.path, label))
            fingerprint.update("\n".join(lines).encode())
            suffixes.update(e.name[e.name.rfind("."):].lower() for e in entries)
        if not files[split]:
            raise BadImageFolder(f"the '{split}' split of {folder} holds no images: expected "
                                 f"{split}/<class>/*.png or *.jpg files")
    return files, fingerprint.hexdigest(), {IMAGE_FORMATS[suffix] for suffix in suffixes}


def _decode(files: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8, N x 3 x 32 x 32) and labels of ``files``, decoded by torchvision."""
    images = torch.empty(len(files), 3, 32, 32, dtype=torch.uint8)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The image decoding and encoding capabilities", DeprecationWarning)
        for index, (path, _) in enumerate(files):
            try:
                image = decode_image(path)
            except RuntimeError as error:
                raise BadImageFolder(f"{path} cannot be decoded as an image: {error}") from None
            if image.shape != (3, 32, 32):
                raise BadImageFolder(f"{path} is {image.shape[2]}x{image.shape[1]} with {image.shape[0]} "
                                     f"channel(s): every CIFAR image must be 32x32 RGB (3 channels)")
            images[index] = image
    return images, torch.tensor([label for _, label in files], dtype=torch.int64)


def _checksum(fingerprint: str, tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256(fingerprint.encode())
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(memoryview(tensors[key].contiguous().numpy()).cast("B"))
    return digest.hexdigest()


def cache_path(folder: Path, root: Path) -> Path:
    """Where the cache of ``folder`` lives: in the data directory, named after the folder and its full path."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    return root / CACHE_FOLDER / f"{folder.name}-{key}.pt"


def _read_cache(path: Path, fingerprint: str, folder: Path) -> dict | None:
    """The cached tensors when the cache is sound and matches the folder; None (with a warning) otherwise."""
    if not path.exists():
        return None
    try:
        cache = torch.load(path, weights_only=True)
        tensors = cache["tensors"]
        sound = cache["format"] == CACHE_FORMAT and cache["checksum"] == _checksum(cache["fingerprint"], tensors)
    except Exception as error:  # a truncated or overwritten file fails in many ways inside torch.load
        sound, tensors = False, None
        reason = f"it cannot be read ({type(error).__name__})"
    else:
        reason = "its checksum does not match its contents"
    if not sound:
        warnings.warn(f"the image cache {path} is corrupt ({reason}): not used; rebuilding it from {folder}",
                      UserWarning, stacklevel=3)
        return None
    if cache["fingerprint"] != fingerprint:
        return None  # the folder changed since the cache was written: rebuild quietly
    return tensors


def _write_cache(path: Path, fingerprint: str, tensors: dict[str, torch.Tensor]) -> None:
    """Write atomically (a temporary file, then a rename); a data directory we cannot write only costs speed."""
    cache = {"format": CACHE_FORMAT, "fingerprint": fingerprint, "tensors": tensors,
             "checksum": _checksum(fingerprint, tensors)}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(cache, temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        warnings.warn(f"could not write the image cache {path} ({error.strerror}): the next load decodes the "
                      f"images again; set CNNLAB_DATA to a folder you can write", UserWarning, stacklevel=3)


def describe(name: str, folder: Path, formats: set[str]) -> str:
    """The data source, e.g. ``CIFAR-10 (JPEG copy, image folder cifar10-jpeg)`` (no path of this machine)."""
    kind = "/".join(sorted(formats, reverse=True))  # PNG, JPEG, or PNG/JPEG
    return f"{TITLES[name]} ({kind} copy, image folder {folder.name})"


def load_folder(name: str, folder, root: Path):
    """``(train_images, train_labels, test_images, test_labels, class_names, source)`` from an image folder.

    Raises :class:`BadImageFolder` (a ValueError) naming the folder and what was expected.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise BadImageFolder(f"the image folder {folder} does not exist (or is not a folder): expected a CIFAR "
                             f"copy laid out as train/<class>/* and test/<class>/*")
    files, fingerprint, formats = _scan(folder, name)
    path = cache_path(folder, root)
    tensors = _read_cache(path, fingerprint, folder)
    if tensors is None:
        tensors = {}
        for split in SPLITS:
            tensors[f"{split}_images"], tensors[f"{split}_labels"] = _decode(files[split])
        _write_cache(path, fingerprint, tensors)
    return (tensors["train_images"], tensors["train_labels"], tensors["test_images"], tensors["test_labels"],
            list(CLASS_NAMES[name]), describe(name, folder, formats))
