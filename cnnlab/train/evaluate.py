"""``evaluate()``: accuracy, loss, per-class accuracy and the confusion matrix of a model."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .losses import main_output

__all__ = ["Evaluation", "evaluate"]


@dataclass
class Evaluation:
    """``confusion[i, j]`` counts images of true class ``i`` predicted as class ``j``."""
    accuracy: float
    loss: float
    per_class: list[float]
    confusion: torch.Tensor
    predictions: torch.Tensor = field(repr=False)
    labels: torch.Tensor = field(repr=False)

    def __repr__(self) -> str:
        return f"Evaluation(accuracy={self.accuracy:.4f}, loss={self.loss:.4f}, images={len(self.labels)})"


def _test_loader(data_or_loader, device, batch_size):
    """A loader from ``data`` (its test split) or the loader itself."""
    if hasattr(data_or_loader, "test") and hasattr(data_or_loader.test, "images"):
        from ..data import DeviceLoader

        data = data_or_loader
        return DeviceLoader(data.test, batch_size, device, train=False, mean=data.mean, std=data.std)
    if hasattr(data_or_loader, "__iter__"):
        return data_or_loader
    raise ValueError(f"evaluate() expects a cnnlab Data (from cnnlab.data.load) or an iterable of (images, labels) "
                     f"batches, got {type(data_or_loader).__name__}")


@torch.no_grad()
def evaluate(model, data_or_loader, device=None, batch_size: int = 512, num_classes: int | None = None,
             autocast_dtype: torch.dtype | None = None) -> Evaluation:
    """Run ``model`` in eval mode over the test split; the first output counts when it returns several."""
    from ..session import get_device

    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else get_device()
    device = torch.device(device)
    loader = _test_loader(data_or_loader, device, batch_size)
    was_training = model.training
    model.eval()
    total_loss, predictions, labels = 0.0, [], []
    try:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None):
                logits = main_output(model(x)).float()
            if len(y) and int(y.max()) >= logits.shape[1]:
                raise ValueError(f"labels go up to {int(y.max())} but {type(model).__name__} outputs {logits.shape[1]} "
                                 "classes: evaluate it on data with as many classes as it was built for "
                                 "(num_classes=data.num_classes)")
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            predictions.append(logits.argmax(1).cpu())
            labels.append(y.cpu())
            num_classes = num_classes or logits.shape[1]
    finally:
        model.train(was_training)
    if not labels:
        raise ValueError("evaluate() got an empty loader: no test images")
    predictions, labels = torch.cat(predictions), torch.cat(labels)
    confusion = torch.bincount(labels * num_classes + predictions, minlength=num_classes ** 2)
    confusion = confusion.reshape(num_classes, num_classes)
    per_class = (confusion.diag().float() / confusion.sum(1).clamp_min(1).float()).tolist()
    return Evaluation(accuracy=(predictions == labels).float().mean().item(), loss=total_loss / len(labels),
                      per_class=per_class, confusion=confusion, predictions=predictions, labels=labels)
