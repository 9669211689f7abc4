"""Regularizers made visible: which pixels dropout, DropBlock, Cutout and Random Erasing remove, mixup and
CutMix samples, what Shake-Shake, stochastic depth, ShakeDrop and Swapout do to a residual unit, label
smoothing's penultimate-layer clusters, and the gradient-to-weight ratios that adaptive gradient clipping
(AGC) looks at."""
from __future__ import annotations

import math
from contextlib import contextmanager
from types import SimpleNamespace

import torch
import torch.nn as nn
from torchvision.ops import drop_block2d, stochastic_depth
from torchvision.transforms import v2

from ..data.loader import DeviceLoader
from ..data.mix import MIX_MODES, mix_batch
from ..layers.regularizers import ShakeDrop, ShakeShake, Swapout
from ..train.agc import unitwise_norm
from .features import as_model_input, check_images

__all__ = ["regularizer_masks", "unitwise_ratios", "mixed_samples", "shake_shake_mix", "residual_branch_mix",
           "BRANCH_REGULARIZERS", "penultimate_projection", "logit_gaps", "optimal_logit_gap"]

BRANCH_REGULARIZERS = ("stochastic_depth", "shakedrop", "swapout")


@contextmanager
def _seeded(seed: int):
    """Seed torch's global generator (torchvision's transforms draw from it), restoring the caller's after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def regularizer_masks(images: torch.Tensor, p: float = 0.25, block_size: int = 7,
                      seed: int = 0) -> dict[str, torch.Tensor]:
    """Keep-masks ``(N, H, W)`` (1 kept, 0 dropped) of four regularizers at drop probability ``p``:
    ``dropout`` (independent pixels) [srivastava2014dropout], ``dropblock`` (squares of an odd
    ``block_size``, torchvision's ``drop_block2d``) [ghiasi2018dropblock], ``cutout`` (one ``block_size``
    square per image, centred anywhere, so it may leave the image as in the paper's code: made by the
    training loader's own :meth:`cnnlab.data.DeviceLoader.augment`) [devries2017improved] and
    ``random_erasing`` (torchvision ``v2.RandomErasing``, one rectangle of area share ``p``) [zhong2020random]."""
    images = check_images(images)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    n, _, h, w = images.shape
    if not 1 <= block_size <= min(h, w):
        raise ValueError(f"block_size must lie in [1, {min(h, w)}], got {block_size!r}")
    if block_size % 2 == 0:
        raise ValueError(f"block_size must be odd (torchvision's drop_block2d), got {block_size}")
    with _seeded(seed):
        ones = torch.ones(n, 1, h, w)
        dropout = (torch.rand(n, h, w) >= p).float()
        dropblock = (drop_block2d(ones, p, block_size, inplace=False, training=True) > 0).float()[:, 0]
        cutout = _loader_cutout(n, h, w, block_size, seed)
        erase = v2.RandomErasing(p=1.0, scale=(p, p), value=0)
        erased = torch.stack([erase(ones[i])[0] for i in range(n)]) if p > 0 else torch.ones(n, h, w)
    return {"dropout": dropout, "dropblock": dropblock, "cutout": cutout, "random_erasing": erased}


def _loader_cutout(n: int, h: int, w: int, size: int, seed: int) -> torch.Tensor:
    """Keep-masks ``(n, h, w)`` of the Cutout that training applies: the loader's own ``augment`` on ones."""
    blank = SimpleNamespace(images=torch.zeros(n, 1, h, w, dtype=torch.uint8), labels=torch.zeros(n, dtype=torch.long))
    loader = DeviceLoader(blank, n, "cpu", train=True, crop=0, flip=False, cutout=size, mean=(0.0,), std=(1.0,),
                          seed=seed)
    return loader.augment(torch.ones(n, 1, h, w))[:, 0]


def unitwise_ratios(model: nn.Module) -> dict[str, torch.Tensor]:
    """``||G_i|| / max(||W_i||, 1e-3)`` per output unit ``i`` of every weight with a gradient, the quantity
    AGC clips [brock2021high] (unit = row of a linear weight, output filter of a conv; the norm is
    :func:`cnnlab.train.agc.unitwise_norm`, AGC's own). Call after ``backward()``."""
    ratios = {}
    for name, param in model.named_parameters():
        if param.grad is None or param.dim() < 2:
            continue
        weight_norm = unitwise_norm(param.detach()).flatten()
        grad_norm = unitwise_norm(param.grad.detach()).flatten()
        ratios[name] = grad_norm / weight_norm.clamp_min(1e-3)
    if not ratios:
        raise ValueError("no weight has a gradient; run loss.backward() first")
    return ratios


def mixed_samples(images: torch.Tensor, labels: torch.Tensor, num_classes: int, method: str = "mixup",
                  alpha: float = 1.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch mixed as ``fit(mix=method)`` mixes it (:func:`cnnlab.data.mix_batch`: torchvision's
    ``v2.MixUp`` [zhang2018mixup] or ``v2.CutMix`` [yun2019cutmix], each image with its neighbour in the
    batch, weight λ ~ Beta(``alpha``, ``alpha``)) and the soft labels ``(N, num_classes)`` that go with it
    (each row sums to 1)."""
    images = check_images(images)
    if method not in MIX_MODES:
        raise ValueError(f"method must be one of {', '.join(MIX_MODES)}, got {method!r}")
    with _seeded(seed):
        return mix_batch(images, labels, num_classes, method, alpha)


def shake_shake_mix(a: torch.Tensor, b: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two branch outputs ``a``, ``b`` (same shape, batch first) mixed by :class:`cnnlab.layers.ShakeShake`
    in training mode, ``α a + (1 - α) b`` with one α ~ U(0, 1) per image [gastaldi2017shake], and the α
    drawn, shaped ``(N,)``. α is read off by mixing ones with zeros under the same seed."""
    if a.shape != b.shape or a.dim() < 1:
        raise ValueError(f"a and b must be batches of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    shake = ShakeShake().train()
    with _seeded(seed):
        mixed = shake(a, b)
    with _seeded(seed):
        alpha = shake(torch.ones_like(a), torch.zeros_like(b))
    return mixed, alpha.flatten(1)[:, 0]


def residual_branch_mix(x: torch.Tensor, fx: torch.Tensor, method: str = "stochastic_depth", p: float = 0.5,
                        seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The output of a residual unit, identity ``x`` plus branch ``fx`` (same shape, batch first), whose
    branch ``method`` regularizes in training mode at drop probability ``p``, and per image the factor its
    branch got (read off, as for Shake-Shake, by a run on zeros and ones under the same seed):

    - ``stochastic_depth``: ``x + b fx / (1 - p)``, b ~ Bernoulli(1 - p) per image (torchvision's
      ``stochastic_depth``) [huang2016deep]; factor 0 or 1/(1 - p);
    - ``shakedrop``: ``x + (b + α - bα) fx`` with :class:`cnnlab.layers.ShakeDrop` (survival 1 - p)
      [yamada2019shakedrop]; factor 1 or α ~ U[-1, 1];
    - ``swapout``: ``Θ1 ⊙ x + Θ2 ⊙ fx`` with :class:`cnnlab.layers.Swapout` (both keep probabilities
      1 - p) [singh2016swapout]; factor: the share of the branch's units kept.
    """
    if x.shape != fx.shape or x.dim() < 1:
        raise ValueError(f"x and fx must be batches of the same shape, got {tuple(x.shape)} and {tuple(fx.shape)}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must lie in [0, 1), got {p!r}")
    if method == "stochastic_depth":
        def unit(identity, branch):
            return identity + stochastic_depth(branch, p, "row", training=True)
    elif method == "shakedrop":
        shakedrop = ShakeDrop(p_survive=1 - p).train()

        def unit(identity, branch):
            return identity + shakedrop(branch)
    elif method == "swapout":
        unit = Swapout(p_identity=1 - p, p_residual=1 - p).train()
    else:
        raise ValueError(f"method must be one of {', '.join(BRANCH_REGULARIZERS)}, got {method!r}")
    with _seeded(seed):
        out = unit(x, fx)
    with _seeded(seed):
        factor = unit(torch.zeros_like(x), torch.ones_like(fx))
    return out, factor.flatten(1).mean(1)


def _last_linear(model: nn.Module) -> str:
    names = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no nn.Linear classifier; pass layer=")
    return names[-1]


@torch.no_grad()
def penultimate_projection(model: nn.Module, data, classes: tuple[int, int, int] = (0, 1, 2),
                           layer: str | None = None, per_class: int = 100) -> dict[str, torch.Tensor]:
    """Penultimate-layer activations of three ``classes`` projected onto the plane through their templates
    (the classifier rows ``w_k``), as in Fig. 1 of [muller2019does]: label smoothing pulls each class into a
    tight cluster at equal distance from the others.

    ``data``: an iterable of ``(images, labels)`` batches; ``layer``: the name of the classifier
    ``nn.Linear`` (default: the last one), whose input is the penultimate activation. Returns ``points``
    ``(M, 2)``, their ``labels`` ``(M,)``, the three ``templates`` ``(3, 2)`` (origin: their centroid) and
    the ``classes`` they belong to.
    """
    if len(classes) != 3 or len(set(classes)) != 3:
        raise ValueError(f"classes must be three different class indices, got {classes!r}")
    layer = layer or _last_linear(model)
    modules = dict(model.named_modules())
    if layer not in modules or not isinstance(modules[layer], nn.Linear):
        linears = [n for n, m in modules.items() if isinstance(m, nn.Linear)]
        raise KeyError(f"no nn.Linear layer {layer!r}; the linear layers are: {', '.join(linears)}")
    classifier = modules[layer]
    if max(classes) >= classifier.out_features or min(classes) < 0:
        raise ValueError(f"classes must lie in [0, {classifier.out_features - 1}], got {classes!r}")
    captured: list[torch.Tensor] = []
    handle = classifier.register_forward_pre_hook(lambda _m, inputs: captured.append(inputs[0].detach()))
    wanted = torch.tensor(classes)
    features, labels = [], []
    model.eval()
    try:
        for images, targets in data:
            captured.clear()
            model(as_model_input(images, model))
            keep = torch.isin(targets, wanted)
            features.append(captured[-1].cpu()[keep].flatten(1))
            labels.append(targets[keep])
            if all((torch.cat(labels) == c).sum() >= per_class for c in classes):
                break
    finally:
        handle.remove()
    if not features:
        raise ValueError("data yielded no batches")
    features, labels = torch.cat(features), torch.cat(labels)
    chosen = torch.cat([torch.nonzero(labels == c)[:per_class, 0] for c in classes])
    templates = classifier.weight.detach().cpu()[wanted]
    origin = templates.mean(0)
    basis, _ = torch.linalg.qr((templates[1:] - templates[0]).T)  # orthonormal basis (D, 2) of the plane
    return {"points": (features[chosen] - origin) @ basis, "labels": labels[chosen],
            "templates": (templates - origin) @ basis, "classes": wanted}


@torch.no_grad()
def logit_gaps(model: nn.Module, data) -> torch.Tensor:
    """For every image of ``data`` (an iterable of ``(images, labels)`` batches): its true class's logit
    minus the mean of the other logits. Label smoothing keeps this gap near :func:`optimal_logit_gap`;
    a one-hot target lets it grow without bound [muller2019does]."""
    model.eval()
    gaps = []
    for images, labels in data:
        logits = model(as_model_input(images, model)).cpu()
        true = logits.gather(1, labels[:, None])[:, 0]
        others = (logits.sum(1) - true) / (logits.shape[1] - 1)
        gaps.append(true - others)
    if not gaps:
        raise ValueError("data yielded no batches")
    return torch.cat(gaps)


def optimal_logit_gap(smoothing: float, num_classes: int) -> float:
    """The gap ``z_true - z_other`` whose softmax equals the smoothed target ``1 - ε + ε/K`` for the true
    class and ``ε/K`` for each other: ``log(1 + K (1 - ε) / ε)`` (infinite for ``ε = 0``)."""
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"smoothing must lie in [0, 1], got {smoothing!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")
    if smoothing == 0:
        return math.inf
    return math.log1p(num_classes * (1 - smoothing) / smoothing)
