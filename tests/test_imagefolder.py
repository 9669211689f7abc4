"""cnnlab.data from an image-folder copy of CIFAR (train/<class>/*, test/<class>/*), PNG or JPEG.

Small copies are written here with torchvision's encoders and loaded through cnnlab.data.load; the
expected pixels are the written ones (PNG is lossless) or PIL's decoding of the same file (JPEG).
"""
import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab import data as cdata
from cnnlab.data import imagefolder
from fake_cifar import CIFAR10_CLASSES, write_image, write_image_folder

SMALL = dict(train_size=20, val_size=5, test_size=20)  # the copies below hold 30 train / 20 test images


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """No folder configured by the environment, and no network (a download attempt fails at once)."""
    for variable in imagefolder.FOLDER_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)

    def offline(*args, **kwargs):
        raise OSError("network disabled in tests")
    monkeypatch.setattr("urllib.request.urlopen", offline)


@pytest.fixture
def png_copy(tmp_path):
    folder = tmp_path / "my-cifar"
    return folder, write_image_folder(folder, suffix=".png")


def _as_set(images):
    return {bytes(image.numpy().tobytes()) for image in images}


# --- reading a copy ---------------------------------------------------------------------------------

def test_png_copy_loads_exactly_with_cifar_labels(tmp_path, png_copy):
    folder, written = png_copy
    data = cdata.load("cifar10", source=folder, root=tmp_path / "data", train_size=30, val_size=0, test_size=20)
    train_images, train_labels = written["train"]
    assert torch.equal(data.train.images, train_images) and torch.equal(data.train.labels, train_labels)
    assert torch.equal(data.test.images, written["test"][0]) and torch.equal(data.test.labels, written["test"][1])
    assert data.classes == list(CIFAR10_CLASSES) and not data.is_standin
    assert data.source == "CIFAR-10 (PNG copy, image folder my-cifar)"
    pixels = train_images.double().numpy() / 255
    assert data.mean == pytest.approx(pixels.mean(axis=(0, 2, 3)), abs=1e-4)
    assert data.std == pytest.approx(pixels.std(axis=(0, 2, 3)), abs=1e-4)


def test_jpeg_copy_decodes_like_pil(tmp_path):
    folder = tmp_path / "cifar10-jpeg"
    write_image_folder(folder, suffix=".jpg")
    data = cdata.load("cifar10", source=str(folder), root=tmp_path, train_size=30, val_size=0, test_size=20)
    assert data.source == "CIFAR-10 (JPEG copy, image folder cifar10-jpeg)"
    files = sorted((folder / "test").glob("*/*.jpg"), key=lambda p: (CIFAR10_CLASSES.index(p.parent.name), p.name))
    expected = np.stack([np.asarray(Image.open(p).convert("RGB")).transpose(2, 0, 1) for p in files])
    difference = np.abs(data.test.images.numpy().astype(int) - expected.astype(int))
    assert difference.mean() < 1 and difference.max() <= 8  # two JPEG decoders, not bit-identical


def test_mixed_formats_and_upper_case_class_names(tmp_path):
    folder = tmp_path / "copy"
    write_image_folder(folder, classes=[c.upper() for c in CIFAR10_CLASSES], suffix=".png")
    write_image(torch.zeros(3, 32, 32, dtype=torch.uint8), folder / "train" / "CAT" / "extra.JPG")
    (folder / "train" / "CAT" / "notes.txt").write_text("not an image: ignored, as ImageFolder does")
    data = cdata.load("cifar10", source=folder, root=tmp_path, train_size=26, val_size=5, test_size=20)
    assert data.source == "CIFAR-10 (PNG/JPEG copy, image folder copy)"
    held_and_trained = torch.cat([data.train.images, data.val.images])
    assert len(held_and_trained) == 31 and (held_and_trained.flatten(1) == 0).all(1).sum() == 1


