"""Write a small dataset in CIFAR's exact on-disk layout, so tests load it through the real code path.

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
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
from torchvision import datasets

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
