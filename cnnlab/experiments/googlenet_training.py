"""Chapter 04: what GoogLeNet's training aids do, compared seed by seed.

The CIFAR GoogLeNet (:func:`cnnlab.models.googlenet.googlenet`: torchvision's layout with batch norm, a 3x3
kernel in the "5x5" branch, a stride-1 stem) at an eighth of its width, trained with one recipe (SGD with
Nesterov momentum, one-cycle learning rate, batch 128, weight decay 5e-4) from He-initialized weights
[he2015delving]. Three comparisons share one baseline (batch norm, auxiliary heads, learning rate 0.1, one-hot
target), and each pairs seeds: for one seed both sides start from the same weights in the layers they share
and see the same batches, so the difference seed by seed is the effect of the change
(:func:`cnnlab.analysis.paired`):

* auxiliary classifiers [szegedy2015going]: the loss adds 0.3 x the cross-entropy of each head, against none;
* batch normalization at a higher learning rate [ioffe2015batch]: the baseline at 5x its rate (the paper's
  BN-x5), and the network without batch norm at 5x, 1x and 0.2x the rate (seed 0 only: it is there to show
  where the plain network trains at all);
* label smoothing [szegedy2016rethinking] with epsilon 0.1, against the one-hot target.

The calibration on the test images (:func:`cnnlab.analysis.calibration.reliability`) of every network that
trained to its last epoch is returned (a run that ``fit`` stopped on a non-finite loss, as the network without
batch norm at the high rate can be in a short run, has none); the weights of seed 0's baseline and
label-smoothed networks are kept (chapter 04 draws their logit gaps).
"""
from __future__ import annotations

import torch
from torch import nn

from .. import data as cifar
from .. import models
from ..analysis.calibration import reliability, softmax_outputs
from ..data import DeviceLoader
from .registry import experiment

__all__ = ["WIDTH", "BASE_LR", "HIGH_LR", "SMOOTHING", "he_init", "build", "googlenet_training"]

WIDTH = 0.125
BASE_LR = 0.1          # fit's default for SGD at batch 128
HIGH_LR = 5 * BASE_LR  # BN-x5 of [ioffe2015batch]
SMOOTHING = 0.1        # epsilon of [szegedy2016rethinking]


def he_init(model: nn.Module) -> nn.Module:
    """He (Kaiming) normal initialization of every convolution, zero conv biases [he2015delving], and a fresh
    default initialization of every linear layer; the aux heads last, so that a network with and one without
    them (or with and without batch norm) draw the same weights for every layer they share."""
    for name, m in sorted(model.named_modules(), key=lambda item: item[0].startswith("aux")):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            m.reset_parameters()
    return model


def build(seed: int, num_classes: int = 10, width: float = WIDTH, **options) -> nn.Module:
    """The CIFAR GoogLeNet at ``width``, He-initialized from ``torch.manual_seed(seed)``; ``options`` go to
    :func:`cnnlab.models.googlenet.googlenet` (``aux_logits``, ``batch_norm``)."""
    model = models.create("googlenet", num_classes=num_classes, width=width, **options)
    torch.manual_seed(seed)
    return he_init(model)


@experiment("04", "googlenet_training", minutes=50)
def googlenet_training(run):
    """CIFAR GoogLeNet (width 1/8) with and without aux heads, BN at 5x the rate, no BN, label smoothing: paired seeds."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=8_000, quick=3_000, smoke=256),
                      val_size=run.scaled(full=5_000, long=2_000, quick=1_000, smoke=128),
                      test_size=run.scaled(full=None, long=None, quick=1_000, smoke=128))
    epochs = run.scaled(full=60, long=12, quick=3, smoke=1)
    seeds = run.scaled(full=[0, 1, 2, 3], long=[0, 1, 2, 3], quick=[0, 1], smoke=[0])
    test_batches = DeviceLoader(data.test, 500, "cpu", train=False, mean=data.mean, std=data.std)
    calibration = {}

    def train(key, seed, lr=BASE_LR, label_smoothing=0.0, **options):
        model = build(seed, data.num_classes, **options)
        history = run.fit(key, model, data, epochs=epochs, lr=lr, label_smoothing=label_smoothing, seed=seed)
        if not history.meta.get("stopped"):  # a run stopped by a non-finite loss may output NaN: no calibration
            calibration[key] = run.once(f"{key}_calibration",
                                        lambda: reliability(*softmax_outputs(model, test_batches)).to_dict())
        return model

    for seed in seeds:
        kept = train(f"base_s{seed}", seed)
        if seed == 0:
            run.keep("base_s0", kept)
        train(f"no_aux_s{seed}", seed, aux_logits=False)
        train(f"bn_high_s{seed}", seed, lr=HIGH_LR)
        kept = train(f"smooth_s{seed}", seed, label_smoothing=SMOOTHING)
        if seed == 0:
            run.keep("smooth_s0", kept)
    for name, lr in (("high", HIGH_LR), ("base", BASE_LR), ("low", BASE_LR / 5)):
        train(f"no_bn_{name}_s0", 0, lr=lr, batch_norm=False)
    return {"width": WIDTH, "epochs": epochs, "seeds": list(seeds), "base_lr": BASE_LR, "high_lr": HIGH_LR,
            "no_bn_lrs": {"high": HIGH_LR, "base": BASE_LR, "low": BASE_LR / 5}, "smoothing": SMOOTHING,
            "train_images": len(data.train.labels), "test_images": len(data.test.labels),
            "calibration": calibration}
