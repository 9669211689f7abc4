"""``TrainStep``: one step of ``fit``, forward -> loss -> backward -> update, with everything it needs.

Built from a :class:`~cnnlab.train.recipe.Recipe`: the optimizer, the learning-rate schedule (stepped
once per batch), mixed precision (``torch.amp``), MixUp/CutMix (:mod:`cnnlab.data.mix`), knowledge
distillation, adaptive gradient clipping and the EMA of the weights. ``fit`` calls it for every batch
and ``python -m cnnlab.bench`` times this very step.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.optim import lr_scheduler
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .agc import adaptive_clip_grad, agc_parameters
from .losses import classification_loss, distillation_loss, main_output
from .recipe import Recipe

__all__ = ["TrainStep", "NonFiniteLoss", "amp_setting", "memory_format"]


class NonFiniteLoss(ArithmeticError):
    """The loss of a batch is NaN or infinite; the step stopped before it changed the weights."""

    def __init__(self, loss: float):
        super().__init__(f"loss is {loss}")
        self.loss = loss


def amp_setting(amp, device: torch.device) -> tuple[bool, torch.dtype]:
    """Mixed precision on CUDA: bfloat16 where supported, else float16 (with a GradScaler)."""
    enabled = device.type == "cuda" if amp == "auto" else bool(amp)
    if enabled and device.type == "cuda":
        return True, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return enabled, torch.bfloat16


def memory_format(channels_last, device: torch.device) -> torch.memory_format:
    """Channels-last (NHWC) on CUDA for ``"auto"``, where its convolutions are faster; else as asked."""
    on = device.type == "cuda" if channels_last == "auto" else bool(channels_last)
    return torch.channels_last if on else torch.contiguous_format


class TrainStep:
    """``step(x, y) -> (loss, outputs)``: one optimizer step of ``model`` on the batch ``(x, y)``.

    ``num_classes`` is needed by ``recipe.mix``; ``teacher`` turns on distillation [hinton2015distilling];
    ``loss_fn(outputs, targets)`` replaces :func:`~cnnlab.train.losses.classification_loss`. A NaN or
    infinite loss raises :class:`NonFiniteLoss` before the optimizer step, so the weights stay the last good ones.
    """

    def __init__(self, model: nn.Module, recipe: Recipe, steps_per_epoch: int, device, num_classes: int | None = None,
                 teacher: nn.Module | None = None, loss_fn=None):
        if teacher is not None and loss_fn is not None:
            raise ValueError("fit() takes teacher= or loss_fn=, not both: with a teacher the loss is the distillation "
                             "loss (distill_temperature, distill_weight)")
        self.recipe, self.device = recipe, torch.device(device)
        self.use_amp, self.amp_dtype = amp_setting(recipe.amp, self.device)
        self.memory_format = memory_format(recipe.channels_last, self.device)
        self.model = model.to(device=self.device, memory_format=self.memory_format)
        if teacher is not None:
            teacher = teacher.to(device=self.device, memory_format=self.memory_format).eval()
        self.teacher = teacher
        self.optimizer = _optimizer(model, recipe)
        self.scheduler = _scheduler(self.optimizer, recipe, steps_per_epoch)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.ema = _ema(model, recipe.ema)
        self.mixer = _mixer(recipe.mix, num_classes)
        self.clipped = agc_parameters(model) if recipe.agc is not None else None
        self.loss_fn = loss_fn or (lambda outputs, y: classification_loss(outputs, y, recipe.label_smoothing))
        self.forward = torch.compile(model) if recipe.compile else model

    @property
    def lr(self) -> float:
        """The learning rate the next step uses."""
        return self.optimizer.param_groups[0]["lr"]

    @property
    def evaluated_model(self) -> nn.Module:
        """The model to evaluate: the EMA copy when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def __call__(self, x: torch.Tensor, y: torch.Tensor):
        targets = y
        if self.mixer is not None:
            x, targets = self.mixer(x, y)  # soft targets: rows of class probabilities
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
            outputs = self.forward(x)
            if self.teacher is not None:
                with torch.no_grad():
                    teacher_logits = main_output(self.teacher(x))
                r = self.recipe
                loss = distillation_loss(main_output(outputs), teacher_logits, targets, r.distill_temperature,
                                         r.distill_weight, r.label_smoothing)
            else:
                loss = self.loss_fn(outputs, targets)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if not torch.isfinite(loss):  # read while the GPU runs the backward pass queued above
            self.optimizer.zero_grad(set_to_none=True)
            raise NonFiniteLoss(loss.item())
        if self.clipped is not None:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the loss-scaled ones
            adaptive_clip_grad(self.clipped, self.recipe.agc)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return loss.detach(), outputs


def _optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.peak_lr, momentum=recipe.momentum,
                               nesterov=recipe.nesterov and recipe.momentum > 0, weight_decay=recipe.weight_decay)
    return torch.optim.AdamW(params, lr=recipe.peak_lr, weight_decay=recipe.weight_decay)


def _scheduler(opt, recipe: Recipe, steps_per_epoch: int):
    """Stepped once per batch. ``step`` divides by 10 at 50% and 75% of training [he2016deep]; ``cosine``
    [loshchilov2017sgdr] may start with a linear warm-up of ``warmup_epochs``."""
    total = recipe.epochs * steps_per_epoch
    if recipe.schedule == "onecycle":
        return lr_scheduler.OneCycleLR(opt, max_lr=recipe.peak_lr, total_steps=total)
    if recipe.schedule == "step":
        return lr_scheduler.MultiStepLR(opt, milestones=[total // 2, total * 3 // 4], gamma=0.1)
    if recipe.schedule == "constant":
        return lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    warmup = recipe.warmup_epochs * steps_per_epoch
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup)
    if warmup == 0:
        return cosine
    ramp = lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warmup)
    return lr_scheduler.SequentialLR(opt, [ramp, cosine], milestones=[warmup])


def _ema(model: nn.Module, decay: float | None):
    """An EMA copy of the weights (and BN statistics) [polyak1992acceleration]; None when off."""
    if decay is None:
        return None
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema_model.update_parameters(model)  # the first update copies: the average starts at the initial weights
    return ema_model


def _mixer(mix: str | None, num_classes: int | None):
    """MixUp [zhang2018mixup] / CutMix [yun2019cutmix] from :mod:`cnnlab.data.mix`; None when off."""
    if mix is None:
        return None
    if num_classes is None:
        raise ValueError("mix needs data.num_classes (pass a cnnlab Data)")
    from ..data.mix import batch_mixer

    return batch_mixer(mix, num_classes)
