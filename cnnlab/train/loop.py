"""``fit()``: the training loop of the course, in one function you can read top to bottom.

The setup (optimizer, schedule, mixed precision, EMA, checkpoints) lives in small helpers below;
``fit`` itself is: for each epoch, for each batch, forward -> loss -> backward -> step; then evaluate,
record a History row, draw the curves and save a checkpoint. Ctrl-C returns what was trained so far.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn
from torch.optim import lr_scheduler
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torchvision.transforms import v2
from tqdm.auto import tqdm

from .agc import adaptive_clip_grad, agc_parameters
from .checkpoint import architecture_of, load_checkpoint, save_checkpoint
from .evaluate import evaluate
from .history import History
from .live import LiveCurves
from .losses import classification_loss, distillation_loss, main_output

__all__ = ["fit", "OPTIMIZERS", "SCHEDULES", "MIXES", "DEFAULT_LR"]

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
MIXES = (None, "mixup", "cutmix")
DEFAULT_LR = {"sgd": 0.1, "adamw": 1e-3}
"""Peak learning rates: SGD 0.1 for batch 128 [he2016deep]; AdamW 1e-3 [loshchilov2019decoupled]."""


def fit(model: nn.Module, data, epochs: int, *, batch_size: int = 128, optimizer: str = "sgd",
        lr: float | None = None, momentum: float = 0.9, nesterov: bool = True, weight_decay: float = 5e-4,
        schedule: str = "onecycle", warmup_epochs: int = 0, label_smoothing: float = 0.0, mix: str | None = None,
        teacher: nn.Module | None = None, distill_temperature: float = 4.0, distill_weight: float = 0.5,
        agc: float | None = None, ema: float | None = None, amp="auto", channels_last="auto",
        compile: bool = False, augment: dict | None = None, train_loader=None, test_loader=None,
        loss_fn=None, checkpoint=None, resume: bool = False, progress: bool = True, live="auto",
        name: str | None = None, device=None, seed: int = 0) -> History:
    """Train ``model`` on ``data`` for ``epochs`` epochs and return its :class:`History`.

    ``loss_fn(outputs, targets)`` replaces the default loss (cross-entropy of the main output plus 0.3
    x each auxiliary output, see :func:`~cnnlab.train.losses.classification_loss`). ``teacher`` turns
    on knowledge distillation, ``agc`` is the clip factor of adaptive gradient clipping, ``ema`` the
    decay of an exponential moving average of the weights (the EMA model is the one evaluated).

    ``checkpoint`` (a path) is written atomically after every epoch; with ``resume=True`` training
    continues from it when it exists. A new run never silently replaces an earlier one: a checkpoint
    already at that path is first moved to ``<name>.previous<suffix>`` (one earlier run is kept).
    """
    from .. import get_device, seed_everything

    _check_options(epochs, optimizer, schedule, mix, data, train_loader, test_loader)
    seed_everything(seed)
    device = torch.device(device) if device is not None else get_device()
    use_amp, amp_dtype = _amp_setting(amp, device)
    memory_format = torch.channels_last if _on_cuda(channels_last, device) else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    if teacher is not None:
        teacher.to(device=device, memory_format=memory_format).eval()

    if train_loader is None:
        train_loader = _device_loader(data, "train", batch_size, device, memory_format, seed, augment)
    if test_loader is None:
        test_loader = _device_loader(data, "test", 512, device, memory_format, seed, None)
    lr = lr if lr is not None else DEFAULT_LR[optimizer]
    opt = _optimizer(model, optimizer, lr, momentum, nesterov, weight_decay)
    scheduler = _scheduler(opt, schedule, lr, epochs, len(train_loader), warmup_epochs)
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp and amp_dtype == torch.float16)
    ema_model = _ema(model, ema)
    mixer = _mixer(mix, getattr(data, "num_classes", None))
    clipped = agc_parameters(model) if agc is not None else None
    loss_fn = loss_fn or (lambda outputs, y: classification_loss(outputs, y, label_smoothing))
    step_model = torch.compile(model) if compile else model
    generators = _generators(train_loader)

    history = History(meta=_meta(model, data, device, name, locals_=dict(
        epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum, nesterov=nesterov,
        weight_decay=weight_decay, schedule=schedule, warmup_epochs=warmup_epochs, label_smoothing=label_smoothing,
        mix=mix, teacher=architecture_of(teacher) if teacher is not None else None,
        distill_temperature=distill_temperature, distill_weight=distill_weight, agc=agc, ema=ema,
        amp=str(amp_dtype).replace("torch.", "") if use_amp else False, channels_last=memory_format == torch.channels_last,
        compile=compile, augment=augment, seed=seed)))
    start_epoch = 0
    if checkpoint is not None and Path(checkpoint).exists():
        if resume:
            state = load_checkpoint(checkpoint, model, opt, scheduler, scaler, ema_model, generators)
            history = History.from_dict(state["history"])
            history.meta["interrupted"] = False
            start_epoch = state["epoch"]
            print(f"resumed from {checkpoint} after epoch {start_epoch}")
        else:
            previous = _keep_previous(Path(checkpoint))
            print(f"{Path(checkpoint).name} held an earlier run: kept as {previous.name} "
                  "(resume=True continues a run)")
    curves = LiveCurves(live)

    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            model.train()
            started, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
            for x, y in tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False):
                targets = y
                if mixer is not None:
                    x, targets = mixer(x, y)  # soft targets: rows of class probabilities
                with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                    outputs = step_model(x)
                    if teacher is not None:
                        with torch.no_grad():
                            teacher_logits = main_output(teacher(x))
                        loss = distillation_loss(main_output(outputs), teacher_logits, targets, distill_temperature,
                                                 distill_weight, label_smoothing)
                    else:
                        loss = loss_fn(outputs, targets)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if clipped is not None:
                    scaler.unscale_(opt)  # clip the true gradients, not the loss-scaled ones
                    adaptive_clip_grad(clipped, agc)
                scaler.step(opt)
                scaler.update()
                scheduler.step()
                if ema_model is not None:
                    ema_model.update_parameters(model)
                seen += len(y)
                loss_sum += loss.detach().float() * len(y)
                correct += (main_output(outputs).argmax(1) == y).sum()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = time.perf_counter() - started
            result = evaluate(ema_model.module if ema_model is not None else model, test_loader, device,
                              autocast_dtype=amp_dtype if use_amp else None)
            history.append(dict(epoch=epoch, train_loss=float(loss_sum) / seen, train_acc=int(correct) / seen,
                                test_loss=result.loss, test_acc=result.accuracy, lr=opt.param_groups[0]["lr"],
                                seconds=seconds, images_per_s=seen / seconds))
            curves.update(history)
            if checkpoint is not None:
                save_checkpoint(checkpoint, model, opt, scheduler, scaler, epoch, history, ema_model, generators)
    except KeyboardInterrupt:
        history.meta["interrupted"] = True
        kept = f"; checkpoint {checkpoint} holds epoch {len(history.rows)}" if checkpoint and history.rows else ""
        done = len(history.rows)
        print(f"interrupted: returning the History of {done} finished epoch{'' if done == 1 else 's'}{kept}")
    return history


# --- the helpers fit() uses ------------------------------------------------------------------

def _check_options(epochs, optimizer, schedule, mix, data, train_loader, test_loader) -> None:
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {OPTIMIZERS}")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; expected one of {MIXES}")
    is_data = hasattr(data, "train") and hasattr(data, "test") and hasattr(data.train, "images")
    if not is_data and (train_loader is None or test_loader is None):
        raise ValueError(f"fit() expects a cnnlab Data (from cnnlab.data.load(...)) with .train and .test splits, "
                         f"got {type(data).__name__}; or pass both train_loader= and test_loader=")


def _amp_setting(amp, device: torch.device) -> tuple[bool, torch.dtype]:
    """Mixed precision on CUDA: bfloat16 where supported, else float16 (with a GradScaler)."""
    if amp not in ("auto", True, False):
        raise ValueError(f"amp must be 'auto', True or False, got {amp!r}")
    enabled = device.type == "cuda" if amp == "auto" else bool(amp)
    if enabled and device.type == "cuda":
        return True, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return enabled, torch.bfloat16


def _on_cuda(option, device: torch.device) -> bool:
    if option not in ("auto", True, False):
        raise ValueError(f"channels_last must be 'auto', True or False, got {option!r}")
    return device.type == "cuda" if option == "auto" else bool(option)


def _device_loader(data, split, batch_size, device, memory_format, seed, augment):
    from ..data import DeviceLoader

    train = split == "train"
    options = dict(crop=4, flip=True, cutout=0) if augment is None else dict(augment)
    return DeviceLoader(getattr(data, split), batch_size, device, train=train, mean=data.mean, std=data.std,
                        channels_last=memory_format == torch.channels_last, seed=seed,
                        **(options if train else dict(crop=0, flip=False, cutout=0)))


def _keep_previous(path: Path) -> Path:
    """Move the checkpoint at ``path`` to ``<name>.previous<suffix>`` (replacing an older one there)."""
    previous = path.with_name(f"{path.stem}.previous{path.suffix}")
    path.replace(previous)
    return previous


def _generators(loader) -> list[torch.Generator]:
    """The loader's own random generator(s), saved in checkpoints so a resumed run reshuffles the same."""
    found = getattr(loader, "generator", None)
    return [found] if isinstance(found, torch.Generator) else []


