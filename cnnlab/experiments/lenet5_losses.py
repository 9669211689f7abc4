"""Chapter 01: LeNet-5 trained with its own loss, with cross-entropy, and the folk LeNet, seed by seed.

LeNet-5 as published [lecun1998gradient] ends in Euclidean RBF units trained with the paper's criterion
(eq. 9, :func:`cnnlab.layers.lenet.rbf_loss`). Most reimplementations train the same network with
cross-entropy, often from PyTorch's default initialization, or replace it with the "folk" LeNet (ReLU,
max-pooling, a linear output). Four setups, each trained from the same seeds (a seed fixes the initial
weights, the same for both losses, and the order of the batches):

* ``eq9``         -- LeNet-5, the paper's initialization, the paper's loss;
* ``ce``          -- LeNet-5, the paper's initialization, cross-entropy;
* ``pytorch_ce``  -- LeNet-5, PyTorch's default initialization, cross-entropy;
* ``folk``        -- the folk LeNet, cross-entropy.

Departures from the paper: CIFAR-10 instead of MNIST; AdamW with a cosine learning rate instead of the
paper's stochastic diagonal Levenberg-Marquardt with its stepwise decreasing rate (both adapt a step size
per weight, and both end with small steps); batches of 64 instead of one image per update. The weights of
seed 0 are kept after training for every setup, and at the start for the two LeNet-5 initializations (the
chapter draws their first-layer filters).
"""
from __future__ import annotations

import torch

from .. import data as cifar
from .. import models
from ..layers.lenet import rbf_loss
from .registry import experiment

SETUPS = {  # key: (architecture, builder options, loss_fn)
    "eq9": ("lenet5", {}, rbf_loss),
    "ce": ("lenet5", {}, None),
    "pytorch_ce": ("lenet5", {"init": "pytorch"}, None),
    "folk": ("lenet5_folk", {}, None),
}


@experiment("01", "lenet5_losses", minutes=25)
def lenet5_losses(run):
    """LeNet-5 with its own loss (eq. 9), with cross-entropy from two initializations, and the folk LeNet.

    Every setup is trained from the same seeds with the same recipe (AdamW, cosine learning rate, no
    augmentation) on CIFAR-10; the ``long`` run uses all 45,000 training images."""
    epochs = run.scaled(full=30, long=6, quick=8, smoke=1)
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2], quick=[0, 1, 2], smoke=[0, 1])
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=None, quick=5_000, smoke=512))
    recipe = dict(epochs=epochs, optimizer="adamw", lr=1e-3, batch_size=64, schedule="cosine",
                  augment=dict(crop=0, flip=False, cutout=0))
    for seed in seeds:
        for setup, (architecture, options, loss_fn) in SETUPS.items():
            key = f"{setup}_seed{seed}"
            torch.manual_seed(seed)
            model = models.create(architecture, num_classes=data.num_classes, **options)
            if seed == 0 and architecture == "lenet5" and setup != "ce":  # ce starts where eq9 starts
                run.keep(f"{setup}_seed0_start", model)
            run.fit(key, model, data, loss_fn=loss_fn, seed=seed, **recipe)
            if seed == 0:
                run.keep(key, model)
    return {"setups": list(SETUPS), "seeds": seeds, "epochs": epochs,
            "images": {"train": len(data.train.labels), "val": len(data.val.labels), "test": len(data.test.labels)},
            "normalization": {"mean": data.mean, "std": data.std}}  # what the kept models expect as input
