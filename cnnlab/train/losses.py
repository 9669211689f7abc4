"""Losses of the training loop: classification (with auxiliary outputs) and knowledge distillation.

* Label smoothing [szegedy2016rethinking] is ``F.cross_entropy(..., label_smoothing=eps)``.
* Soft targets (from MixUp [zhang2018mixup] / CutMix [yun2019cutmix]) are class-probability rows,
  which ``F.cross_entropy`` accepts directly.
* Knowledge distillation [hinton2015distilling] is written by hand below, as the course teaches it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["AUX_WEIGHT", "main_output", "classification_loss", "distillation_loss"]

AUX_WEIGHT = 0.3
"""Weight of each auxiliary output, as GoogLeNet's auxiliary classifiers [szegedy2015going]."""


def main_output(outputs):
    """The main logits: ``outputs`` itself, or its first element when the model returns several."""
    if isinstance(outputs, (tuple, list)):
        if len(outputs) == 0:
            raise ValueError("the model returned an empty tuple/list; expected logits or (main, aux, ...)")
        return outputs[0]
    return outputs


def classification_loss(outputs, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the main output, plus ``AUX_WEIGHT`` x cross-entropy of every other output.

    Convention: a model that returns a tuple/list puts its main output first (GoogLeNet's auxiliary
    heads, MSDNet's exits come after it). Chapters with another rule pass ``loss_fn`` to ``fit``.
    ``targets`` are class indices (N,) or class probabilities (N, C).
    """
    if isinstance(outputs, (tuple, list)):
        main, *aux = outputs
        loss = F.cross_entropy(main, targets, label_smoothing=label_smoothing)
        for extra in aux:
            loss = loss + AUX_WEIGHT * F.cross_entropy(extra, targets, label_smoothing=label_smoothing)
        return loss
    return F.cross_entropy(outputs, targets, label_smoothing=label_smoothing)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                      temperature: float = 4.0, weight: float = 0.5, label_smoothing: float = 0.0) -> torch.Tensor:
    """Hinton et al.'s knowledge-distillation loss [hinton2015distilling].

    ``(1 - weight) * CE(student, targets) + weight * T^2 * KL(softmax(teacher/T) || softmax(student/T))``.
    The ``T^2`` keeps the soft term's gradients the same size whatever the temperature ``T``.
    """
    if temperature <= 0:
        raise ValueError(f"distill_temperature must be > 0, got {temperature}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"distill_weight must be in [0, 1], got {weight}")
    hard = F.cross_entropy(student_logits, targets, label_smoothing=label_smoothing)
    soft_teacher = F.softmax(teacher_logits.float() / temperature, dim=1)
    log_student = F.log_softmax(student_logits.float() / temperature, dim=1)
    soft = F.kl_div(log_student, soft_teacher, reduction="batchmean") * temperature ** 2
    return (1.0 - weight) * hard + weight * soft
