"""Chapter 09: does a Selective Kernel network give the larger kernel more weight when the object is larger?

[li2019selective] (section 4.3, Fig. 3) enlarge the object of ImageNet validation images by centre crops resized
back (1.0x, 1.5x, 2.0x) and find that in the early SK blocks of SKNet-50 the attention moves to the larger
("5x5") kernel as the object grows, in the last blocks no longer. Here cnnlab's small CIFAR SKNet (``sknet``:
three stages of two SK bottlenecks, 3x3 and dilated 3x3 branches, M=2, G=8) trains on CIFAR-10 and the same
measurement is made on the test images (:func:`cnnlab.analysis.attention_vs_scale`): the attention difference,
the dilated branch's weight minus the 3x3 branch's, per class and block, at each scale.

Two controls, not in the paper: the same images only coarsened as much as the enlargement coarsens them, the
object at its size (:func:`cnnlab.analysis.soften`), so that a shift caused by the loss of detail is told apart
from one caused by the object's size; and the untrained network (seed 0's start) on the enlarged images.

Recipe: ``full`` is [he2016deep]'s CIFAR recipe (182 epochs, step schedule, weight decay 1e-4), the shorter tiers
fit's defaults (one-cycle), all in float32: on this project's CPU (PyTorch 2.14, bfloat16 autocast with channels-last
tensors, fit's choice there) the weight gradient of a grouped *dilated* convolution, the SK unit's second branch, comes
out wrong (relative error about 1, measured against float32), and the branch's weights blow up within one step.
Departures: a network far smaller than the paper's SKNet-50 or CIFAR SKNet-29 (see :mod:`cnnlab.models.sknet`), on
32 x 32 images whose objects already fill the frame; the ``long`` tier trains on 18,000 images for 7 epochs and
measures on every second test image (5,000).
"""
from __future__ import annotations

import torch

from .. import data as cifar
from .. import models
from ..analysis import attention_vs_scale, count_flops, count_parameters, enlarge, soften
from .registry import experiment

SCALES = (1.0, 1.5, 2.0)
"""The object's enlargements of [li2019selective] Fig. 3."""


def build(seed: int, num_classes: int = 10):
    """The CIFAR SKNet as seed ``seed`` starts it."""
    torch.manual_seed(seed)
    return models.create("sknet", num_classes=num_classes)


def recipe(run) -> dict:
    """He et al.'s CIFAR recipe under ``full``, fit's defaults for a shorter run; float32 (module docstring)."""
    epochs = run.scaled(full=182, long=7, quick=3, smoke=1)
    if run.profile == "full":
        return dict(epochs=epochs, lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4, schedule="step", amp=False)
    return dict(epochs=epochs, batch_size=run.scaled(full=128, long=128, quick=128, smoke=64), amp=False)


@experiment("09", "sk_scale", minutes=20)
def sk_scale(run):
    """A CIFAR SKNet trained; its attention over 3x3 and dilated 3x3 as the object is enlarged (Li et al. Fig. 3)."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=18_000, quick=2_500, smoke=64),
                      val_size=run.scaled(full=5_000, long=2_000, quick=500, smoke=64),
                      test_size=run.scaled(full=None, long=None, quick=1_000, smoke=64))
    every = run.scaled(full=1, long=2, quick=1, smoke=4)  # the test split is sorted by class: every k-th keeps all
    images = cifar.normalize(data.test.images[::every], data.mean, data.std)
    labels = data.test.labels[::every]

    def measure(model, transform):
        return attention_vs_scale(model, images, labels, data.num_classes, SCALES, transform=transform)

    untrained = build(0, data.num_classes)
    values = {"recipe": recipe(run), "scales": list(SCALES), "train_images": len(data.train.labels),
              "test_images": len(data.test.labels), "measured_images": len(labels),
              "parameters": count_parameters(untrained), "macs": count_flops(untrained)["macs"],
              "untrained": run.once("untrained_enlarged", lambda: measure(untrained, enlarge))}
    model = build(0, data.num_classes)
    history = run.fit("sknet", model, data, **recipe(run), seed=0)
    run.keep("sknet", model)
    values["test_accuracy"] = history.test["accuracy"]
    values["enlarged"] = run.once("trained_enlarged", lambda: measure(model, enlarge))
    values["softened"] = run.once("trained_softened", lambda: measure(model, soften))
    return values
