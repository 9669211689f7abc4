"""Chapter 03: VGG and NiN trained side by side, and NiN with and without its dropout, paired by seed.

VGG-11 with batch norm (``vgg11_bn``, configuration A of [simonyan2015very] plus [ioffe2015batch]) and the
CIFAR-10 NiN of [lin2014network] with a batch norm after every convolution (``nin``, ``batch_norm=True``)
are trained with the same recipe (SGD with Nesterov momentum, one-cycle learning rate, batch 128, crop and
flip), each at the same fraction ``width`` of its published channel counts. NiN is trained twice per seed:
with its two dropout layers of rate 0.5 (the paper's model) and without them. For one seed every NiN starts
from the same weights and sees the images in the same order, so the paired difference is dropout's alone.

Departures from the papers: batch norm in both (neither paper has it; it lets them train from scratch in
tens of epochs), a reduced width on a CPU (``width`` below 1), and a fraction of CIFAR-10's training images.
"""
from __future__ import annotations

import torch

from .. import data as cifar
from .. import models
from ..data import DeviceLoader, Split
from ..train import evaluate
from .registry import experiment

VARIANTS = {"vgg": ("vgg11_bn", {}), "nin_drop": ("nin", {"batch_norm": True, "dropout": 0.5}),
            "nin_nodrop": ("nin", {"batch_norm": True, "dropout": 0.0})}
"""The three networks of each seed: key -> (registered model, its options)."""


@experiment("03", "vgg_nin", minutes=45)
def vgg_nin(run):
    """VGG-11 (BN) and NiN (BN) with and without dropout, same width, three paired seeds, until the curves flatten."""
    width = run.scaled(full=1.0, long=0.25, quick=0.125, smoke=0.125)
    epochs = run.scaled(full=60, long=30, quick=8, smoke=1)
    seeds = run.scaled(full=[0, 1, 2], long=[0, 1, 2], quick=[0, 1, 2], smoke=[0])
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=20_000, quick=5_000, smoke=256))
    n_check = len(data.val)
    seen_in_training = Split(data.train.images[:n_check], data.train.labels[:n_check])
    values = {"width": width, "epochs": epochs, "seeds": seeds, "train_images": len(data.train),
              "val_images": len(data.val), "test_images": len(data.test), "train_acc_eval": {}}

    for seed in seeds:
        for variant, (name, options) in VARIANTS.items():
            key = f"{variant}_seed{seed}"
            torch.manual_seed(seed)
            model = models.create(name, num_classes=data.num_classes, width=width, **options)
            run.fit(key, model, data, epochs=epochs, lr=0.1, seed=seed)
            # accuracy on n_check training images in eval mode (no dropout, no augmentation): beside the
            # validation accuracy, the gap between fitting the training images and generalizing
            loader = DeviceLoader(seen_in_training, 512, train=False, mean=data.mean, std=data.std)
            values["train_acc_eval"][key] = run.once(f"train_acc_{key}", lambda: evaluate(model, loader).accuracy)
            if seed == seeds[0]:
                run.keep(key, model)
    return values
