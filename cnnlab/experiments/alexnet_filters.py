"""Chapter 02: AlexNet's first-layer filters after a longer training, from two starting points.

[krizhevsky2012imagenet], Figure 3 shows the 96 trained 11x11x3 filters of conv1: oriented edges and
gratings, and colour blobs, the first 48 (GPU 1) mostly colourless, the other 48 (GPU 2) mostly coloured.
We train the zoo's CIFAR form ``alexnet`` (conv1: 64 filters of 5x5x3, stride 2; two towers from conv2 on,
overlapping pools, dropout 0.5 in fc6/fc7) with the paper's recipe (SGD, momentum 0.9, batch 128, weight
decay 5e-4, a constant learning rate of 0.01, random crops and flips) from two starts that differ in conv1
only:

* ``pytorch``: PyTorch's default initialization of conv1 (uniform, standard deviation ``1/sqrt(3 fan-in)``
  = 0.067 for a 5x5x3 filter);
* ``paper``: conv1 drawn from N(0, 0.01) with zero biases, the paper's scale.

Where we depart from the paper, and why:

* Every layer after conv1 starts from He et al.'s initialization [he2015delving] (normal, variance
  ``2 / fan-in``, zero biases), in both starts. The paper drew them from N(0, 0.01) with some biases at 1;
  PyTorch's default shrinks the signal's second moment about six times per layer (variance
  ``1 / (3 fan-in)``, halved again by the ReLU), and in a trial on this machine SGD at 0.01 left the
  network at the loss of chance (ln 10) for three epochs of 10,000 images from either start.
* No local response normalization: at the activations of standardized CIFAR images it divides by a
  near-constant ``k ** beta`` (chapter 02's exercise measures it), and PyTorch's ``LocalResponseNorm`` makes
  an epoch on a CPU about 2.5 times as long.

Only conv1's weights are kept, at the start and after training: the chapter draws them.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import data as cifar
from .. import models
from .registry import experiment

__all__ = ["STARTS", "alexnet_with_start"]

STARTS = ("pytorch", "paper")


def alexnet_with_start(start: str, seed: int = 0) -> nn.Module:
    """The zoo's ``alexnet`` (CIFAR form, without LRN) from ``seed``, every layer after conv1 drawn by He et
    al.'s rule; conv1 keeps PyTorch's default (``start="pytorch"``) or is drawn from N(0, 0.01) (``"paper"``)."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    torch.manual_seed(seed)
    model = models.create("alexnet", num_classes=10, lrn=False)
    for name, layer in model.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)) and name != "features.conv1":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    if start == "paper":
        nn.init.normal_(model.features.conv1.weight, 0.0, 0.01)
        nn.init.zeros_(model.features.conv1.bias)
    return model


@experiment("02", "alexnet_filters", minutes=15)
def alexnet_filters(run):
    """AlexNet's CIFAR form trained with the paper's recipe: conv1 filters at the start and after training, from PyTorch's and the paper's conv1 initialization."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=20_000, quick=3_000, smoke=256),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=128),
                      test_size=run.scaled(full=None, long=None, quick=1_000, smoke=256))
    epochs = run.scaled(full=90, long=40, quick=4, smoke=1)
    recipe = dict(batch_size=128, optimizer="sgd", lr=0.01, momentum=0.9, nesterov=False, weight_decay=5e-4,
                  schedule="constant")
    values = {"epochs": epochs, "train_images": len(data.train.labels), "moved": {}}
    for start in STARTS:
        model = alexnet_with_start(start)
        run.keep(f"{start}/start", model.features.conv1)
        initial = model.features.conv1.weight.detach().clone()
        run.fit(start, model, data, epochs=epochs, seed=0, **recipe)
        run.keep(f"{start}/trained", model.features.conv1)
        trained = model.features.conv1.weight.detach().cpu()
        values["moved"][start] = float((trained - initial).norm() / initial.norm())
    return values
