"""``TrainStep``: one step of ``fit``, forward -> loss -> backward -> update, with everything it needs.

Built from a :class:`~cnnlab.train.recipe.Recipe`: the optimizer, the learning-rate schedule (stepped
once per batch), mixed precision (``torch.amp``, chosen by :mod:`cnnlab.train.precision`), MixUp/CutMix
(:mod:`cnnlab.data.mix`), knowledge distillation, adaptive gradient clipping and the EMA of the weights.
``fit`` calls it for every batch and ``python -m cnnlab.bench`` times this very step.

A step never waits for the device: reading the loss on the host (``loss.item()``, ``if not
torch.isfinite(loss)``) would make the CPU wait for a GPU after every batch. Whether the loss was
finite is recorded on the device by :class:`LastGoodWeights`, which ``fit`` reads every
:func:`read_interval` steps; the weights of the last step with a finite loss are kept all the same.
"""
from __future__ import annotations

from collections import deque

import torch
from torch import nn
from torch.optim import lr_scheduler
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .agc import adaptive_clip_grad, agc_parameters
from .losses import classification_loss, distillation_loss, main_output
from .precision import choose_precision
from .recipe import Recipe

__all__ = ["TrainStep", "NonFiniteLoss", "LastGoodWeights", "read_interval"]


class NonFiniteLoss(ArithmeticError):
    """The loss of step ``step`` (counted from 1 by this TrainStep) was NaN or infinite, with learning rate
    ``lr``; the model holds the weights of the step before it."""

    def __init__(self, loss: float, step: int, lr: float):
        super().__init__(f"loss is {loss} at step {step}")
        self.loss, self.step, self.lr = loss, step, lr


def read_interval(device: torch.device) -> int:
    """How often ``fit`` reads the finiteness flag: every step on a CPU, where reading costs nothing, and
    every 50 steps (and at the end of each epoch) on a GPU, where it makes the host wait for the device."""
    return 1 if device.type == "cpu" else 50


class LastGoodWeights:
    """The model's weights and buffers as they were after the last step whose loss was finite.

    Before every step, :meth:`keep` copies the weights into one flat buffer per dtype, but only while every
    loss so far was finite (a ``torch.where`` on the device, no host read); after it, :meth:`record` notes
    whether the loss was finite. :meth:`failure` reads that note; :meth:`restore` puts the kept weights back,
    however many steps ran after the bad one. The optimizer's state is not kept: after a non-finite loss
    training stops, and the checkpoint holds a consistent optimizer state of the last finished epoch.
    """

    def __init__(self, modules, device):
        self.groups: dict[torch.dtype, list[torch.Tensor]] = {}
        for module in modules:
            for tensor in [*module.parameters(), *module.buffers()]:
                self.groups.setdefault(tensor.dtype, []).append(tensor)
        self.kept = {dtype: self._flat(tensors) for dtype, tensors in self.groups.items()}
        self.all_finite = torch.ones((), dtype=torch.bool, device=device)
        self.bad_step = torch.zeros((), dtype=torch.long, device=device)
        self.bad_loss = torch.zeros((), device=device)
        self.steps = 0

    @staticmethod
    def _flat(tensors) -> torch.Tensor:
        return torch.cat([t.detach().reshape(-1) for t in tensors])

    def keep(self) -> None:
        """Copy the current weights, if every loss so far was finite (call before the step)."""
        for dtype, tensors in self.groups.items():
            self.kept[dtype] = torch.where(self.all_finite, self._flat(tensors), self.kept[dtype])

    def record(self, loss: torch.Tensor) -> None:
        """Note whether this step's loss was finite (call after the step)."""
        self.steps += 1
        loss = loss.detach().float()
        finite = torch.isfinite(loss)
        first = self.all_finite & ~finite
        self.bad_step = torch.where(first, self.steps, self.bad_step)
        self.bad_loss = torch.where(first, loss, self.bad_loss)
        self.all_finite &= finite

    def failure(self) -> tuple[int, float] | None:
        """``(step, loss)`` of the first step whose loss was not finite, or None (reads the device)."""
        if bool(self.all_finite):
            return None
        return int(self.bad_step), float(self.bad_loss)

    @torch.no_grad()
    def restore(self) -> None:
        """Put the weights of the last good step back into the model."""
        for dtype, tensors in self.groups.items():
            offset = 0
            for t in tensors:
                t.copy_(self.kept[dtype][offset:offset + t.numel()].view(t.shape))
                offset += t.numel()


