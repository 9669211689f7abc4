"""Regularizers that act on residual branches: stochastic in training, their expectation in eval.

- :func:`survival_probabilities`: the linear decay rule of stochastic depth [huang2016deep], the one
  schedule every model with stochastic depth or ShakeDrop uses (ResNet, PyramidNet, EfficientNet,
  NFNet); the drop itself is ``torchvision.ops.StochasticDepth`` (used by :mod:`cnnlab.layers.residual`).
- :class:`Swapout` [singh2016swapout]: ``y = Θ1 ⊙ x + Θ2 ⊙ F(x)`` with per-unit Bernoulli masks.
- :class:`ShakeShake` [gastaldi2017shake]: mixes two branches with α ~ U(0,1) forward and an
  independent β ~ U(0,1) backward, per image.
- :class:`ShakeDrop` [yamada2019shakedrop]: scales one branch by ``b + α - bα`` forward and
  ``b + β - bβ`` backward, with b ~ Bernoulli(p), α ~ U[-1,1], β ~ U[0,1], per image.
- ``DropBlock2d`` is torchvision's (``torchvision.ops.DropBlock2d``), used as it is.

Each is a leaf module whose eval output is deterministic, so models stay traceable by torch.fx.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.ops import DropBlock2d

__all__ = ["survival_probabilities", "drop_probabilities", "Swapout", "ShakeShake", "ShakeDrop", "DropBlock2d"]


def survival_probabilities(n_blocks: int, p_last: float = 0.5) -> list[float]:
    """Survival probability of each of ``n_blocks`` blocks: 1 - l/L (1 - p_last) [huang2016deep] Eq. 4.

    Block l = 1..L survives with that probability, so the last block survives with ``p_last`` and
    the drop probability grows linearly from (1 - p_last)/L at the first block.
    """
    if not isinstance(n_blocks, int) or n_blocks < 1:
        raise ValueError(f"n_blocks must be a positive integer, got {n_blocks!r}")
    if not 0.0 < p_last <= 1.0:
        raise ValueError(f"p_last must lie in (0, 1], got {p_last!r}")
    return [1.0 - (l / n_blocks) * (1.0 - p_last) for l in range(1, n_blocks + 1)]


def drop_probabilities(n_blocks: int, drop_last: float) -> list[float]:
    """The same rule as drop probabilities: block l of L drops with l/L * ``drop_last``."""
    if not 0.0 <= drop_last < 1.0:
        raise ValueError(f"the drop probability of the last block must lie in [0, 1), got {drop_last!r}")
    return [1.0 - p for p in survival_probabilities(n_blocks, p_last=1.0 - drop_last)]


def _check_probability(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {p!r}")


class Swapout(nn.Module):
    """Combine identity ``x`` and residual ``fx`` as Θ1⊙x + Θ2⊙fx with per-unit Bernoulli masks.

    Θ1 ~ Bernoulli(``p_identity``) and Θ2 ~ Bernoulli(``p_residual``), drawn independently for every
    unit in training; eval uses their expectations ``p_identity * x + p_residual * fx`` (the
    deterministic inference of [singh2016swapout]; the paper also reports averaging many samples).
    """

    def __init__(self, p_identity: float = 0.5, p_residual: float = 0.5):
        super().__init__()
        _check_probability("p_identity", p_identity)
        _check_probability("p_residual", p_residual)
        self.p_identity, self.p_residual = p_identity, p_residual

    def forward(self, x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.p_identity * x + self.p_residual * fx
        theta1 = torch.bernoulli(torch.full_like(x, self.p_identity))
        theta2 = torch.bernoulli(torch.full_like(fx, self.p_residual))
        return theta1 * x + theta2 * fx


def _per_image(reference: torch.Tensor, low: float, high: float) -> torch.Tensor:
    shape = (reference.shape[0],) + (1,) * (reference.dim() - 1)
    return torch.empty(shape, dtype=reference.dtype, device=reference.device).uniform_(low, high)


class _ShakeShakeMix(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        alpha = _per_image(a, 0.0, 1.0)
        return alpha * a + (1 - alpha) * b

    @staticmethod
    def backward(ctx, grad):
        beta = _per_image(grad, 0.0, 1.0)
        return beta * grad, (1 - beta) * grad


class ShakeShake(nn.Module):
    """Mix two residual branches: α a + (1-α) b forward, gradients β and 1-β backward; eval 0.5/0.5."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return 0.5 * (a + b)
        return _ShakeShakeMix.apply(a, b)


class _ShakeDropScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p_survive, alpha_range):
        gate = torch.bernoulli(_per_image(x, 0.0, 1.0).fill_(p_survive)).bool()
        ctx.save_for_backward(gate)
        return x * torch.where(gate, 1.0, _per_image(x, *alpha_range))  # = b + α - bα

    @staticmethod
    def backward(ctx, grad):
        (gate,) = ctx.saved_tensors
        beta = _per_image(grad, 0.0, 1.0)
        return grad * torch.where(gate, 1.0, beta), None, None


class ShakeDrop(nn.Module):
    """Scale a residual branch by b + α - bα (forward) and b + β - bβ (backward), per image.

    b ~ Bernoulli(``p_survive``) keeps the branch as it is; otherwise it is multiplied by α ~
    U(``alpha_range``) forward and β ~ U[0, 1] backward. Eval multiplies by the expectation
    p + (1 - p) E[α] [yamada2019shakedrop].
    """

    def __init__(self, p_survive: float = 0.5, alpha_range: tuple[float, float] = (-1.0, 1.0)):
        super().__init__()
        _check_probability("p_survive", p_survive)
        if alpha_range[0] > alpha_range[1]:
            raise ValueError(f"alpha_range must be (low, high) with low <= high, got {alpha_range!r}")
        self.p_survive, self.alpha_range = p_survive, tuple(alpha_range)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            mean_alpha = sum(self.alpha_range) / 2
            return x * (self.p_survive + (1 - self.p_survive) * mean_alpha)
        return _ShakeDropScale.apply(x, self.p_survive, self.alpha_range)
