"""The device-resident loader: the whole split sits on the device as uint8, augmented there in batch.

A textbook PyTorch loop decodes, crops and flips every image on the CPU, one at a time, and copies each
batch to the GPU. Here the dataset (50,000 CIFAR images are 150 MB as uint8) is copied to the device
once; every epoch draws a permutation, and each batch is cropped (4-pixel reflect padding), flipped and
optionally cut out [devries2017improved] *per sample but for the whole batch at once* with tensor
indexing: no Python loop over images, no worker processes. ``python -m cnnlab.bench`` measures the gain.

All randomness comes from ``loader.generator`` (a CPU ``torch.Generator`` seeded with ``seed``): the same
seed gives the same batches, and ``cnnlab.train.fit`` saves its state in checkpoints so a resumed run
sees the very batches the uninterrupted one would have seen.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["DeviceLoader", "loaders", "normalize"]


def normalize(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 images (N x 3 x H x W, 0..255) to float, standardized per channel (``mean``/``std`` in [0, 1] units)."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != len(mean):
        raise ValueError(f"normalize expects uint8 images of shape (N, {len(mean)}, H, W), "
                         f"got {tuple(images.shape)} {images.dtype}")
    mean = torch.as_tensor(mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255 - mean) / std


class DeviceLoader:
    """Batches ``(x, y)`` of a split, with the images kept on ``device``.

    ``train=True`` shuffles every epoch and augments: random crop after ``crop``-pixel reflect padding,
    horizontal flip with probability 1/2 (``flip``), and Cutout of a ``cutout`` x ``cutout`` square
    [devries2017improved] (0 = off). Cutout is applied after normalization and fills with 0, i.e. the
    dataset mean, as in the paper's code. ``train=False`` keeps the order and does not augment.
    """

    def __init__(self, split, batch_size: int, device=None, train: bool = True, crop: int = 4, flip: bool = True,
                 cutout: int = 0, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), channels_last: bool = False,
                 drop_last: bool | None = None, seed: int = 0):
        images, labels = split.images, split.labels
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"DeviceLoader expects uint8 images (N, C, H, W), got {tuple(images.shape)} {images.dtype}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        size = min(images.shape[-2:])
        if not 0 <= crop < size:
            raise ValueError(f"crop padding must be in [0, {size}), got {crop}")
        if not 0 <= cutout <= size:
            raise ValueError(f"cutout side must be in [0, {size}] pixels, got {cutout}")
        from ..session import get_device

        self.device = torch.device(device) if device is not None else get_device()
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size, self.train = batch_size, train
        self.crop, self.flip, self.cutout = crop, flip, cutout
        self.mean, self.std = tuple(mean), tuple(std)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.drop_last = train if drop_last is None else drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.train else torch.arange(n)
        order = order.to(self.device)
        for i in range(len(self)):
            index = order[i * self.batch_size:(i + 1) * self.batch_size]
            x = normalize(self.images[index], self.mean, self.std)
            if self.train:
                x = self.augment(x)
            yield x.contiguous(memory_format=self.memory_format), self.labels[index]

    def _random(self, high, size) -> torch.Tensor:
        """Integers in [0, high) drawn from the loader's generator, then moved to the device."""
        return torch.randint(0, high, size, generator=self.generator).to(self.device)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """Crop, flip and cut out a normalized batch, each image with its own random numbers."""
        b, _, h, w = x.shape
        if self.crop:
            p = self.crop
            padded = F.pad(x, (p, p, p, p), mode="reflect")
            dy, dx = self._random(2 * p + 1, (b,)), self._random(2 * p + 1, (b,))
            rows = (dy[:, None] + torch.arange(h, device=self.device))[:, None, :, None]
            cols = (dx[:, None] + torch.arange(w, device=self.device))[:, None, None, :]
            x = padded[torch.arange(b, device=self.device)[:, None, None, None],
                       torch.arange(x.shape[1], device=self.device)[None, :, None, None], rows, cols]
        if self.flip:
            flipped = self._random(2, (b,)).bool().view(b, 1, 1, 1)
            x = torch.where(flipped, x.flip(3), x)
        if self.cutout:
            cy, cx = self._random(h, (b, 1, 1)), self._random(w, (b, 1, 1))
            top, left = cy - self.cutout // 2, cx - self.cutout // 2  # the square may leave the image
            ys = torch.arange(h, device=self.device).view(1, h, 1)
            xs = torch.arange(w, device=self.device).view(1, 1, w)
            hole = (ys >= top) & (ys < top + self.cutout) & (xs >= left) & (xs < left + self.cutout)
            x = x.masked_fill(hole.unsqueeze(1), 0.0)
        return x


def loaders(data, batch_size: int = 128, device=None, seed: int = 0, **augment) -> tuple[DeviceLoader, DeviceLoader]:
    """``(train_loader, test_loader)`` of a :class:`cnnlab.data.Data`; ``augment``: crop, flip, cutout, channels_last."""
    train = DeviceLoader(data.train, batch_size, device, train=True, mean=data.mean, std=data.std, seed=seed, **augment)
    test = DeviceLoader(data.test, batch_size, device, train=False, mean=data.mean, std=data.std,
                        channels_last=augment.get("channels_last", False))
    return train, test
