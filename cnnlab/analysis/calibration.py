"""Calibration: does a classifier's confidence match how often it is right?

A network's *confidence* on an image is its largest softmax probability. It is *calibrated* when, among
the images it gives confidence 0.8, it is right on 80% of them. Guo et al. [guo2017calibration] found
modern deep networks over-confident, and measured it as we do here:

* the **reliability diagram**: the images are put in ``bins`` equal-width bins of confidence,
  ``((m-1)/M, m/M]``; for each bin the mean confidence is drawn against the accuracy (a calibrated
  network lies on the diagonal);
* the **expected calibration error** (ECE) [naeini2015obtaining]: the gap between accuracy and mean
  confidence in each bin, weighted by the share of images in the bin,
  ``ECE = sum_m |B_m| / n * |acc(B_m) - conf(B_m)|``.

Label smoothing [szegedy2016rethinking] is said to improve calibration [muller2019does]; chapter 04
measures it. The numbers go through JSON (a stored run keeps them): :meth:`Reliability.to_dict` and
:meth:`Reliability.from_dict`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .features import as_model_input

__all__ = ["Reliability", "reliability", "softmax_outputs"]


@dataclass(frozen=True)
class Reliability:
    """Per confidence bin: the number of images, their mean confidence and their accuracy (None where a bin
    is empty); ``bins`` equal-width bins over [0, 1]."""

    bins: int
    counts: tuple[int, ...]
    confidence: tuple[float | None, ...]
    accuracy: tuple[float | None, ...]

    @property
    def images(self) -> int:
        return sum(self.counts)

    @property
    def ece(self) -> float:
        """Expected calibration error: the count-weighted mean of |accuracy - confidence| over the bins."""
        return sum(n * abs(a - c) for n, c, a in zip(self.counts, self.confidence, self.accuracy) if n) / self.images

    @property
    def mean_confidence(self) -> float:
        return sum(n * c for n, c in zip(self.counts, self.confidence) if n) / self.images

    @property
    def overall_accuracy(self) -> float:
        return sum(n * a for n, a in zip(self.counts, self.accuracy) if n) / self.images

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict) -> "Reliability":
        try:
            return cls(int(state["bins"]), tuple(state["counts"]), tuple(state["confidence"]), tuple(state["accuracy"]))
        except KeyError as err:
            raise ValueError(f"not a Reliability: it lacks {err}") from None


def reliability(probabilities: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> Reliability:
    """Bin ``probabilities`` (N x K, rows summing to 1) by their largest entry and compare each bin's mean
    confidence with its accuracy against ``labels`` (N). 15 bins, as in [guo2017calibration]."""
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if probabilities.dim() != 2 or labels.shape != probabilities.shape[:1] or len(labels) == 0:
        raise ValueError(f"reliability needs probabilities of shape (N, classes) and N labels, N > 0; got "
                         f"{tuple(probabilities.shape)} and {tuple(labels.shape)}")
    sums = probabilities.sum(1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        raise ValueError("the rows of probabilities must sum to 1 (pass softmax outputs, not logits)")
    confidence, predicted = probabilities.float().max(1)
    correct = (predicted == labels).float()
    # bin m (1-based) holds confidences in ((m-1)/M, m/M]
    index = (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)
    counts = torch.bincount(index, minlength=bins)
    conf_sum = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, confidence.double())
    right = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, correct.double())
    mean = lambda total, n: float(total / n) if n else None  # noqa: E731
    return Reliability(bins, tuple(int(n) for n in counts),
                       tuple(mean(c, n) for c, n in zip(conf_sum.tolist(), counts.tolist())),
                       tuple(mean(r, n) for r, n in zip(right.tolist(), counts.tolist())))


@torch.no_grad()
def softmax_outputs(model: nn.Module, batches) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's softmax probabilities (on the CPU, float32) and the labels, over an iterable of
    ``(images, labels)`` batches (e.g. a ``DeviceLoader`` with ``train=False``); the model is put in eval mode."""
    model.eval()
    probabilities, labels = [], []
    for images, y in batches:
        probabilities.append(model(as_model_input(images, model)).float().softmax(1).cpu())
        labels.append(y.cpu())
    if not labels:
        raise ValueError("batches yielded nothing")
    return torch.cat(probabilities), torch.cat(labels)