def test_cifar100_copy(tmp_path):
    names = imagefolder.CLASS_NAMES["cifar100"]
    assert len(names) == len(set(names)) == 100 and list(names) == sorted(names)  # CIFAR-100's order is alphabetical
    folder = tmp_path / "cifar100-png"
    written = write_image_folder(folder, classes=names, per_class=(2, 1))
    data = cdata.load("cifar100", source="folder", root=tmp_path, train_size=100, val_size=100, test_size=100)
    assert data.num_classes == 100 and data.classes[:2] == ["apple", "aquarium_fish"]
    assert torch.equal(data.test.labels, written["test"][1])
    assert torch.bincount(data.val.labels, minlength=100).tolist() == [1] * 100  # class-balanced hold-out


# --- how a user points cnnlab at a copy ----------------------------------------------------------------

def test_environment_variable_names_the_folder(tmp_path, png_copy, monkeypatch):
    folder, _ = png_copy
    monkeypatch.setenv("CNNLAB_CIFAR10_DIR", str(folder))
    for source in ("folder", "auto"):
        data = cdata.load("cifar10", source=source, root=tmp_path / "empty-data-dir", **SMALL)
        assert data.source == "CIFAR-10 (PNG copy, image folder my-cifar)"


def test_a_copy_in_the_data_directory_is_found(tmp_path):
    write_image_folder(tmp_path / "cifar10-png")
    data = cdata.load("cifar10", root=tmp_path, **SMALL)  # source="auto"
    assert data.source == "CIFAR-10 (PNG copy, image folder cifar10-png)"
    assert data.source in cdata.LOADED_SOURCES  # tools/notebooks.py records it


def test_two_copies_in_the_data_directory_ask_which(tmp_path):
    write_image_folder(tmp_path / "cifar10-png", per_class=(1, 1))
    write_image_folder(tmp_path / "cifar10-jpeg", per_class=(1, 1), suffix=".jpg")
    with pytest.raises(cdata.BadImageFolder, match="cifar10-jpeg, cifar10-png.*CNNLAB_CIFAR10_DIR"):
        cdata.load("cifar10", root=tmp_path, **SMALL)


def test_source_folder_without_a_copy_says_how_to_point_at_one(tmp_path):
    with pytest.raises(cdata.BadImageFolder, match="CNNLAB_CIFAR10_DIR"):
        cdata.load("cifar10", source="folder", root=tmp_path)


# --- bad folders: a clear error, never a fallback -------------------------------------------------------

def _bad(tmp_path, expected, source=None, **sizes):
    with pytest.raises(ValueError, match=expected) as error:
        cdata.load("cifar10", source=source or tmp_path / "copy", root=tmp_path / "data", **(sizes or SMALL))
    return str(error.value)


def test_a_missing_folder_is_named(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="no folder .*nowhere"):
        cdata.load("cifar10", source=str(missing), root=tmp_path)
    monkeypatch.setenv("CNNLAB_CIFAR10_DIR", str(missing))
    for source in ("auto", "folder"):  # a configured folder that is not there is not skipped
        with pytest.raises(ValueError, match=f"CNNLAB_CIFAR10_DIR={missing} is not a folder"):
            cdata.load("cifar10", source=source, root=tmp_path)


def test_class_folders_that_are_not_cifars(tmp_path):
    folder = tmp_path / "copy"
    write_image_folder(folder, per_class=(1, 1))
    (folder / "train" / "airplane").rename(folder / "train" / "plane")
    message = _bad(tmp_path, "class folders")
    assert str(folder / "train") in message and "missing: airplane" in message and "not cifar10 classes: plane" in message
    write_image_folder(folder, classes=["unicorn"], per_class=(1, 1))  # 11 folders now
    assert "11 class folders, expected cifar10's 10" in _bad(tmp_path, "unicorn")


def test_cifar10_copy_is_not_cifar100(tmp_path):
    write_image_folder(tmp_path / "copy", per_class=(1, 1))
    with pytest.raises(ValueError, match="10 class folders, expected cifar100's 100"):
        cdata.load("cifar100", source=tmp_path / "copy", root=tmp_path)


def test_a_missing_split_is_named(tmp_path):
    write_image_folder(tmp_path / "copy", per_class=(1, 1))
    shutil.rmtree(tmp_path / "copy" / "test")
    assert str(tmp_path / "copy") in _bad(tmp_path, "no 'test' folder")


def test_an_empty_split_is_named(tmp_path):
    write_image_folder(tmp_path / "copy", per_class=(3, 0))
    assert str(tmp_path / "copy") in _bad(tmp_path, "'test' split .* holds no images")


