"""Mixed precision and memory layout: what this device computes fast, chosen once per run.

Lower-precision arithmetic only pays where the hardware does it natively [micikevicius2018mixed]:

* **CUDA, compute capability 8.0 and newer** (A100, L4, RTX 30xx/40xx, H100): ``bfloat16`` autocast.
  It has float32's range, so no loss scaling is needed.
* **CUDA 7.x** (V100 7.0, Colab's free Tesla T4 7.5): ``float16`` autocast with a ``GradScaler``.
  These cards have float16 tensor cores but no bfloat16 hardware; ``torch.cuda.is_bf16_supported()``
  still answers True on them because it counts software emulation, which is slow.
* **Older CUDA cards, Apple MPS**: float32 (no tensor cores / not measured here).
* **CPU**: ``bfloat16`` autocast where the processor has bfloat16 instructions (AVX512-BF16 or AMX,
  e.g. AMD Zen 4, Intel Sapphire Rapids), else float32. ``python -m cnnlab.bench`` measures the gain.

Channels-last (NHWC) goes with reduced precision: the convolution kernels that use tensor cores or
bfloat16 instructions want it, and in float32 on a CPU it is slower than NCHW.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Precision", "choose_precision", "cpu_has_bfloat16"]


@dataclass(frozen=True)
class Precision:
    """The arithmetic of a run: ``dtype`` for autocast (None = float32 throughout), whether gradients need a
    ``GradScaler`` (float16 only), the memory layout, and why."""

    dtype: torch.dtype | None
    channels_last: bool
    reason: str

    @property
    def autocast(self) -> bool:
        return self.dtype is not None

    @property
    def needs_scaler(self) -> bool:
        return self.dtype == torch.float16

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def __str__(self) -> str:
        name = str(self.dtype).replace("torch.", "") + " autocast" if self.dtype else "float32"
        scaler = " with gradient scaling" if self.needs_scaler else ""
        layout = "channels-last" if self.channels_last else "NCHW"
        return f"{name}{scaler}, {layout} ({self.reason})"


def cpu_has_bfloat16() -> bool:
    """Whether this processor has bfloat16 instructions (AVX512-BF16 or AMX tiles)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def _fast_type(device: torch.device) -> tuple[torch.dtype | None, str]:
    """The reduced-precision type this device runs natively, or None, and why."""
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        capability = f"compute capability {major}.{minor}"
        if major >= 8:
            return torch.bfloat16, f"{capability}: bfloat16 tensor cores"
        if major == 7:
            return torch.float16, f"{capability}: float16 tensor cores, no bfloat16 hardware"
        return None, f"{capability}: no tensor cores"
    if device.type == "cpu":
        if cpu_has_bfloat16():
            return torch.bfloat16, "CPU with bfloat16 instructions"
        return None, "CPU without bfloat16 instructions"
    return None, f"{device.type}: float32"


def choose_precision(device, amp="auto", channels_last="auto") -> Precision:
    """The precision and layout for ``device``: ``amp`` and ``channels_last`` are ``"auto"``, True or False.

    ``amp="auto"`` uses the device's native reduced type when it has one; ``amp=True`` forces autocast
    (bfloat16, or float16 on a CUDA 7.x card) and ``amp=False`` keeps float32. ``channels_last="auto"``
    follows the precision: on with autocast, off in float32.
    """
    device = torch.device(device)
    native, reason = _fast_type(device)
    if amp == "auto":
        dtype = native
    elif amp:
        dtype = native or torch.bfloat16
        reason = reason if native else f"{reason}; amp=True asked for bfloat16"
    else:
        dtype, reason = None, "amp=False"
    layout = dtype is not None if channels_last == "auto" else bool(channels_last)
    return Precision(dtype, layout, reason)
