"""Chapter 05: the degradation problem, He et al.'s Figure 6 on CIFAR-10, and block deletion on the trained nets.

Plain-20, plain-56, ResNet-20 and ResNet-56 [he2016deep] train with one recipe, the paper's (SGD with momentum
0.9, weight decay 1e-4, batch 128, learning rate 0.1 divided by 10 at half and three quarters of the run), from
the same seed. The training error of every step is recorded, as the paper's Figure 6 draws it; the trained
nets' weights are kept (chapter 07 draws their effective receptive fields). Then every block of each trained
net is deleted at test time, one at a time [veit2016residual] (:mod:`cnnlab.analysis.lesion`).

Departures from the paper: the ``long`` run trains on 20,000 of the 45,000 training images for 20 epochs
(3,140 iterations instead of 64,000), so its errors are higher than the paper's; the schedule keeps the paper's
shape (division by 10 at half and three quarters of the run). It holds out 2,000 images for the per-epoch
held-out curve (the paper draws the test error) and deletes blocks on every second test image (5,000).
"""
from __future__ import annotations

import torch

from .. import data as cifar
from .. import models
from ..analysis.lesion import block_deletion
from ..session import get_device
from ..train.precision import choose_precision
from .registry import experiment

NETWORKS = ("plain20", "plain56", "resnet20", "resnet56")
"""The four nets of Figure 6, also the keys of their histories and kept weights."""


def recipe(run) -> dict:
    """The paper's CIFAR-10 recipe [he2016deep] §4.2, its length scaled to the profile."""
    return dict(epochs=run.scaled(full=182, long=20, quick=3, smoke=1), batch_size=128, lr=0.1, momentum=0.9,
                nesterov=False, weight_decay=1e-4, schedule="step")


def windowed(errors: list[float], window: int) -> list[float]:
    """Mean of every ``window`` consecutive values (the last, shorter window too)."""
    return [sum(errors[i:i + window]) / len(errors[i:i + window]) for i in range(0, len(errors), window)]


def lesion(model, split, data) -> list[dict]:
    """:func:`~cnnlab.analysis.lesion.block_deletion` on ``split``, in the precision and memory layout the net
    was trained in (``fit``'s, :mod:`cnnlab.train.precision`)."""
    device = get_device()
    precision = choose_precision(device, "auto", "auto")
    batches = cifar.DeviceLoader(split, 500, device, train=False, mean=data.mean, std=data.std,
                                 channels_last=precision.channels_last)
    with torch.autocast(device.type, dtype=precision.dtype or torch.bfloat16, enabled=precision.autocast):
        return block_deletion(model.to(device, memory_format=precision.memory_format), batches)


@experiment("05", "degradation", minutes=90)
def degradation(run):
    """Plain-20/56 and ResNet-20/56 (He et al. Fig. 6): training error until it plateaus; block deletion."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=20_000, quick=2_000, smoke=256),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=128),
                      test_size=run.scaled(full=None, long=None, quick=1_000, smoke=128))
    every = run.scaled(full=1, long=2, quick=4, smoke=1)  # the test split is sorted by class: every k-th keeps all
    deletion_split = cifar.Split(data.test.images[::every], data.test.labels[::every])
    window = run.scaled(full=100, long=20, quick=1, smoke=1)
    values = {"window": window, "step_error": {}, "lesion": {}, "deletion_images": len(deletion_split.labels),
              "test_images": len(data.test.labels)}
    for name in NETWORKS:
        errors = []

        def record(info):
            errors.append((info.outputs.argmax(1) != info.labels).float().mean().item())

        torch.manual_seed(0)
        model = models.create(name, num_classes=data.num_classes)
        history = run.fit(name, model, data, **recipe(run), seed=0, on_step=record)
        run.keep(name, model)
        steps = len(history.rows) * history.meta["options"]["steps_per_epoch"]
        # a run resumed from a checkpoint saw only its last steps: its step curve is left out (the epochs remain)
        values["step_error"][name] = windowed(errors, window) if len(errors) == steps else None
        values["lesion"][name] = run.once(f"lesion_{name}", lambda: lesion(model, deletion_split, data))
    return values
