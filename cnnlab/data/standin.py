"""The offline stand-in: CIFAR-shaped images drawn procedurally, for machines that cannot get CIFAR.

Each image is one object (a disk, a ring, a star, ...) of random position, size, rotation and colour on
a cluttered background: a colour gradient, a few distractor blobs and pixel noise. The class is the
shape, so a network must learn *where edges and corners are*, not which colour dominates; objects move
around, so convolution and pooling matter; the clutter keeps it from being trivial. Everything is drawn
in batch with torch from one seed: the same seed gives the same bytes on every machine.

``cifar100``'s stand-in has 100 classes: the 10 shapes times 10 named colours, where the colour is
part of the class (a "red star" is not a "blue star").

These are *not* CIFAR numbers: :func:`cnnlab.data.load` says so in a banner and in ``data.source``.
"""
from __future__ import annotations

import math

import torch

__all__ = ["SHAPES", "COLOURS", "standin_classes", "make_standin"]

SHAPES = ("disk", "ring", "square", "triangle", "cross", "star", "ellipse", "striped disk", "checker", "crescent")
COLOURS = {  # RGB in [0, 1]
    "red": (0.85, 0.15, 0.15), "orange": (0.95, 0.55, 0.1), "yellow": (0.95, 0.9, 0.2),
    "green": (0.2, 0.7, 0.25), "cyan": (0.2, 0.8, 0.85), "blue": (0.15, 0.3, 0.9),
    "purple": (0.55, 0.2, 0.75), "pink": (0.95, 0.55, 0.75), "white": (0.95, 0.95, 0.95),
    "black": (0.08, 0.08, 0.08),
}
SIZE = 32


def standin_classes(num_classes: int) -> list[str]:
    """Class names: the 10 shapes, or (for 100 classes) every colour-shape pair."""
    if num_classes == 10:
        return list(SHAPES)
    if num_classes == 100:
        return [f"{colour} {shape}" for shape in SHAPES for colour in COLOURS]
    raise ValueError(f"the stand-in has 10 or 100 classes (like CIFAR-10/100), got {num_classes}")


_INSIDE = {  # inside-the-shape tests in object coordinates u, v (the object spans about [-1, 1])
    "disk": lambda u, v, r, t: r < 1.0,
    "ring": lambda u, v, r, t: (r < 1.0) & (r > 0.55),
    "square": lambda u, v, r, t: torch.maximum(u.abs(), v.abs()) < 0.8,
    "triangle": lambda u, v, r, t: (v > -0.55) & (math.sqrt(3) * u.abs() + v < 0.95),
    "cross": lambda u, v, r, t: ((u.abs() < 0.28) & (v.abs() < 0.95)) | ((v.abs() < 0.28) & (u.abs() < 0.95)),
    "star": lambda u, v, r, t: r < 0.6 + 0.38 * torch.cos(5 * t),
    "ellipse": lambda u, v, r, t: u**2 + (v / 0.45) ** 2 < 1.0,
    "striped disk": lambda u, v, r, t: (r < 1.0) & (torch.sin(7 * u) > 0),
    "checker": lambda u, v, r, t: (torch.maximum(u.abs(), v.abs()) < 0.9)
    & ((torch.floor(2.2 * u) + torch.floor(2.2 * v)) % 2 == 0),
    "crescent": lambda u, v, r, t: (r < 1.0) & ((u - 0.5) ** 2 + v**2 > 0.75**2),
}


def _shape_masks(shape: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """For each image, the pixels inside its shape (``shape`` indexes :data:`SHAPES`)."""
    mask = torch.zeros(u.shape, dtype=torch.bool)
    for index, name in enumerate(SHAPES):
        chosen = shape == index
        su, sv = u[chosen], v[chosen]
        theta = torch.atan2(sv, su) if name == "star" else None
        mask[chosen] = _INSIDE[name](su, sv, torch.hypot(su, sv), theta)
    return mask


def make_standin(n: int, num_classes: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images (uint8, N x 3 x 32 x 32) and balanced labels (int64), deterministic in ``seed``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    standin_classes(num_classes)  # validates num_classes
    g = torch.Generator().manual_seed(int(seed))
    labels = torch.arange(n) % num_classes
    labels = labels[torch.randperm(n, generator=g)]
    shape = labels % 10 if num_classes == 10 else labels // 10

    def uniform(lo, hi, *size):
        return lo + (hi - lo) * torch.rand(*size, generator=g)

    # the object: radius 8..14 px, anywhere it fits, any rotation, aspect 0.82..1.22
    radius = uniform(8.0, 14.0, n)
    cy = uniform(0, 1, n) * (SIZE - 2 * radius) + radius - 0.5
    cx = uniform(0, 1, n) * (SIZE - 2 * radius) + radius - 0.5
    angle = uniform(0, 2 * math.pi, n)
    aspect = torch.exp(uniform(-0.2, 0.2, n))
    ys, xs = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32),
                            indexing="ij")
    dy = (ys - cy.view(-1, 1, 1)) / radius.view(-1, 1, 1)
    dx = (xs - cx.view(-1, 1, 1)) / radius.view(-1, 1, 1)
    cos, sin = torch.cos(angle).view(-1, 1, 1), torch.sin(angle).view(-1, 1, 1)
    u = (cos * dx + sin * dy) * aspect.view(-1, 1, 1)
    v = (-sin * dx + cos * dy) / aspect.view(-1, 1, 1)
    mask = _shape_masks(shape, u, v).unsqueeze(1)  # (N, 1, H, W)

    # colours: random for 10 classes; the class's named colour (jittered) for 100
    if num_classes == 10:
        fg = torch.rand(n, 3, generator=g)
    else:
        palette = torch.tensor(list(COLOURS.values()))
        fg = (palette[labels % 10] + uniform(-0.08, 0.08, n, 3)).clamp(0, 1)
    bg_a, bg_b = torch.rand(n, 3, generator=g), torch.rand(n, 3, generator=g)
    too_close = (fg - (bg_a + bg_b) / 2).norm(dim=1) < 0.45  # keep the object visible: flip the background
    bg_a[too_close], bg_b[too_close] = 1 - bg_a[too_close], 1 - bg_b[too_close]
    direction = uniform(0, 2 * math.pi, n).view(-1, 1, 1)
    ramp = ((torch.cos(direction) * xs + torch.sin(direction) * ys) / (SIZE * 1.42) + 0.5).unsqueeze(1)
    image = bg_a.view(-1, 3, 1, 1) * (1 - ramp) + bg_b.view(-1, 3, 1, 1) * ramp

    # clutter: two small blobs of random colours behind the object
    for _ in range(2):
        by, bx, br = uniform(0, SIZE, n, 1, 1), uniform(0, SIZE, n, 1, 1), uniform(1.5, 3.0, n, 1, 1)
        blob = ((ys - by).square() + (xs - bx).square() < br.square()).unsqueeze(1)
        image = torch.where(blob, torch.rand(n, 3, 1, 1, generator=g), image)

    shade = uniform(0.8, 1.1, n, 1, 1, 1)  # light falls unevenly on the object
    image = torch.where(mask, (fg.view(-1, 3, 1, 1) * shade).clamp(0, 1), image)
    image = image + 0.04 * torch.randn(image.shape, generator=g)
    return (image.clamp(0, 1) * 255).round().to(torch.uint8), labels
