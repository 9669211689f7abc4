"""Profiles: one switch that sets the budget of every experiment in the course.

* ``smoke`` -- the tests: seconds per chapter, tiny data, one epoch.
* ``quick`` -- the CPU default: minutes per chapter on a laptop.
* ``full``  -- the GPU default: the real experiment on the full data.
* ``long``  -- the stored runs (:mod:`cnnlab.experiments`): the experiments whose lesson needs more than
  ``quick`` allows, run once for up to an hour per chapter on a CPU, and kept with the book.

Chapters never hard-code a budget. They say what the *full* experiment uses and ask the
profile for its share of it::

    n_epochs = cnnlab.epochs(30)       # 30 in full, 3 in quick, 1 in smoke
    n_train  = cnnlab.train_size()     # all in full, 5_000 in quick, 512 in smoke
    n_val    = cnnlab.val_size()       # 5_000 in full, 1_000 in quick, 256 in smoke

The validation images are held out of the training images (:func:`cnnlab.data.load`), so in ``full``
a model trains on 45,000 CIFAR images and is chosen on the other 5,000.

The profile is chosen by the ``CNNLAB_PROFILE`` environment variable or by
:func:`set_profile` (``cnnlab.start(profile=...)`` calls it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Profile", "PROFILES", "get_profile", "set_profile", "epochs", "train_size", "val_size", "test_size",
           "scaled"]


@dataclass(frozen=True)
class Profile:
    """The budget of one profile.

    ``epoch_fraction`` of the full epoch count is used, clipped to ``[1, max_epochs]``;
    ``train_size``/``test_size`` cap the number of images (``None`` = the whole split);
    ``val_size`` images are held out of the training images for validation.
    """

    name: str
    epoch_fraction: float
    max_epochs: int | None
    train_size: int | None
    test_size: int | None
    description: str
    val_size: int


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", 0.0, 1, 512, 256, "tests: seconds per chapter, tiny data", val_size=256),
    "quick": Profile("quick", 0.1, 4, 5_000, 1_000, "CPU default: minutes per chapter", val_size=1_000),
    "full": Profile("full", 1.0, None, None, None, "GPU default: the real experiment on the full data",
                    val_size=5_000),
    "long": Profile("long", 0.2, 40, None, None, "stored runs: up to an hour per chapter on a CPU", val_size=5_000),
}

_current: Profile | None = None


def _default_name() -> str:
    import torch

    return "full" if torch.cuda.is_available() else "quick"


def _lookup(name: str) -> Profile:
    key = str(name).strip().lower()
    if key not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r}: expected one of {', '.join(PROFILES)} "
            "(set CNNLAB_PROFILE or call cnnlab.start(profile=...))"
        )
    return PROFILES[key]


def set_profile(name: str | None = None) -> Profile:
    """Choose the profile: ``name``, else ``$CNNLAB_PROFILE``, else full on CUDA and quick otherwise."""
    global _current
    _current = _lookup(name or os.environ.get("CNNLAB_PROFILE") or _default_name())
    return _current


def get_profile() -> Profile:
    """The profile in force (chosen on first use if :func:`set_profile` was never called)."""
    return _current or set_profile()


def epochs(full: int) -> int:
    """Number of epochs for an experiment that takes ``full`` epochs in the full profile."""
    if full < 1:
        raise ValueError(f"epochs(full) needs a positive epoch count, got {full}")
    p = get_profile()
    n = max(1, round(full * p.epoch_fraction))
    return min(n, p.max_epochs) if p.max_epochs else n


def _check_count(argument: str, n, minimum: int) -> None:
    """An image count must be a whole number >= ``minimum`` (or None for the profile's)."""
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{argument} must be a whole number of images (or None for the profile's), "
                        f"got {n!r} of type {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{argument} must be at least {minimum} images (or None for the profile's), got {n}")


def _cap(n: int | None, cap: int | None) -> int | None:
    if n is None:
        return cap
    return n if cap is None else min(n, cap)


def train_size(full: int | None = None) -> int | None:
    """Training images to use (``None`` = the whole split); ``full`` is what the full profile uses."""
    _check_count("train_size", full, 1)
    return _cap(full, get_profile().train_size)


def val_size(full: int | None = None) -> int:
    """Validation images to hold out of the training images (0 = no validation split)."""
    _check_count("val_size", full, 0)
    return _cap(full, get_profile().val_size)


def test_size(full: int | None = None) -> int | None:
    """Test images to use (``None`` = the whole split)."""
    _check_count("test_size", full, 1)
    return _cap(full, get_profile().test_size)


def scaled(full, quick, smoke, *, long=None):
    """Any other budget (search trials, repeats, image counts) given per profile explicitly; ``long`` is
    needed only by code that runs under the ``long`` profile (the stored experiments)."""
    name = get_profile().name
    if name == "long" and long is None:
        raise ValueError("this budget has no value for the long profile: give scaled(..., long=...)")
    return {"full": full, "quick": quick, "smoke": smoke, "long": long}[name]
