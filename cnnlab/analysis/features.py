"""What a network has learned: first-layer filters, feature maps, activation maximization, its mistakes."""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["first_layer_filters", "feature_maps", "activation_maximization", "misclassified"]


def first_layer_filters(model: nn.Module) -> torch.Tensor:
    """Weights ``(C_out, C_in, k, k)`` of the first ``nn.Conv2d`` in ``model`` (a copy, detached)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.weight.detach().clone()
    raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer")


def _module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules:
        raise KeyError(f"no layer {name!r}; the layers are: {', '.join(n for n in modules if n)}")
    return modules[name]


def check_images(images: torch.Tensor) -> torch.Tensor:
    """``images`` shaped ``(N, 3, H, W)`` as float (uint8 is scaled to [0, 1]); anything else is refused."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a tensor shaped (N, 3, H, W), got {shape}")
    if images.dtype == torch.uint8:
        return images.float() / 255
    if not images.is_floating_point():
        raise ValueError(f"images must be float or uint8, got {images.dtype}")
    return images


def as_model_input(images: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """:func:`check_images`, moved to the device of ``model``'s parameters (results come back on the CPU)."""
    parameter = next(model.parameters(), None)
    return check_images(images).to(parameter.device if parameter is not None else "cpu")


def feature_maps(model: nn.Module, images: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
    """The outputs of the named ``layers`` for ``images`` (one eval forward pass with forward hooks)."""
    images = as_model_input(images, model)
    outputs: dict[str, torch.Tensor] = {}
    handles = [_module(model, name).register_forward_hook(
        lambda _m, _i, out, name=name: outputs.__setitem__(name, out.detach().cpu())) for name in layers]
    try:
        model.eval()
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    return {name: outputs[name] for name in layers}


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def activation_maximization(model: nn.Module, layer: str, channel: int, size: int = 32, steps: int = 64,
                            lr: float = 0.05, jitter: int = 2, tv_weight: float = 0.1,
                            seed: int = 0) -> tuple[torch.Tensor, list[float]]:
    """An input ``(3, size, size)`` that excites ``channel`` of ``layer``, by gradient ascent from noise
    [erhan2009visualizing]; random jitter and a total-variation penalty keep it smooth [olah2017feature].

    Returns the image and the mean activation of the channel after each step (on the unjittered image).
    The model's own ``.grad`` fields are left untouched.
    """
    target = _module(model, layer)
    generator = torch.Generator().manual_seed(seed)
    image = as_model_input(0.1 * torch.randn(1, 3, size, size, generator=generator), model).requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    captured: list[torch.Tensor] = []
    handle = target.register_forward_hook(lambda _m, _i, out: captured.append(out))
    history = []
    model.eval()
    try:
        for _ in range(steps):
            captured.clear()
            dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
            model(torch.roll(image, (dy, dx), dims=(2, 3)))
            out = captured[-1]
            if channel >= out.shape[1]:
                raise ValueError(f"layer {layer!r} has {out.shape[1]} channels, asked for channel {channel}")
            activation = out[0, channel].mean()
            loss = -activation + tv_weight * _total_variation(image)
            image.grad = torch.autograd.grad(loss, image)[0]  # only the image's gradient
            optimizer.step()
            with torch.no_grad():
                captured.clear()
                model(image)
                history.append(captured[-1][0, channel].mean().item())
    finally:
        handle.remove()
    return image.detach().cpu()[0], history


@torch.no_grad()
def misclassified(model: nn.Module, data, k: int = 16) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Up to ``k`` images that ``model`` gets wrong from ``data`` (an iterable of ``(images, labels)``
    batches): ``(images, true_labels, predicted_labels)``."""
    model.eval()
    found_images, found_true, found_pred = [], [], []
    count = 0
    for images, labels in data:
        predicted = model(as_model_input(images, model)).argmax(1).cpu()
        wrong = predicted != labels
        found_images.append(images[wrong])
        found_true.append(labels[wrong])
        found_pred.append(predicted[wrong])
        count += int(wrong.sum())
        if count >= k:
            break
    if not found_images:
        raise ValueError("data yielded no batches")
    return (torch.cat(found_images)[:k], torch.cat(found_true)[:k], torch.cat(found_pred)[:k])