@pytest.mark.parametrize("shape, expected", [((3, 28, 28), "28x28 with 3 channel"), ((1, 32, 32), "32x32 with 1 channel"),
                                             ((4, 32, 32), "32x32 with 4 channel")])
def test_images_that_are_not_32x32_rgb_are_named(tmp_path, shape, expected):
    write_image_folder(tmp_path / "copy", per_class=(3, 2))
    odd = tmp_path / "copy" / "train" / "dog" / "0001.png"
    if shape[0] == 4:  # torchvision writes no RGBA PNG; PIL does
        Image.new("RGBA", shape[1:]).save(odd)
    else:
        write_image(torch.zeros(shape, dtype=torch.uint8), odd)
    message = _bad(tmp_path, expected)
    assert str(odd) in message and "32x32 RGB" in message


def test_a_file_that_is_no_image_is_named(tmp_path):
    write_image_folder(tmp_path / "copy", per_class=(3, 2))
    broken = tmp_path / "copy" / "test" / "ship" / "0000.png"
    broken.write_bytes(b"not a png")
    assert str(broken) in _bad(tmp_path, "cannot be decoded")


def test_a_train_split_smaller_than_asked_for(tmp_path):
    write_image_folder(tmp_path / "copy", per_class=(3, 2))  # 30 training images
    message = _bad(tmp_path, "30 training images, fewer than the 28 train \\+ 5 validation", train_size=28, val_size=5)
    assert "image folder copy" in message and "profile smoke" in message


def test_a_bad_folder_in_the_data_directory_is_an_error_not_the_standin(tmp_path):
    write_image_folder(tmp_path / "cifar10-png", per_class=(1, 1))
    (tmp_path / "cifar10-png" / "test" / "truck").rename(tmp_path / "cifar10-png" / "test" / "lorry")
    with pytest.raises(ValueError, match="lorry"):
        cdata.load("cifar10", root=tmp_path, **SMALL)


# --- the cache -----------------------------------------------------------------------------------------

def _count_decodes(monkeypatch):
    calls = []
    real = imagefolder.decode_image
    monkeypatch.setattr(imagefolder, "decode_image", lambda path: calls.append(path) or real(path))
    return calls


def test_cache_round_trip_decodes_once(tmp_path, png_copy, monkeypatch):
    folder, _ = png_copy
    calls = _count_decodes(monkeypatch)
    first = cdata.load("cifar10", source=folder, root=tmp_path / "data", **SMALL)
    assert len(calls) == 50
    (cache,) = (tmp_path / "data" / "imagefolder-cache").iterdir()
    assert cache.name.startswith("my-cifar-") and cache.suffix == ".pt"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sound cache is read without a word
        second = cdata.load("cifar10", source=folder, root=tmp_path / "data", **SMALL)
    assert len(calls) == 50  # nothing decoded the second time
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(first, split).images, getattr(second, split).images)
        assert torch.equal(getattr(first, split).labels, getattr(second, split).labels)


