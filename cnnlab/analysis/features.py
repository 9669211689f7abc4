"""What a network has learned: first-layer filters, feature maps, activation maximization, its mistakes."""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["first_layer_filters", "feature_maps", "activation_maximization", "misclassified", "input_channels"]


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


def input_channels(model: nn.Module) -> int:
    """How many channels ``model`` reads: its ``in_channels`` (cnnlab models), else its first conv's."""
    channels = getattr(model, "in_channels", None)
    if isinstance(channels, int):
        return channels
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    return 3


def check_images(images, channels: int = 3, name: str = "images") -> torch.Tensor:
    """``images`` shaped ``(N, channels, H, W)`` as float (uint8 is scaled to [0, 1]); anything else is refused."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor shaped (N, {channels}, H, W), got {type(images).__name__}; "
                        "convert an array with torch.as_tensor(array).permute(0, 3, 1, 2) if it is (N, H, W, C)")
    if images.dim() != 4 or images.shape[1] != channels:
        hint = (f"; it looks channels-last (N, H, W, C): use {name}.permute(0, 3, 1, 2)"
                if images.dim() == 4 and images.shape[-1] == channels else "")
        raise ValueError(f"{name} must be a tensor shaped (N, {channels}, H, W), got {tuple(images.shape)}{hint}")
    if len(images) == 0:
        raise ValueError(f"{name} is an empty batch (0 images); give at least one image")
    if images.dtype == torch.uint8:
        return images.float() / 255
    if not images.is_floating_point():
        raise TypeError(f"{name} must be float or uint8, got {images.dtype}")
    return images


def as_model_input(images: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """:func:`check_images` for ``model``'s channel count, moved to the device and dtype of its parameters
    (results come back on the CPU)."""
    parameter = next(model.parameters(), None)
    images = check_images(images, input_channels(model))
    if parameter is None:
        return images
    return images.to(device=parameter.device, dtype=parameter.dtype)


def feature_maps(model: nn.Module, images: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
    """The outputs of the named ``layers`` for ``images`` (one eval forward pass with forward hooks)."""
    if isinstance(layers, str) or not all(isinstance(name, str) for name in layers):
        raise TypeError(f"layers must be a list of layer names, e.g. [{layers!r}], got {layers!r}")
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
    """An input ``(C, size, size)`` (``C``: the model's input channels) that excites ``channel`` of
    ``layer``, by gradient ascent from noise [erhan2009visualizing]; random jitter and a total-variation
    penalty keep it smooth [olah2017feature].

    Returns the image and the mean activation of the channel after each step (on the unjittered image).
    The model's own ``.grad`` fields are left untouched.
    """
    for name, value, low in (("channel", channel, 0), ("steps", steps, 1), ("jitter", jitter, 0), ("size", size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    target = _module(model, layer)
    generator = torch.Generator().manual_seed(seed)
    noise = 0.1 * torch.randn(1, input_channels(model), size, size, generator=generator)
    image = as_model_input(noise, model).requires_grad_(True)
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
