"""Atomic checkpoints: a crash while saving never destroys the previous checkpoint.

The file is written to a temporary file in the same folder (``<name>.<pid>.<thread>.tmp``) and moved over the
old one with ``os.replace`` (atomic on POSIX and Windows); temporary files left by a save that was killed
are removed by the next save. It holds only tensors and plain containers, so
``torch.load(..., weights_only=True)`` reads it safely. Random-generator states are stored too, so a
resumed run repeats exactly the run that was not interrupted, and so are the ``settings`` of the run
(epochs, schedule, learning rate, ...) that ``fit`` compares before it resumes.
"""
from __future__ import annotations

import os
import pickle
import random
import threading
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "read_checkpoint", "restore_checkpoint",
           "check_checkpoint_path", "architecture_of", "rng_state", "set_rng_state"]


class CheckpointError(ValueError):
    """A file that is not a cnnlab checkpoint, or a damaged one."""


def architecture_of(model: nn.Module) -> str:
    """``"ResNet (resnet20)"``: the class name, and the cnnlab registry name when there is one."""
    model = getattr(model, "_orig_mod", model)  # a torch.compile'd model wraps the original
    name = getattr(model, "cnnlab_name", None)
    return f"{type(model).__name__} ({name})" if name else type(model).__name__


def rng_state(generators=()) -> dict:
    """States of Python, NumPy, torch (CPU, CUDA) and of extra ``torch.Generator``s."""
    state = {
        "python": list(random.getstate()[1]) + [random.getstate()[2]],
        "python_version": random.getstate()[0],
        "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64)),
        "numpy_rest": list(np.random.get_state()[2:]),
        "torch": torch.get_rng_state(),
        "generators": [g.get_state() for g in generators],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, generators=()) -> None:
    """Restore what :func:`rng_state` saved."""
    values = state["python"]
    random.setstate((state["python_version"], tuple(values[:-1]), values[-1]))
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), *state["numpy_rest"]))
    torch.set_rng_state(state["torch"])
    for g, s in zip(generators, state["generators"]):
        g.set_state(s)
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def check_checkpoint_path(path) -> Path:
    """Refuse, before any training, a ``checkpoint`` path that is a folder or where no file can be written."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"checkpoint={str(path)!r} is a folder; give a file path such as {str(path / 'run.pt')!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = _temporary(path)
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise ValueError(f"checkpoint={str(path)!r} cannot be written ({err.strerror or err}); "
                         "choose a path in a folder you can write to") from None
    return path


def _temporary(path: Path) -> Path:
    """This thread's temporary file for ``path`` (``<name>.<pid>.<thread>.tmp``): writers never share one."""
    return path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _remove_stale_temporaries(path: Path) -> None:
    """Delete ``<name>.<pid>.<thread>.tmp`` files of ``path`` whose process no longer runs (a killed save)."""
    if os.name != "posix":  # no harmless liveness test elsewhere; the files are then left for the user
        return
    for tmp in path.parent.glob(f"{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 1:].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:  # the process exists (another user's)
            pass


def save_checkpoint(path, model: nn.Module, optimizer=None, scheduler=None, scaler=None, epoch: int = 0,
                    history=None, ema=None, generators=(), settings: dict | None = None) -> Path:
    """Save everything needed to continue training after ``epoch`` (epochs done), atomically.

    ``settings`` are the options that shape the run (``fit`` compares them when it resumes).
    """
    path = check_checkpoint_path(path)
    _remove_stale_temporaries(path)
    state = {
        "architecture": architecture_of(model),
        "epoch": int(epoch),
        "model": getattr(model, "_orig_mod", model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "ema": ema.state_dict() if ema is not None else None,
        "history": history.to_dict() if history is not None else None,
        "rng": rng_state(generators),
        "settings": dict(settings) if settings is not None else None,
    }
    tmp = _temporary(path)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(path, map_location="cpu") -> dict:
    """The raw state saved by :func:`save_checkpoint`; anything else gets a :class:`CheckpointError`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, OSError) as err:
        # torch's own message may advise weights_only=False, which would run code from the file: not repeated
        raise CheckpointError(f"{path} is not a cnnlab checkpoint or it is damaged ({type(err).__name__} while "
                              "reading it); use another file, or start a new run without resume") from None
    if not isinstance(state, dict) or not {"architecture", "epoch", "model"} <= set(state):
        found = f"a dict with keys {sorted(map(str, state))}" if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path} is not a cnnlab checkpoint: it holds {found}, expected the dict written by "
                              "cnnlab.train.save_checkpoint (architecture, epoch, model, ...)")
    return state


def restore_checkpoint(path, state: dict, model: nn.Module, optimizer=None, scheduler=None, scaler=None, ema=None,
                       generators=()) -> dict:
    """Load a state read by :func:`read_checkpoint` into ``model`` (and the optimizer, ... when given).

    A checkpoint of another architecture, or whose tensors do not fit the model, gets a ``ValueError``
    that names what was expected.
    """
    expected = architecture_of(model)
    if state.get("architecture") != expected:
        raise ValueError(f"checkpoint {path} holds a {state.get('architecture')} but the model is a {expected}; "
                         "load it into the same architecture or start without resume")
    try:
        getattr(model, "_orig_mod", model).load_state_dict(state["model"])
    except RuntimeError as err:
        raise ValueError(f"checkpoint {path} ({state['architecture']}) does not fit this model's layers "
                         f"(same class, different options?):\n{err}") from None
    for obj, key in ((optimizer, "optimizer"), (scheduler, "scheduler"), (scaler, "scaler"), (ema, "ema")):
        if obj is not None and state.get(key) is not None:
            obj.load_state_dict(state[key])
    if state.get("rng") is not None:
        set_rng_state(state["rng"], generators)
    return state


def load_checkpoint(path, model: nn.Module, optimizer=None, scheduler=None, scaler=None, ema=None,
                    generators=(), map_location="cpu") -> dict:
    """Read a checkpoint and load it into ``model`` (and the optimizer, ... when given); returns the raw state."""
    state = read_checkpoint(path, map_location)
    return restore_checkpoint(path, state, model, optimizer, scheduler, scaler, ema, generators)
