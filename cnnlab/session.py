"""``cnnlab.start()``: the first line of every chapter.

It seeds every random generator, picks the device (CUDA, then Apple MPS, then CPU) and the
profile (:mod:`cnnlab.profiles`), and prints one line that says where and how the chapter runs.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import profiles

__all__ = ["Session", "start", "seed_everything", "pick_device", "get_device", "data_dir"]

_device: torch.device | None = None


@dataclass(frozen=True)
class Session:
    device: torch.device
    profile: profiles.Profile
    seed: int
    data_dir: Path

    def __str__(self) -> str:
        return (
            f"cnnlab {_version()} | device: {describe_device(self.device)} | profile: {self.profile.name}"
            f" | torch {torch.__version__} | seed {self.seed} | data: {self.data_dir}"
        )


def _version() -> str:
    from . import __version__

    return __version__


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(name: str | None = None) -> torch.device:
    """``name`` if given (``"cpu"``, ``"cuda"``, ``"mps"``), else CUDA, then MPS, then CPU."""
    if name is not None:
        dev = torch.device(name)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is visible; use 'cpu' or leave it unset")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("device 'mps' was asked for but Apple MPS is not available; use 'cpu' or leave it unset")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def get_device() -> torch.device:
    """The device chosen by :func:`start` (picked on first use otherwise)."""
    global _device
    if _device is None:
        _device = pick_device()
    return _device


def describe_device(device: torch.device) -> str:
    """A human name for the device, e.g. ``cuda (NVIDIA H100 80GB HBM3)`` or ``cpu (2 threads)``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def data_dir() -> Path:
    """Where datasets are cached: ``$CNNLAB_DATA``, else ``~/.cache/cnnlab``."""
    root = os.environ.get("CNNLAB_DATA") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cnnlab"
    return Path(root).expanduser()


def start(profile: str | None = None, device: str | None = None, seed: int = 0, quiet: bool = False) -> Session:
    """Seed everything, pick device and profile, and print one line naming them."""
    global _device
    seed_everything(seed)
    _device = pick_device(device)
    session = Session(_device, profiles.set_profile(profile), seed, data_dir())
    if not quiet:
        print(session)
    return session
