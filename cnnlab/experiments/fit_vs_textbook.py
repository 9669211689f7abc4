"""Chapter 00: is cnnlab's ``fit`` as accurate as the textbook loop it outruns?

``fit`` trains with the images on the device, augmented in batch, and (on hardware that runs it natively)
bfloat16 autocast with channels-last; ``cnnlab.bench.textbook_fit`` is the loop of the PyTorch tutorials:
a DataLoader with per-image transforms, float32. Both train ResNet-20 with the same recipe (SGD with
Nesterov momentum, one-cycle learning rate, batch 128) from the same initial weights, seed by seed.
"""
from __future__ import annotations

import time

import torch

from .. import data as cifar
from .. import models
from ..bench import textbook_fit
from ..train import fit
from .registry import experiment


@experiment("00", "fit_vs_textbook", minutes=30)
def fit_vs_textbook(run):
    """ResNet-20 trained by fit and by the textbook loop: test accuracy and wall time, paired by seed."""
    epochs = run.scaled(full=30, long=15, quick=3, smoke=1)
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2], quick=[0], smoke=[0])
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=10_000, quick=2_000, smoke=256), val_size=0)
    values = {"epochs": epochs, "train_images": len(data.train.labels), "test_images": len(data.test.labels),
              "fit": {}, "textbook": {}}

    def textbook(seed):
        torch.manual_seed(seed)
        model = models.create("resnet20", num_classes=10)
        started = time.perf_counter()
        accuracy = textbook_fit(model, data, epochs, lr=0.1, seed=seed)
        return {"accuracy": accuracy, "seconds": time.perf_counter() - started}

    for seed in seeds:
        torch.manual_seed(seed)
        model = models.create("resnet20", num_classes=10)
        started = time.perf_counter()
        history = run.fit(f"fit_seed{seed}", model, data, epochs=epochs, lr=0.1, seed=seed)
        values["fit"][seed] = {"accuracy": history.test["accuracy"], "seconds": time.perf_counter() - started,
                               "precision": history.meta["options"]["amp"]}
        values["textbook"][seed] = run.once(f"textbook_seed{seed}", lambda: textbook(seed))
    return values
