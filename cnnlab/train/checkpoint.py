"""Atomic checkpoints: a crash while saving never destroys the previous checkpoint.

The file is written to a temporary file in the same folder and moved over the old one with
``os.replace`` (atomic on POSIX and Windows). It holds only tensors and plain containers, so
``torch.load(..., weights_only=True)`` reads it safely. Random-generator states are stored too, so a
resumed run repeats exactly the run that was not interrupted.
"""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["save_checkpoint", "load_checkpoint", "architecture_of", "rng_state", "set_rng_state"]


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


def save_checkpoint(path, model: nn.Module, optimizer=None, scheduler=None, scaler=None, epoch: int = 0,
                    history=None, ema=None, generators=()) -> Path:
    """Save everything needed to continue training after ``epoch`` (epochs done), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path, model: nn.Module, optimizer=None, scheduler=None, scaler=None, ema=None,
                    generators=(), map_location="cpu") -> dict:
    """Load a checkpoint into ``model`` (and the optimizer, ... when given); returns the raw state.

    A checkpoint of another architecture, or whose tensors do not fit the model, gets a ``ValueError``
    that names what was expected.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location=map_location, weights_only=True)
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
