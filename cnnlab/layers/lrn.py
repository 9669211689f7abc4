"""Local response normalization as AlexNet [krizhevsky2012imagenet] writes it.

The paper divides each activation by a sum over ``size`` neighbouring channels::

    b = a / (k + alpha * sum_{neighbours} a^2) ** beta      (k=2, n=5, alpha=1e-4, beta=0.75)

``torch.nn.LocalResponseNorm`` averages instead of summing (it uses ``alpha / size``), so the same
numbers passed to it normalize ``size`` times less. :class:`PaperLRN` passes ``alpha * size``,
so its ``alpha`` means what the paper's does.
"""
from torch import nn

__all__ = ["PaperLRN"]


class PaperLRN(nn.LocalResponseNorm):
    """``nn.LocalResponseNorm`` with the paper's alpha convention (sum, not mean, of squares)."""

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        if size < 1 or alpha < 0 or beta < 0:
            raise ValueError(f"PaperLRN needs size >= 1, alpha >= 0, beta >= 0; got {size}, {alpha}, {beta}")
        super().__init__(size, alpha=alpha * size, beta=beta, k=k)
        self.paper_alpha = alpha

    def extra_repr(self) -> str:
        return f"size={self.size}, paper_alpha={self.paper_alpha}, beta={self.beta}, k={self.k}"