class TrainStep:
    """``step(x, y) -> (loss, outputs)``: one optimizer step of ``model`` on the batch ``(x, y)``.

    ``num_classes`` is needed by ``recipe.mix``; ``teacher`` turns on distillation [hinton2015distilling];
    ``loss_fn(outputs, targets)`` replaces :func:`~cnnlab.train.losses.classification_loss`. After a NaN or
    infinite loss, :meth:`check` puts back the weights of the step before it and raises :class:`NonFiniteLoss`.
    """

    def __init__(self, model: nn.Module, recipe: Recipe, steps_per_epoch: int, device, num_classes: int | None = None,
                 teacher: nn.Module | None = None, loss_fn=None):
        if teacher is not None and loss_fn is not None:
            raise ValueError("fit() takes teacher= or loss_fn=, not both: with a teacher the loss is the distillation "
                             "loss (distill_temperature, distill_weight)")
        self.recipe, self.device = recipe, torch.device(device)
        self.precision = choose_precision(self.device, recipe.amp, recipe.channels_last)
        self.memory_format = self.precision.memory_format
        self.model = model.to(device=self.device, memory_format=self.memory_format)
        if teacher is not None:
            teacher = teacher.to(device=self.device, memory_format=self.memory_format).eval()
        self.teacher = teacher
        self.optimizer = _optimizer(model, recipe, fused=self.device.type == "cuda")
        self.scheduler = _scheduler(self.optimizer, recipe, steps_per_epoch)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision.needs_scaler)
        self.ema = _ema(model, recipe.ema)
        self.last_good = LastGoodWeights([model] + ([self.ema] if self.ema is not None else []), self.device)
        self.check_every = read_interval(self.device)
        self.recent_lrs = deque(maxlen=self.check_every)
        self.mixer = _mixer(recipe.mix, num_classes)
        self.clipped = agc_parameters(model) if recipe.agc is not None else None
        self.loss_fn = loss_fn or (lambda outputs, y: classification_loss(outputs, y, recipe.label_smoothing))
        self.forward = torch.compile(model) if recipe.compile else model

    @property
    def lr(self) -> float:
        """The learning rate the next step uses."""
        return self.optimizer.param_groups[0]["lr"]

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The autocast type of the forward pass (None in float32), for evaluating the same way."""
        return self.precision.dtype

    @property
    def evaluated_model(self) -> nn.Module:
        """The model to evaluate: the EMA copy when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def __call__(self, x: torch.Tensor, y: torch.Tensor):
        targets = y
        self.recent_lrs.append(self.lr)
        self.last_good.keep()
        if self.mixer is not None:
            x, targets = self.mixer(x, y)  # soft targets: rows of class probabilities
        with torch.autocast(self.device.type, dtype=self.precision.dtype, enabled=self.precision.autocast):
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
        if self.clipped is not None:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the loss-scaled ones
            adaptive_clip_grad(self.clipped, self.recipe.agc)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.last_good.record(loss)
        return loss.detach(), outputs

    def check(self) -> None:
        """Raise :class:`NonFiniteLoss` if a loss since the last check was not finite, after putting back the
        weights of the step before it. Reads the device: ``fit`` calls it every ``check_every`` steps."""
        failure = self.last_good.failure()
        if failure is None:
            return
        bad_step, loss = failure
        self.last_good.restore()
        first_recent = self.last_good.steps - len(self.recent_lrs) + 1
        raise NonFiniteLoss(loss, bad_step, self.recent_lrs[bad_step - first_recent])


def _optimizer(model: nn.Module, recipe: Recipe, fused: bool) -> torch.optim.Optimizer:
    """SGD or AdamW; ``fused`` (on CUDA) lets a GradScaler skip a step without reading the device."""
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.peak_lr, momentum=recipe.momentum,
                               nesterov=recipe.nesterov and recipe.momentum > 0, weight_decay=recipe.weight_decay,
                               fused=fused or None)
    return torch.optim.AdamW(params, lr=recipe.peak_lr, weight_decay=recipe.weight_decay, fused=fused or None)


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
