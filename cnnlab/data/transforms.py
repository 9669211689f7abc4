"""The second input path: torchvision ``transforms.v2`` pipelines through a ``DataLoader``.

Policies such as AutoAugment [cubuk2019autoaugment] and RandAugment [cubuk2020randaugment] work on
single images on the CPU, so the chapters that study them use this path (and it is the "textbook
loop" the benchmark compares :class:`~cnnlab.data.DeviceLoader` with). Random Erasing
[zhong2020random] comes after normalization, as torchvision expects.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

__all__ = ["POLICIES", "train_transform", "TransformLoader", "transform_loader"]

POLICIES = (None, "autoaugment", "randaugment")


def train_transform(mean, std, policy: str | None = None, erasing: float = 0.0, crop: int = 4,
                    flip: bool = True) -> v2.Compose:
    """The per-image pipeline: crop (reflect padding), flip, policy, to float, normalize, erasing."""
    if policy not in POLICIES:
        raise ValueError(f"unknown augmentation policy {policy!r}: expected one of {POLICIES}")
    if not 0.0 <= erasing <= 1.0:
        raise ValueError(f"erasing is a probability in [0, 1], got {erasing}")
    steps = []
    if crop:
        steps.append(v2.RandomCrop(32, padding=crop, padding_mode="reflect"))
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    if policy == "autoaugment":
        steps.append(v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10))
    elif policy == "randaugment":
        steps.append(v2.RandAugment())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]
    if erasing:
        steps.append(v2.RandomErasing(p=erasing))
    return v2.Compose(steps)


class _Transformed(Dataset):
    def __init__(self, split, transform):
        self.images, self.labels, self.transform = split.images, split.labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


class TransformLoader:
    """Iterates ``(x, y)`` on ``device`` from a DataLoader over CPU-transformed images."""

    def __init__(self, loader: DataLoader, device):
        self.loader, self.device = loader, torch.device(device)
        self.generator = loader.generator

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def transform_loader(split, batch_size: int, device=None, policy: str | None = None, erasing: float = 0.0,
                     mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), train: bool = True, num_workers: int = 0,
                     seed: int = 0) -> TransformLoader:
    """A loader of ``split`` through torchvision v2 transforms (test split: normalization only)."""
    from ..session import get_device

    device = torch.device(device) if device is not None else get_device()
    if train:
        transform = train_transform(mean, std, policy, erasing)
    else:
        transform = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))])
    loader = DataLoader(_Transformed(split, transform), batch_size=batch_size, shuffle=train, drop_last=train,
                        num_workers=num_workers, generator=torch.Generator().manual_seed(seed),
                        pin_memory=device.type == "cuda")
    return TransformLoader(loader, device)