def test_a_changed_folder_rebuilds_the_cache(tmp_path, png_copy, monkeypatch):
    folder, _ = png_copy
    cdata.load("cifar10", source=folder, root=tmp_path, **SMALL)
    calls = _count_decodes(monkeypatch)
    new = torch.full((3, 32, 32), 7, dtype=torch.uint8)
    write_image(new, folder / "test" / "frog" / "9999.png")
    data = cdata.load("cifar10", source=folder, root=tmp_path, train_size=20, val_size=5, test_size=21)
    assert len(calls) == 51 and any(torch.equal(image, new) for image in data.test.images)


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "empty"])
def test_a_corrupt_cache_is_never_used_and_is_rebuilt(tmp_path, png_copy, monkeypatch, damage):
    folder, written = png_copy
    cdata.load("cifar10", source=folder, root=tmp_path, **SMALL)
    (cache,) = (tmp_path / "imagefolder-cache").iterdir()
    content = bytearray(cache.read_bytes())
    if damage == "flip a byte":  # inside the image tensors: torch.load still succeeds, the checksum does not
        stored = bytes(written["train"][0][7].numpy().tobytes())
        at = bytes(content).index(stored)
        content[at + 100] ^= 0xFF
    cache.write_bytes({"flip a byte": bytes(content), "truncate": bytes(content[: len(content) // 2]),
                       "empty": b""}[damage])
    calls = _count_decodes(monkeypatch)
    with pytest.warns(UserWarning, match="image cache .* is corrupt .*rebuilding it from .*my-cifar"):
        data = cdata.load("cifar10", source=folder, root=tmp_path, train_size=30, val_size=0, test_size=20)
    assert len(calls) == 50 and torch.equal(data.train.images, written["train"][0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cdata.load("cifar10", source=folder, root=tmp_path, **SMALL)  # the rebuilt cache is sound


# --- source="auto": the order ----------------------------------------------------------------------------

def test_auto_tries_torchvision_cache_then_folder_then_download_then_standin(tmp_path, monkeypatch, capsys):
    tried = []

    def torchvision(name, root, download=True):
        tried.append("download" if download else "torchvision cache")
        if download and available["download"] or not download and available["cache"]:
            return (*written["train"], *written["test"], list(CIFAR10_CLASSES))
        raise cdata.CifarUnavailable("not here" if not download else "offline")

    real_folder = imagefolder.load_folder

    def folder(*args):
        tried.append("image folder")
        return real_folder(*args)

    monkeypatch.setattr(cdata.cifar, "load_cifar", torchvision)
    monkeypatch.setattr(imagefolder, "load_folder", folder)
    copy = tmp_path / "cifar10-png"
    written = write_image_folder(copy)

    def auto():
        tried.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the stand-in's warning
            return cdata.load("cifar10", root=tmp_path, **SMALL).source, list(tried)

    available = {"cache": True, "download": True}
    assert auto() == ("CIFAR-10 (torchvision, %s)" % tmp_path, ["torchvision cache"])
    available["cache"] = False
    assert auto() == ("CIFAR-10 (PNG copy, image folder cifar10-png)", ["torchvision cache", "image folder"])
    shutil.rmtree(copy)
    assert auto() == ("CIFAR-10 (torchvision, %s)" % tmp_path, ["torchvision cache", "download"])
    available["download"] = False
    source, order = auto()
    assert order == ["torchvision cache", "download"] and source.startswith("stand-in")
    assert "OFFLINE STAND-IN" in capsys.readouterr().out


# --- `make data`: the offline workplace's archive ----------------------------------------------------------

@pytest.mark.skipif(shutil.which("make") is None or shutil.which("sha256sum") is None, reason="needs make and sha256sum")
def test_make_data_unpacks_a_checked_archive_once_and_only_when_it_exists(tmp_path):
    import hashlib
    import subprocess
    import tarfile
    from pathlib import Path

    repository = Path(__file__).resolve().parents[1]  # where the Makefile is
    write_image_folder(tmp_path / "content", per_class=(1, 1))
    archive = tmp_path / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(tmp_path / "content" / split, arcname=split)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()

    def make(data_dir, archive_path, sha256):
        return subprocess.run(["make", "-s", "-C", str(repository), "data", f"CNNLAB_DATA={data_dir}",
                               f"CIFAR10_ARCHIVE={archive_path}", f"CIFAR10_SHA256={sha256}"],
                              capture_output=True, text=True)

    missing = make(tmp_path / "a", tmp_path / "no-such.tar.gz", digest)
    assert missing.returncode == 0 and not (tmp_path / "a").exists()  # nothing changes without the archive
    wrong = make(tmp_path / "b", archive, "0" * 64)
    assert wrong.returncode != 0 and "does not have the sha256" in wrong.stdout
    assert not (tmp_path / "b" / "cifar10-jpeg").exists()
    right = make(tmp_path / "c", archive, digest)
    assert right.returncode == 0 and "Unpacked" in right.stdout
    data = cdata.load("cifar10", root=tmp_path / "c", train_size=5, val_size=5, test_size=10)  # found by auto
    assert data.source == "CIFAR-10 (PNG copy, image folder cifar10-jpeg)"
    again = make(tmp_path / "c", archive, digest)
    assert again.returncode == 0 and again.stdout == ""  # once
