"""The pieces of the original LeNet-5 [lecun1998gradient] that modern code leaves out.

* :class:`ScaledTanh`: the squashing function f(a) = 1.7159 tanh(2a/3) (paper, Appendix A).
* :class:`TrainableSubsampling`: S2/S4: the sum of each 2x2 block, times one trainable coefficient,
  plus one trainable bias, per map (2 parameters per map).
* :class:`PartialConv`: C3: each output map sees only the input maps its row of the connection
  table names (paper, Table I), so the maps learn different features and the layer is cheaper.
* :class:`EuclideanRBF`: the output layer: each class unit measures the squared distance of F6 to a
  fixed code of +-1 values.
* :func:`rbf_loss`: the paper's training criterion for those units (its eq. 9).
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ScaledTanh", "TrainableSubsampling", "PartialConv", "EuclideanRBF", "LENET5_C3_TABLE", "rbf_codes",
           "rbf_loss"]

# Table I of [lecun1998gradient]: for each of the 16 C3 maps, the S2 maps it is connected to.
LENET5_C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class ScaledTanh(nn.Module):
    """f(a) = 1.7159 tanh(2a/3): f(1) = 1 and f(-1) = -1, with the largest gain near the origin."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class TrainableSubsampling(nn.Module):
    """Sum over non-overlapping 2x2 blocks, times a trainable coefficient, plus a trainable bias."""

    def __init__(self, channels: int, size: int = 2):
        super().__init__()
        if channels < 1 or size < 1:
            raise ValueError(f"channels and size must be positive, got {channels}, {size}")
        self.size = size
        self.coefficient = nn.Parameter(torch.full((channels,), 1.0 / size ** 2))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block_sum = F.avg_pool2d(x, self.size) * self.size ** 2
        return block_sum * self.coefficient.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv(nn.Module):
    """A convolution whose output map j sees only the input maps ``table[j]`` (one conv per map)."""

    def __init__(self, in_channels: int, table, kernel_size: int = 5):
        super().__init__()
        for j, inputs in enumerate(table):
            if not inputs or any(not 0 <= i < in_channels for i in inputs) or len(set(inputs)) != len(inputs):
                raise ValueError(f"row {j} of the connection table, {inputs}, must name distinct input maps "
                                 f"in 0..{in_channels - 1}")
        self.table = tuple(tuple(row) for row in table)
        self.maps = nn.ModuleList(nn.Conv2d(len(row), 1, kernel_size) for row in self.table)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x[:, list(row)]) for conv, row in zip(self.maps, self.table)], dim=1)


def rbf_codes(num_classes: int, length: int = 84, seed: int = 0) -> torch.Tensor:
    """Deterministic +-1 codes, one row per class, drawn from a seeded Python RNG.

    The paper draws each class's code as a 7x12 bitmap of its ASCII character; we cannot
    reproduce those bitmaps, so we use random codes (far apart on average, like the paper's).
    """
    rng = random.Random(seed)
    return torch.tensor([[rng.choice((-1.0, 1.0)) for _ in range(length)] for _ in range(num_classes)])


class EuclideanRBF(nn.Module):
    """Output units y_i = sum_j (x_j - w_ij)^2 with FIXED codes w; returns -y_i as logits.

    Train it with :func:`rbf_loss`, the paper's criterion. Plain cross-entropy on these logits also
    trains (it is eq. 9 with the constant j dropped), but as the codes all have length sqrt(84) it equals
    a linear layer with fixed weights 2 w_i: logits that far apart make it keep F6 close to 0, where
    all codes are nearly equidistant, instead of at the +-1 codes.
    """

    def __init__(self, in_features: int, num_classes: int, seed: int = 0):
        super().__init__()
        self.register_buffer("codes", rbf_codes(num_classes, in_features, seed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -(x.unsqueeze(1) - self.codes.unsqueeze(0)).pow(2).sum(dim=2)


def rbf_loss(logits: torch.Tensor, targets: torch.Tensor, j: float = 1.0) -> torch.Tensor:
    """Eq. 9 of [lecun1998gradient], averaged over the batch: y_D + log(e^-j + sum_i e^-y_i).

    ``logits`` are :class:`EuclideanRBF`'s outputs -y_i, ``targets`` the correct classes D. The first term
    pulls F6 to the correct code; the second pushes the other distances up, but only once one of them is
    below about j, so far from every code the loss is the squared distance to the correct one (eq. 8).
    The paper calls j "a positive constant" without giving it; 1.0 is our choice.
    """
    if logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(f"rbf_loss needs logits (batch, classes) and targets (batch,), got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    if j <= 0:
        raise ValueError(f"j must be a positive constant (the paper's eq. 9), got {j}")
    correct = -logits.gather(1, targets.view(-1, 1)).squeeze(1)
    rejection = torch.full_like(correct, -j).unsqueeze(1)
    return (correct + torch.logsumexp(torch.cat([rejection, logits], dim=1), dim=1)).mean()
