"""Write small datasets in CIFAR's on-disk layouts, so tests load them through the real code path.

``write_fake_cifar``: torchvision's pickled batches. ``write_image_folder``: an image-folder copy
(``train/<class>/*.png|jpg``, ``test/<class>/*``), the layout ``torchvision.datasets.ImageFolder`` reads.

CIFAR-10 (``cifar-10-batches-py/``): ``data_batch_1..5`` and ``test_batch`` are pickles of dicts with
``data`` (uint8, N x 3072: the red plane, then green, then blue, each row-major 32 x 32), ``labels`` and
``filenames``; ``batches.meta`` holds ``label_names``. CIFAR-100 (``cifar-100-python/``): ``train`` and
``test`` with ``fine_labels``/``coarse_labels``; ``meta`` with ``fine_label_names``/``coarse_label_names``.
"""
from __future__ import annotations

import hashlib
import http.server
import pickle
import tarfile
import threading
import warnings
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets
from torchvision.io import write_jpeg, write_png

LAYOUT = {
    "cifar10": dict(cls=datasets.CIFAR10, label_key="labels", meta_key="label_names", classes=10),
    "cifar100": dict(cls=datasets.CIFAR100, label_key="fine_labels", meta_key="fine_label_names", classes=100),
}


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_fake_cifar(root, name="cifar10", per_file=20, seed=0):
    """Write the files; return ``(images by file, labels by file, class names, {file name: md5})``."""
    layout = LAYOUT[name]
    cls = layout["cls"]
    folder = Path(root) / cls.base_folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, labels, md5s = {}, {}, {}
    for filename, _ in cls.train_list + cls.test_list:
        data = rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)
        targets = rng.integers(0, layout["classes"], per_file).tolist()
        entry = {"batch_label": filename, "data": data, layout["label_key"]: targets,
                 "filenames": [f"{filename}_{i}.png" for i in range(per_file)]}
        if name == "cifar100":
            entry["coarse_labels"] = [t // 5 for t in targets]
        path = folder / filename
        with open(path, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        images[filename], labels[filename], md5s[filename] = data.reshape(-1, 3, 32, 32), targets, _md5(path)
    classes = [f"class_{i:03d}" for i in range(layout["classes"])]
    meta = {layout["meta_key"]: classes}
    if name == "cifar100":
        meta["coarse_label_names"] = [f"super_{i}" for i in range(20)]
    path = folder / cls.meta["filename"]
    with open(path, "wb") as f:
        pickle.dump(meta, f, protocol=2)
    md5s[cls.meta["filename"]] = _md5(path)
    return images, labels, classes, md5s


def use_checksums(monkeypatch, name, md5s, archive=None, url=None):
    """Point torchvision's dataset class at the fake files' MD5s (and, for a download test, the archive's URL)."""
    cls = LAYOUT[name]["cls"]
    monkeypatch.setattr(cls, "train_list", [[f, md5s[f]] for f, _ in cls.train_list])
    monkeypatch.setattr(cls, "test_list", [[f, md5s[f]] for f, _ in cls.test_list])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5s[cls.meta["filename"]]})
    if archive is not None:
        monkeypatch.setattr(cls, "url", url)
        monkeypatch.setattr(cls, "tgz_md5", _md5(Path(archive)))


def make_archive(root, name, out):
    """Pack a written fake dataset as the ``.tar.gz`` torchvision downloads."""
    folder = LAYOUT[name]["cls"].base_folder
    with tarfile.open(out, "w:gz") as tar:
        tar.add(Path(root) / folder, arcname=folder)
    return out


@contextmanager
def serve_folder(folder):
    """An HTTP server on localhost serving ``folder``; yields its base URL."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def write_image_folder(folder, classes=CIFAR10_CLASSES, per_class=(3, 2), suffix=".png", seed=0):
    """Random 32x32 RGB images, ``per_class`` = (train, test) files per class, written with torchvision.

    Returns ``{split: (images uint8 N x 3 x 32 x 32, labels)}`` in the order a loader must give them:
    classes in the order given, files in name order. ``suffix`` ``.png`` (lossless) or ``.jpg``.
    """
    g = torch.Generator().manual_seed(seed)
    written = {}
    for split, count in zip(("train", "test"), per_class):
        images, labels = [], []
        for label, name in enumerate(classes):
            (Path(folder) / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=g)
                write_image(image, Path(folder) / split / name / f"{i:04d}{suffix}")
                images.append(image)
                labels.append(label)
        written[split] = (torch.stack(images) if images else torch.empty(0, 3, 32, 32, dtype=torch.uint8),
                          torch.tensor(labels, dtype=torch.int64))
    return written


def write_image(image, path, quality=95):
    """One image (uint8 C x H x W) as PNG or JPEG, by the suffix of ``path``."""
    with warnings.catch_warnings():  # torchvision 0.29 deprecates its codecs in favour of TorchCodec
        warnings.simplefilter("ignore", DeprecationWarning)
        if Path(path).suffix.lower() == ".png":
            write_png(image, str(path))
        else:
            write_jpeg(image, str(path), quality=quality)
