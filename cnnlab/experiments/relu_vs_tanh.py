"""Chapter 02: ReLU against tanh in Krizhevsky et al.'s own setting (their Figure 1).

[krizhevsky2012imagenet], Figure 1: a four-layer convolutional network reaches 25% training error on
CIFAR-10 about six times faster with ReLUs than with tanh units; no regularization of any kind, and each
network with the learning rate that made it train fastest. The paper gives nothing more of the network.

Ours takes the shape of the CIFAR-10 example that shipped with Krizhevsky's cuda-convnet code
(``layers-18pct.cfg``): three 5x5 convolutions of 32, 32 and 64 filters, each followed by 3x3 pooling with
stride 2 (max, then average, average), and one fully connected layer to the ten classes. We leave out that
file's two response-normalization layers (the figure's network is "four-layer"; the paper names no
normalization for it). The activation is the only difference between the two networks.

Two *settings* of the same networks:

* ``cuda-convnet``: what Krizhevsky's code did. The network sees pixel values minus their mean in 0-255
  units (cuda-convnet subtracted the mean image; we subtract the per-channel mean), and starts from
  Gaussian weights with the standard deviations of ``layers-18pct.cfg`` (1e-4 in conv1, 1e-2 elsewhere) and
  zero biases.
* ``pytorch``: what a PyTorch user gets by default: standardized inputs (mean 0, standard deviation 1 per
  channel) and PyTorch's default initialization.

Both train with plain SGD (momentum 0.9, batch 128), a constant learning rate, no weight decay, no
augmentation, no dropout. For each setting and activation the learning rate is chosen as the paper did,
"to make training as fast as possible": from a grid, the one with the lowest training loss after a few
epochs of a search seed that is not among the compared seeds (the loss, not the error, because early on
several rates can share the error of chance). The compared seeds then train with it until their training
error reaches 25% or a cap of epochs (:func:`train_until`).
"""
from __future__ import annotations

import torch
from torch import nn

from .. import data as cifar
from .registry import experiment

__all__ = ["PixelScale", "figure1_net", "mean_slopes", "epochs_to", "train_until", "TARGET", "SETTINGS", "ACTIVATIONS",
           "GRIDS"]

TARGET = 0.25
"""Figure 1's mark: 25% training error."""
GRIDS = {"cuda-convnet": [0.001, 0.003, 0.01, 0.03], "pytorch": [0.003, 0.01, 0.03, 0.1]}
"""The learning rates searched per setting: cuda-convnet's CIFAR examples train at 0.001 (their ``epsW``, per
example of the batch as here), and a trial on this machine found tanh fastest at 0.01 of 0.001-0.01 there;
standardized inputs with PyTorch's initialization take larger steps."""
SETTINGS = ("cuda-convnet", "pytorch")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
CUDA_CONVNET_INIT = (1e-4, 1e-2, 1e-2, 1e-2)
"""``initW`` of conv1, conv2, conv3 and fc10 in cuda-convnet's ``layers-18pct.cfg``: Gaussian standard deviations."""


