"""The GPU path without a GPU (issue 23): the precision chosen from what the hardware does natively, the
gradient scaler only with float16, and a NaN loss caught on the device without a host read per step.

The expected precisions come from NVIDIA's hardware tables, not from the code: bfloat16 tensor cores
from compute capability 8.0 (Ampere), float16-only tensor cores on 7.0 (V100) and 7.5 (T4), none before.
"""
import copy

import pytest
import torch

from cnnlab.train import Recipe, TrainStep, fit
from cnnlab.train import precision as precision_module
from cnnlab.train import step as step_module
from cnnlab.train.precision import choose_precision
from test_train import QUIET, tiny_cnn, tiny_data


@pytest.fixture
def gpu_with_capability(monkeypatch):
    def pretend(major, minor):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what a T4 answers, too
    return pretend


@pytest.mark.parametrize("capability, dtype, scaler", [
    ((7, 0), torch.float16, True),    # V100
    ((7, 5), torch.float16, True),    # T4, Colab's free GPU: no bfloat16 hardware
    ((8, 0), torch.bfloat16, False),  # A100
    ((9, 0), torch.bfloat16, False),  # H100
    ((6, 0), None, False),            # P100: no tensor cores
])
def test_cuda_precision_follows_the_compute_capability(gpu_with_capability, capability, dtype, scaler):
    gpu_with_capability(*capability)
    chosen = choose_precision("cuda")
    assert chosen.dtype == dtype and chosen.needs_scaler is scaler
    assert chosen.channels_last is (dtype is not None)
    assert f"compute capability {capability[0]}.{capability[1]}" in str(chosen)


@pytest.mark.parametrize("dtype, scaler", [(torch.float16, True), (torch.bfloat16, False), (None, False)])
def test_train_step_scales_gradients_only_in_float16(monkeypatch, dtype, scaler):
    """TrainStep's wiring, on the CPU: a float16 precision (as on a T4) turns the GradScaler on."""
    monkeypatch.setattr(step_module, "choose_precision", lambda *a: precision_module.Precision(dtype, False, "test"))
    step = TrainStep(tiny_cnn(), Recipe(epochs=1, batch_size=16), 4, "cpu")
    assert step.scaler.is_enabled() is scaler


@pytest.mark.parametrize("has_bf16, dtype", [(True, torch.bfloat16), (False, None)])
def test_cpu_uses_bfloat16_only_with_the_instructions(monkeypatch, has_bf16, dtype):
    monkeypatch.setattr(precision_module, "cpu_has_bfloat16", lambda: has_bf16)
    chosen = choose_precision("cpu")
    assert chosen.dtype == dtype and not chosen.needs_scaler and chosen.channels_last is has_bf16


def test_amp_and_channels_last_can_be_forced(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_has_bfloat16", lambda: False)
    assert choose_precision("cpu", amp=True).dtype == torch.bfloat16
    assert choose_precision("cpu", amp=False, channels_last=True).channels_last
    monkeypatch.setattr(precision_module, "cpu_has_bfloat16", lambda: True)
    assert choose_precision("cpu", amp=False).dtype is None
    assert not choose_precision("cpu", channels_last=False).channels_last


def test_fit_prints_and_records_its_precision(capsys):
    data, loaders = tiny_data()
    history = fit(tiny_cnn(), data, 1, amp=False, channels_last=False, live=False, progress=True, **loaders)
    assert "float32, NCHW (amp=False)" in capsys.readouterr().out
    assert history.meta["options"]["amp"] is False and history.meta["options"]["channels_last"] is False


# --- a NaN loss, read every few steps ---------------------------------------------------------

def _nan_at(bad_call):
    calls = {"n": 0}

    def loss_fn(outputs, targets):
        calls["n"] += 1
        loss = torch.nn.functional.cross_entropy(outputs, targets)
        return loss * float("nan") if calls["n"] == bad_call else loss
    return loss_fn


@pytest.mark.parametrize("every", [1, 3])
def test_a_nan_mid_epoch_leaves_the_weights_of_the_last_good_step(monkeypatch, capsys, every):
    """The flag is read every 3 steps (as a GPU would, every 50): steps after the bad one still run on the
    device, and the weights and batch-norm statistics are put back to those after the last good step."""
    monkeypatch.setattr(step_module, "read_interval", lambda device: every)
    data, loaders = tiny_data(n_train=128)  # 8 steps per epoch
    model = tiny_cnn()
    before_step = []  # the model's state when each training step starts = after the step before it
    model.register_forward_pre_hook(lambda m, args: before_step.append(copy.deepcopy(m.state_dict()))
                                    if m.training else None)
    history = fit(model, data, 3, loss_fn=_nan_at(13), schedule="constant", **loaders, **QUIET)
    out = capsys.readouterr().out
    assert "loss became nan at epoch 2, step 5 of 8" in out  # step 13 = epoch 2, batch 5
    assert history.meta["stopped"].startswith("loss nan at epoch 2, step 5") and len(history.rows) == 1
    expected = before_step[12]  # the state after step 12, the last good one
    ran_after = len(before_step) - 13
    assert ran_after == (1 if every == 3 else 0)  # every=3 reads at batches 3, 6, ...: batch 6 ran on NaN weights
    for name, value in model.state_dict().items():
        assert torch.equal(value, expected[name]), name


def test_the_learning_rate_of_the_bad_step_is_reported(monkeypatch, capsys):
    monkeypatch.setattr(step_module, "read_interval", lambda device: 4)
    data, loaders = tiny_data(n_train=128)
    lrs = []
    fit(tiny_cnn(), data, 2, loss_fn=_nan_at(6), schedule="onecycle", lr=0.5,
        on_step=lambda info: lrs.append(info.lr), **loaders, **QUIET)
    # on_step makes every step read the flag, so the run stops at step 6 and its lr is the 6th
    sched = torch.optim.lr_scheduler.OneCycleLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5),
                                                max_lr=0.5, total_steps=16)
    expected = []
    for _ in range(6):
        expected.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    assert lrs == pytest.approx(expected[:5])
    assert f"learning rate {expected[5]:.4g}" in capsys.readouterr().out


def test_a_step_reads_nothing_from_the_device(monkeypatch):
    """No ``Tensor.item``/``bool`` on the loss inside a step: only ``check`` reads the device."""
    data, loaders = tiny_data()
    model = tiny_cnn()
    step = TrainStep(model, Recipe(epochs=1, batch_size=16, amp=False), 4, "cpu")
    reads = []
    monkeypatch.setattr(torch.Tensor, "item", lambda self: reads.append("item") or 0.0)
    monkeypatch.setattr(torch.Tensor, "__bool__", lambda self: reads.append("bool") or True)
    x, y = next(iter(loaders["train_loader"]))
    step(x, y)
    assert reads == []
