"""``fit()``: the training loop of the course, in one function you can read top to bottom.

``fit`` checks everything it is given before it trains, then: for each epoch, for each batch, one
:class:`~cnnlab.train.step.TrainStep` (forward -> loss -> backward -> update); then it evaluates on the
validation split (or, without one, the test split), records a History row, draws the curves and saves
a checkpoint. At the end the test split is evaluated once. Ctrl-C returns what was trained so far.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import architecture_of, check_checkpoint_path, read_checkpoint, restore_checkpoint, save_checkpoint
from .evaluate import evaluate
from .history import History
from .live import LiveCurves
from .losses import main_output
from .recipe import DEFAULT_LR, MIXES, OPTIMIZERS, SCHEDULES, Recipe, settings_differences
from .precision import choose_precision
from .step import NonFiniteLoss, TrainStep

__all__ = ["fit", "StepInfo", "OPTIMIZERS", "SCHEDULES", "MIXES", "DEFAULT_LR"]


@dataclass
class StepInfo:
    """What ``on_step`` gets after every training step. ``step`` counts from the start of the run
    (1, 2, ...), ``batch`` within the epoch; ``lr`` is the learning rate the step used; ``outputs`` are the
    main logits of the batch (detached) and ``labels`` its true classes."""
    epoch: int
    batch: int
    step: int
    loss: float
    lr: float
    outputs: torch.Tensor
    labels: torch.Tensor


def fit(model: nn.Module, data, epochs: int, *, batch_size: int = 128, optimizer: str = "sgd",
        lr: float | None = None, momentum: float = 0.9, nesterov: bool = True, weight_decay: float = 5e-4,
        schedule: str = "onecycle", warmup_epochs: int = 0, label_smoothing: float = 0.0, mix: str | None = None,
        teacher: nn.Module | None = None, distill_temperature: float = 4.0, distill_weight: float = 0.5,
        agc: float | None = None, ema: float | None = None, amp="auto", channels_last="auto",
        compile: bool = False, augment: dict | None = None, train_loader=None, test_loader=None,
        loss_fn=None, on_step=None, checkpoint=None, resume: bool = False, progress: bool | None = None, live="auto",
        name: str | None = None, device=None, seed: int = 0) -> History:
    """Train ``model`` on ``data`` for ``epochs`` epochs and return its :class:`History`.

    The options from ``epochs`` to ``seed`` form a :class:`~cnnlab.train.recipe.Recipe` (checked there,
    recorded once in ``history.meta["options"]`` and in the checkpoint). ``loss_fn(outputs, targets)``
    replaces the default loss (cross-entropy of the main output plus 0.3 x each auxiliary output);
    ``teacher`` turns on knowledge distillation instead (not both). ``agc`` is the clip factor of adaptive
    gradient clipping, ``ema`` the decay of an exponential moving average of the weights (the EMA model is
    the one evaluated).

    **Held-out splits.** When ``data.val`` exists, every epoch is evaluated on it (rows get ``val_loss``,
    ``val_acc``) and the test split is evaluated once, at the end (``history.test``); without it, every
    epoch is evaluated on the test split and no best epoch is chosen.

    **on_step.** ``on_step(info)`` is called after every training step with a :class:`StepInfo`; it may
    record the loss, learning rate or outputs, and stops training by returning ``True`` (or raising
    ``KeyboardInterrupt``), as Ctrl-C would: the History of the finished epochs is returned, and the
    checkpoint keeps the last finished epoch.

    **A NaN or infinite loss** stops training and leaves the model with the weights of the step before it:
    a message says the epoch, step and learning rate, the checkpoint keeps the last finished epoch and the
    History so far is returned (``meta["stopped"]`` says why). The loss is checked on the device and read
    every step on a CPU, every 50 steps on a GPU (:func:`~cnnlab.train.step.read_interval`).

    **Output.** ``progress`` shows a progress bar per epoch (None: on, unless the environment variable
    ``CNNLAB_PROGRESS`` is ``0``, as when the book's notebooks are executed: a bar stored in a notebook would
    show its first frame, 0%, forever); ``live`` draws the curves after every epoch
    (True, the default in a notebook), prints a line per epoch (False, the default elsewhere) or stays quiet
    (None).

    **Precision.** ``amp`` and ``channels_last`` (``"auto"``, True, False) are resolved by
    :func:`~cnnlab.train.precision.choose_precision`: bfloat16 or float16 autocast where the device runs it
    natively; the choice is printed at the start and recorded in ``meta["options"]``.

    **Checkpoints.** ``checkpoint`` (a file path, checked before training) is written atomically after
    every epoch, with the settings of the run. A new run never silently replaces an earlier one: a
    checkpoint already at that path is first moved to ``<name>.previous<suffix>``. With ``resume=True``
    training continues from it, and only with the settings it was written with: a different learning
    rate, schedule, optimizer, batch size, ... is refused with the list of what differs. ``epochs`` may
    differ only to *extend* (or shorten to no fewer than the epochs done) a ``schedule="constant"`` run,
    whose learning rate does not depend on the length of the run; ``onecycle``, ``cosine`` and ``step``
    spread their curve over the planned epochs, so another length would make a run that neither plan
    describes: it is refused (start a new run with the new ``epochs`` instead).
    """
    from .. import seed_everything

    recipe = Recipe(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
                    nesterov=nesterov, weight_decay=weight_decay, schedule=schedule, warmup_epochs=warmup_epochs,
                    label_smoothing=label_smoothing, mix=mix, distill_temperature=distill_temperature,
                    distill_weight=distill_weight, agc=agc, ema=ema, amp=amp, channels_last=channels_last,
                    compile=compile, augment=augment, seed=seed)
    _check_data(data, train_loader, test_loader, batch_size)
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a function taking a StepInfo, got {type(on_step).__name__}")
    if checkpoint is not None:
        checkpoint = check_checkpoint_path(checkpoint)
    device = _device(device)
    seed_everything(seed)
    if progress is None:
        progress = os.environ.get("CNNLAB_PROGRESS", "1") != "0"

    layout = choose_precision(device, recipe.amp, recipe.channels_last).memory_format
    if train_loader is None:
        train_loader = _device_loader(data, data.train, recipe, device, layout, train=True)
    if test_loader is None:
        test_loader = _device_loader(data, data.test, recipe, device, layout, train=False)
    val_split = getattr(data, "val", None)
    val_loader = None
    if val_split is not None:
        val_loader = _device_loader(data, val_split, recipe, device, layout, train=False)
    steps_per_epoch = len(train_loader)
    if steps_per_epoch == 0:
        raise ValueError("train_loader yields no batches (is its batch size larger than its split?)")
    _check_classes(model.to(device), data, test_loader, device)
    step = TrainStep(model, recipe, steps_per_epoch, device, getattr(data, "num_classes", None), teacher, loss_fn)
    generators = _generators(train_loader)
    precision = step.precision
    settings = {**recipe.as_dict(), "amp": str(precision.dtype).replace("torch.", "") if precision.autocast else False,
                "channels_last": precision.channels_last,
                "teacher": architecture_of(teacher) if teacher is not None else None,
                "steps_per_epoch": steps_per_epoch}

    history = History(meta=_meta(model, data, device, name, settings))
    start_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        if resume:
            state = read_checkpoint(checkpoint)
            _check_resumable(checkpoint, state, settings)
            restore_checkpoint(checkpoint, state, model, step.optimizer, step.scheduler, step.scaler, step.ema,
                               generators)
            history = History.from_dict(state["history"], source=str(checkpoint))
            history.meta.update(options=settings, interrupted=False, stopped=None)
            start_epoch = state["epoch"]
            print(f"resumed from {checkpoint} after epoch {start_epoch}")
        else:
            previous = _keep_previous(checkpoint)
            print(f"{checkpoint.name} held an earlier run: kept as {previous.name} "
                  "(resume=True continues a run)")
    curves = LiveCurves(live)
    held_out, split = (val_loader, "val") if val_loader is not None else (test_loader, "test")
    autocast_dtype = step.autocast_dtype
    if progress:
        print(f"training {history.meta['model']} on {history.meta['device']}: {precision}")

    try:
        for epoch in range(start_epoch + 1, recipe.epochs + 1):
            model.train()
            started, seen, loss_sum, correct = time.perf_counter(), 0, 0.0, 0
            batches = tqdm(train_loader, desc=f"epoch {epoch}/{recipe.epochs}", disable=not progress, leave=False)
            for batch, (x, y) in enumerate(batches, 1):
                loss, outputs = step(x, y)
                if on_step is not None or batch % step.check_every == 0 or batch == steps_per_epoch:
                    step.check()  # NonFiniteLoss when a loss was NaN or infinite (its weights are undone)
                seen += len(y)
                loss_sum += loss.float() * len(y)
                logits = main_output(outputs).detach()
                correct += (logits.argmax(1) == y).sum()
                if on_step is not None:
                    info = StepInfo(epoch, batch, (epoch - 1) * steps_per_epoch + batch, loss.item(),
                                    step.recent_lrs[-1], logits, y)
                    if on_step(info) is True:
                        history.meta["stopped"] = f"stopped by on_step at epoch {epoch}, step {batch}"
                        raise KeyboardInterrupt  # as Ctrl-C would
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = time.perf_counter() - started
            result = evaluate(step.evaluated_model, held_out, device, autocast_dtype=autocast_dtype)
            history.append({"epoch": epoch, "train_loss": float(loss_sum) / seen, "train_acc": int(correct) / seen,
                            f"{split}_loss": result.loss, f"{split}_acc": result.accuracy, "lr": step.lr,
                            "seconds": seconds, "images_per_s": seen / seconds})
            curves.update(history)
            if checkpoint is not None:
                save_checkpoint(checkpoint, model, step.optimizer, step.scheduler, step.scaler, epoch, history,
                                step.ema, generators, settings)
    except NonFiniteLoss as err:
        epoch, batch = start_epoch + (err.step - 1) // steps_per_epoch + 1, (err.step - 1) % steps_per_epoch + 1
        history.meta["stopped"] = f"loss {err.loss} at epoch {epoch}, step {batch}"
        _report_nonfinite(err.loss, epoch, batch, steps_per_epoch, err.lr, checkpoint, history)
    except KeyboardInterrupt:
        history.meta["interrupted"] = True
        done = len(history.rows)
        print(f"interrupted: returning the History of {done} finished epoch{'' if done == 1 else 's'}"
              f"{_checkpoint_holds(checkpoint)}")
    if history.rows:
        history.test = _final_test(history, step, test_loader, split, device, autocast_dtype)
        curves.finish(history)  # the last frame shows the test result too
    return history


# --- the helpers fit() uses ------------------------------------------------------------------

def _check_data(data, train_loader, test_loader, batch_size) -> None:
    is_data = hasattr(data, "train") and hasattr(data, "test") and hasattr(data.train, "images")
    if not is_data and (train_loader is None or test_loader is None):
        raise ValueError(f"fit() expects a cnnlab Data (from cnnlab.data.load(...)) with .train and .test splits, "
                         f"got {type(data).__name__}; or pass both train_loader= and test_loader=")
    if train_loader is None and batch_size > len(data.train.labels):
        raise ValueError(f"batch_size={batch_size} is larger than the training split ({len(data.train.labels)} "
                         f"images), so an epoch would have no batch: use batch_size <= {len(data.train.labels)}")


def _device(device) -> torch.device:
    """The device asked for, refused when this machine does not have it; the best one for None."""
    from .. import get_device

    if device is None:
        return get_device()
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:0', 'mps' or None, got {device!r} ({err})") from None
    present = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}.get(device.type, True)
    if not present:
        raise ValueError(f"device={str(device)!r}, but this machine has no {device.type.upper()} device; "
                         "use device=None to train on the best device available")
    return device


def _device_loader(data, split, recipe: Recipe, device, layout, train: bool):
    from ..data import DeviceLoader

    options = dict(crop=4, flip=True, cutout=0) if recipe.augment is None else dict(recipe.augment)
    return DeviceLoader(split, recipe.batch_size if train else 512, device, train=train, mean=data.mean,
                        std=data.std, channels_last=layout == torch.channels_last, seed=recipe.seed,
                        **(options if train else dict(crop=0, flip=False, cutout=0)))


@torch.no_grad()
def _check_classes(model: nn.Module, data, test_loader, device) -> None:
    """Refuse labels the model has no output for (e.g. CIFAR-100 data for a 10-class model), before training."""
    x, y = next(iter(test_loader))
    was_training = model.training
    model.eval()
    try:
        outputs = main_output(model(x[:2].to(device))).shape[-1]
    finally:
        model.train(was_training)
    splits = [getattr(data, s, None) for s in ("train", "val", "test")]
    labels = [s.labels for s in splits if s is not None and hasattr(s, "labels")] or [y]
    top = max(int(t.max()) for t in labels if len(t))
    classes = max(getattr(data, "num_classes", 0), top + 1)
    if classes > outputs:
        raise ValueError(f"the data has {classes} classes (labels up to {top}) but the model outputs {outputs} "
                         f"logits; build the model with num_classes={classes} (e.g. num_classes=data.num_classes)")


def _check_resumable(path: Path, state: dict, settings: dict) -> None:
    """Refuse to resume a checkpoint whose run had other settings (see ``fit``'s docstring)."""
    saved = state.get("settings")
    if saved is None:
        raise ValueError(f"checkpoint {path} does not record its settings (an earlier cnnlab wrote it), so resuming "
                         "cannot be checked; start a new run (resume=False keeps it as .previous)")
    differences = settings_differences(saved, settings)
    if differences:
        raise ValueError(f"checkpoint {path} was trained with other settings; resume with the same ones, or start "
                         "a new run (resume=False keeps it as .previous). Differences: " + "; ".join(differences))
    done, planned, asked = state["epoch"], saved["epochs"], settings["epochs"]
    if asked < done:
        raise ValueError(f"checkpoint {path} already holds {done} epochs, more than epochs={asked}; ask for "
                         f"epochs >= {done}, or read the weights with cnnlab.train.load_checkpoint")
    if asked != planned and settings["schedule"] != "constant":
        raise ValueError(f"checkpoint {path} is a run of {planned} epochs with schedule={settings['schedule']!r}, "
                         f"whose learning rate at each step depends on the planned length: continuing to epoch "
                         f"{asked} would follow neither plan. Resume with epochs={planned}, or start a new run with "
                         f"epochs={asked} (only schedule='constant' runs can be extended)")


def _keep_previous(path: Path) -> Path:
    """Move the checkpoint at ``path`` to ``<name>.previous<suffix>`` (replacing an older one there)."""
    previous = path.with_name(f"{path.stem}.previous{path.suffix}")
    path.replace(previous)
    return previous


def _checkpoint_holds(checkpoint) -> str:
    """``"; checkpoint run.pt holds epoch 2"``, read from the file itself (a save may have been cut short)."""
    if checkpoint is None or not checkpoint.exists():
        return ""
    return f"; checkpoint {checkpoint} holds epoch {read_checkpoint(checkpoint)['epoch']}"


def _report_nonfinite(loss, epoch, batch, steps_per_epoch, lr, checkpoint, history) -> None:
    kept = _checkpoint_holds(checkpoint)
    done = len(history.rows)
    print(f"stopped: the training loss became {loss} at epoch {epoch}, step {batch} of {steps_per_epoch} "
          f"(learning rate {lr:.4g}); the model holds the weights from before that step. Returning the History of {done} finished "
          f"epoch{'' if done == 1 else 's'}{kept}. Hint: a learning rate that is too high is the usual cause: "
          f"try lr={lr / 10:.3g}, a warm-up (schedule='cosine', warmup_epochs=1) or agc=0.01, and check that the "
          "inputs are normalized")


def _final_test(history: History, step: TrainStep, test_loader, split: str, device, autocast_dtype) -> dict:
    """The test split, once: evaluated now after a run on a validation split, else the last epoch's row."""
    if split == "test":
        last = history.rows[-1]
        return dict(accuracy=last["test_acc"], loss=last["test_loss"], epoch=last["epoch"])
    result = evaluate(step.evaluated_model, test_loader, device, autocast_dtype=autocast_dtype)
    return dict(accuracy=result.accuracy, loss=result.loss, epoch=history.rows[-1]["epoch"])


def _generators(loader) -> list[torch.Generator]:
    """The loader's own random generator(s), saved in checkpoints so a resumed run reshuffles the same."""
    found = getattr(loader, "generator", None)
    return [found] if isinstance(found, torch.Generator) else []


def _sizes(data) -> dict:
    """Images per split (``None`` for a split the data lacks or a loader-only run)."""
    return {name: len(split.labels) if split is not None and hasattr(split, "labels") else None
            for name, split in ((n, getattr(data, n, None)) for n in ("train", "val", "test"))}


def _meta(model, data, device, name, settings):
    from .. import __version__, get_profile
    from ..session import describe_device

    return dict(name=name, model=architecture_of(model),
                parameters=sum(p.numel() for p in model.parameters()),
                device=describe_device(device), profile=get_profile().name,
                data_source=getattr(data, "source", "custom loaders"), dataset=getattr(data, "name", None),
                validation=getattr(data, "val", None) is not None, sizes=_sizes(data),
                cnnlab_version=__version__, torch_version=str(torch.__version__), options=settings,
                interrupted=False, stopped=None)