def _optimizer(model, name, lr, momentum, nesterov, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0,
                               weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _scheduler(opt, name, lr, epochs, steps_per_epoch, warmup_epochs):
    """Stepped once per batch. ``step`` divides by 10 at 50% and 75% of training [he2016deep]."""
    total = epochs * steps_per_epoch
    if name == "onecycle":
        return lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total)
    if name == "step":
        return lr_scheduler.MultiStepLR(opt, milestones=[total // 2, total * 3 // 4], gamma=0.1)
    if name == "constant":
        return lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    warmup = warmup_epochs * steps_per_epoch
    if warmup >= total:
        raise ValueError(f"warmup_epochs ({warmup_epochs}) must be smaller than epochs ({epochs})")
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup)
    if warmup == 0:
        return cosine
    ramp = lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warmup)
    return lr_scheduler.SequentialLR(opt, [ramp, cosine], milestones=[warmup])


def _ema(model, decay):
    """An EMA copy of the weights (and BN statistics) [polyak1992acceleration]; None when off."""
    if decay is None:
        return None
    if not 0.0 < decay < 1.0:
        raise ValueError(f"ema decay must be in (0, 1), e.g. 0.999, got {decay}")
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema_model.update_parameters(model)  # the first update copies: the average starts at the initial weights
    return ema_model


def _mixer(mix, num_classes):
    """MixUp [zhang2018mixup] or CutMix [yun2019cutmix] on a device batch (torchvision v2)."""
    if mix is None:
        return None
    if num_classes is None:
        raise ValueError("mix needs data.num_classes (pass a cnnlab Data)")
    return v2.MixUp(num_classes=num_classes) if mix == "mixup" else v2.CutMix(num_classes=num_classes)


def _meta(model, data, device, name, locals_):
    from .. import __version__, get_profile
    from ..session import describe_device

    return dict(name=name, model=architecture_of(model),
                parameters=sum(p.numel() for p in model.parameters()),
                device=describe_device(device), profile=get_profile().name,
                data_source=getattr(data, "source", "custom loaders"), dataset=getattr(data, "name", None),
                cnnlab_version=__version__, torch_version=str(torch.__version__), options=locals_, interrupted=False)
