"""``Recipe``: the settings of one training run, checked once, recorded once.

``fit``'s keyword arguments build a :class:`Recipe`; from it come the History's ``meta["options"]`` and
the ``settings`` a checkpoint stores, which a resumed run must match (:func:`settings_differences`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Recipe", "OPTIMIZERS", "SCHEDULES", "MIXES", "DEFAULT_LR", "settings_differences"]

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
MIXES = (None, "mixup", "cutmix", "both")
DEFAULT_LR = {"sgd": 0.1, "adamw": 1e-3}
"""Peak learning rates: SGD 0.1 for batch 128 [he2016deep]; AdamW 1e-3 [loshchilov2019decoupled]."""

SWITCHES = ("auto", True, False)
NOT_SHAPING = ("compile", "channels_last")
"""Settings that change speed, not the numbers: a resumed run may change them."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Recipe:
    """How to train: ``fit``'s options (see :func:`cnnlab.train.fit`); every value is checked here."""

    epochs: int
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float | None = None
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    mix: str | None = None
    distill_temperature: float = 4.0
    distill_weight: float = 0.5
    agc: float | None = None
    ema: float | None = None
    amp: object = "auto"
    channels_last: object = "auto"
    compile: bool = False
    augment: dict | None = None
    seed: int = 0

    def __post_init__(self):
        problems = []

        def need(ok, name, expected):
            if not ok:
                problems.append(f"{name} must be {expected}, got {getattr(self, name)!r}")

        need(_is_int(self.epochs) and self.epochs >= 1, "epochs", "an integer >= 1")
        need(_is_int(self.batch_size) and self.batch_size >= 1, "batch_size", "an integer >= 1")
        need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {OPTIMIZERS}")
        need(self.lr is None or (_is_number(self.lr) and self.lr > 0), "lr",
             f"a finite number > 0 (or None for the optimizer's default {DEFAULT_LR})")
        need(_is_number(self.momentum) and 0 <= self.momentum < 1, "momentum", "in [0, 1)")
        need(_is_number(self.weight_decay) and self.weight_decay >= 0, "weight_decay", "a finite number >= 0")
        need(self.schedule in SCHEDULES, "schedule", f"one of {SCHEDULES}")
        need(_is_int(self.warmup_epochs) and self.warmup_epochs >= 0, "warmup_epochs", "an integer >= 0")
        if self.warmup_epochs and self.schedule != "cosine":
            problems.append(f"warmup_epochs is used by schedule='cosine' only (onecycle warms up by itself), "
                            f"got warmup_epochs={self.warmup_epochs} with schedule={self.schedule!r}")
        elif _is_int(self.warmup_epochs) and _is_int(self.epochs) and 0 < self.epochs <= self.warmup_epochs:
            problems.append(f"warmup_epochs ({self.warmup_epochs}) must be smaller than epochs ({self.epochs})")
        need(_is_number(self.label_smoothing) and 0 <= self.label_smoothing < 1, "label_smoothing", "in [0, 1)")
        need(self.mix in MIXES, "mix", f"one of {MIXES}")
        need(_is_number(self.distill_temperature) and self.distill_temperature > 0, "distill_temperature", "> 0")
        need(_is_number(self.distill_weight) and 0 <= self.distill_weight <= 1, "distill_weight", "in [0, 1]")
        need(self.agc is None or (_is_number(self.agc) and self.agc > 0), "agc",
             "None or a clip factor > 0 (the paper uses 0.01-0.16)")
        need(self.ema is None or (_is_number(self.ema) and 0 < self.ema < 1), "ema",
             "None or a decay in (0, 1), e.g. 0.999")
        need(self.amp in SWITCHES, "amp", f"one of {SWITCHES}")
        need(self.channels_last in SWITCHES, "channels_last", f"one of {SWITCHES}")
        need(self.augment is None or isinstance(self.augment, dict), "augment",
             "None or a dict of DeviceLoader options, e.g. dict(crop=4, flip=True, cutout=0)")
        need(_is_int(self.seed), "seed", "an integer")
        if problems:
            raise ValueError("fit(): " + "; ".join(problems))

    @property
    def peak_lr(self) -> float:
        """``lr``, or the optimizer's default (:data:`DEFAULT_LR`)."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def as_dict(self) -> dict:
        return {**asdict(self), "lr": self.peak_lr}


def settings_differences(saved: dict, current: dict) -> list[str]:
    """``"lr: checkpoint 0.1, now 0.05"`` for every setting that shapes the run and differs (not ``epochs``)."""
    keys = (set(saved) | set(current)) - set(NOT_SHAPING) - {"epochs"}
    return [f"{key}: checkpoint {saved.get(key)!r}, now {current.get(key)!r}" for key in sorted(keys)
            if saved.get(key) != current.get(key)]