class PixelScale(nn.Module):
    """Multiplies standardized inputs by ``255 * std`` per channel: the network then sees pixel values minus
    their mean in 0-255 units, as cuda-convnet fed them (``std`` in [0, 1] units, as ``data.std``)."""

    def __init__(self, std):
        super().__init__()
        self.register_buffer("scale", 255 * torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def figure1_net(act: str, setting: str, std=(0.25, 0.25, 0.25)) -> nn.Sequential:
    """The four-layer network (module docstring) with ``act`` (``"relu"``/``"tanh"``) in ``setting``
    (``"cuda-convnet"``: raw-scale inputs and Gaussian initialization; ``"pytorch"``: PyTorch's defaults).
    ``std``: the data's per-channel standard deviation, which the cuda-convnet setting undoes."""
    if act not in ACTIVATIONS:
        raise ValueError(f"act must be one of {sorted(ACTIVATIONS)}, got {act!r}")
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    Act = ACTIVATIONS[act]
    net = nn.Sequential(
        PixelScale(std) if setting == "cuda-convnet" else nn.Identity(),
        nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(3, 2, ceil_mode=True), Act(),      # 32x32 -> 16x16
        nn.Conv2d(32, 32, 5, padding=2), Act(), nn.AvgPool2d(3, 2, ceil_mode=True),     # -> 8x8
        nn.Conv2d(32, 64, 5, padding=2), Act(), nn.AvgPool2d(3, 2, ceil_mode=True),     # -> 4x4
        nn.Flatten(), nn.Linear(64 * 4 * 4, 10))
    if setting == "cuda-convnet":
        weighted = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
        for layer, std_w in zip(weighted, CUDA_CONVNET_INIT):
            nn.init.normal_(layer.weight, 0.0, std_w)
            nn.init.zeros_(layer.bias)
    return net


@torch.no_grad()
def mean_slopes(net: nn.Sequential, images: torch.Tensor) -> list[float]:
    """The mean derivative of each activation layer on ``images``: ``1 - tanh^2`` for tanh, the share of
    positive units (where the derivative is 1) for ReLU."""
    slopes, z = [], images
    was_training = net.training
    net.eval()
    for layer in net:
        z = layer(z)
        if isinstance(layer, nn.Tanh):
            slopes.append(float((1 - z ** 2).mean()))
        elif isinstance(layer, nn.ReLU):
            slopes.append(float((z > 0).float().mean()))
    net.train(was_training)
    return slopes


def epochs_to(errors: list[float], target: float = TARGET, start: float = 0.9) -> float | None:
    """Epochs until the training error first reaches ``target``, interpolated linearly between the epoch
    before and the epoch that reaches it (``errors[i]``: training error of epoch ``i + 1``; ``start``: the
    error at epoch 0, chance); None if it never does."""
    before = start
    for epoch, error in enumerate(errors, start=1):
        if error <= target:
            return epoch - 1 + (before - target) / (before - error) if before > error else float(epoch)
        before = error
    return None


def train_until(run, key: str, net: nn.Module, data, *, lr: float, seed: int, cap: int, chunk: int, recipe: dict):
    """Train ``net`` in runs of ``chunk`` epochs (keys ``<key>/part1``, ``/part2``, ...) until its training error
    reaches :data:`TARGET` or ``cap`` epochs are done. Each part continues from the weights the last one left,
    with a fresh momentum buffer and its own data order (``seed * 100 + part``). Returns the training error of
    every epoch and the last part's History."""
    errors, part, history = [], 0, None
    while len(errors) < cap and epochs_to(errors) is None:
        part += 1
        history = run.fit(f"{key}/part{part}", net, data, epochs=min(chunk, cap - len(errors)), lr=lr,
                          seed=seed * 100 + part, **recipe)
        errors += [1 - row["train_acc"] for row in history.rows]
        if history.meta.get("stopped"):
            break
    return errors, history


@experiment("02", "relu_vs_tanh", minutes=35)
def relu_vs_tanh(run):
    """Krizhevsky et al.'s Figure 1: epochs to 25% training error, ReLU against tanh, each at its fastest learning rate."""
    data = cifar.load("cifar10", train_size=run.scaled(full=None, long=10_000, quick=2_000, smoke=256),
                      val_size=run.scaled(full=5_000, long=1_000, quick=500, smoke=128),
                      test_size=run.scaled(full=None, long=None, quick=1_000, smoke=256))
    settings = run.scaled(full=list(SETTINGS), long=list(SETTINGS), quick=list(SETTINGS), smoke=["cuda-convnet"])
    grids = {"cuda-convnet": run.scaled(full=GRIDS["cuda-convnet"], long=GRIDS["cuda-convnet"], quick=[0.003, 0.01],
                                        smoke=[0.001]),
             "pytorch": run.scaled(full=GRIDS["pytorch"], long=GRIDS["pytorch"], quick=[0.01, 0.03], smoke=[0.01])}
    search_epochs = run.scaled(full=3, long=4, quick=2, smoke=1)
    cap, chunk = run.scaled(full=(50, 5), long=(60, 5), quick=(16, 8), smoke=(1, 1))
    seeds = run.scaled(full=[0, 1, 2, 3, 4], long=[0, 1, 2], quick=[0, 1], smoke=[0])
    search_seed = 100
    recipe = dict(batch_size=128, optimizer="sgd", momentum=0.9, nesterov=False, schedule="constant",
                  weight_decay=0.0, augment=dict(crop=0, flip=False, cutout=0))
    probe = cifar.normalize(data.train.images[:500], data.mean, data.std)

    values = {"target": TARGET, "cap": cap, "search_epochs": search_epochs, "grid": grids, "seeds": seeds,
              "train_images": len(data.train.labels), "test_images": len(data.test.labels), "settings": {}}
    for setting in settings:
        found = values["settings"][setting] = {}
        for act in ACTIVATIONS:
            search = {}
            for lr in grids[setting]:
                torch.manual_seed(search_seed)
                history = run.fit(f"{setting}/{act}/search_lr{lr}", figure1_net(act, setting, data.std), data,
                                  epochs=search_epochs, lr=lr, seed=search_seed, **recipe)
                finished = not history.meta.get("stopped") and len(history.rows) == search_epochs
                search[str(lr)] = {"train_loss": history.rows[-1]["train_loss"] if finished else None,
                                   "train_error": 1 - history.rows[-1]["train_acc"] if finished else None}
            finished = {lr: s["train_loss"] for lr, s in search.items() if s["train_loss"] is not None}
            if not finished:
                raise RuntimeError(f"{setting}/{act}: every learning rate of {grids[setting]} diverged")
            lr = float(min(finished, key=finished.get))
            runs = {}
            for seed in seeds:
                torch.manual_seed(seed)
                net = figure1_net(act, setting, data.std)
                at_start = mean_slopes(net, probe)
                errors, history = train_until(run, f"{setting}/{act}/seed{seed}", net, data, lr=lr, seed=seed,
                                              cap=cap, chunk=chunk, recipe=recipe)
                runs[str(seed)] = {"train_error": errors, "epochs_to_target": epochs_to(errors),
                                   "test_accuracy": history.test["accuracy"] if history.test else None,
                                   "slopes_start": at_start, "slopes_end": mean_slopes(net.cpu(), probe),
                                   "stopped": history.meta.get("stopped")}
            found[act] = {"search": search, "lr": lr, "runs": runs}
    return values
