"""Tests of cnnlab.train: fit, History, checkpoints/resume, interrupt, losses, AGC, EMA, evaluate."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train import (History, adaptive_clip_grad, agc_parameters, classification_loss, compare, distillation_loss, evaluate, fit,
                          load_checkpoint, save_checkpoint)
from cnnlab.train.history import ROW_FIELDS


class TinyLoader:
    """A stand-in of cnnlab.data.DeviceLoader: shuffles and flips with the global torch RNG."""

    def __init__(self, images, labels, batch_size=16, train=True):
        self.images, self.labels, self.batch_size, self.train = images, labels, batch_size, train

    def __len__(self):
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.labels)) if self.train else torch.arange(len(self.labels))
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            x = self.images[idx]
            if self.train:
                flip = torch.rand(len(idx)) < 0.5
                x = torch.where(flip[:, None, None, None], x.flip(3), x)
            yield x, self.labels[idx]


def tiny_data(n_train=64, n_test=32, classes=4, seed=0):
    """Images whose class sets the mean of one colour channel: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)

    def split(n):
        labels = torch.randint(0, classes, (n,), generator=g)
        images = torch.randn(n, 3, 8, 8, generator=g) * 0.5
        images[:, 0] += labels[:, None, None].float() - classes / 2
        return SimpleNamespace(images=images, labels=labels)

    train, test = split(n_train), split(n_test)
    data = SimpleNamespace(train=train, test=test, num_classes=classes, name="tiny", source="tiny test tensors",
                           mean=(0, 0, 0), std=(1, 1, 1))
    loaders = dict(train_loader=TinyLoader(train.images, train.labels), test_loader=TinyLoader(
        test.images, test.labels, 32, train=False))
    return data, loaders


def tiny_cnn(classes=4, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes))


QUIET = dict(device="cpu", progress=False, live=False)


def test_fit_records_rows_and_meta():
    data, loaders = tiny_data()
    history = fit(tiny_cnn(), data, 2, lr=0.05, name="tiny", **loaders, **QUIET)
    assert [r["epoch"] for r in history.rows] == [1, 2]
    for row in history.rows:
        assert set(ROW_FIELDS) <= set(row)
        assert row["images_per_s"] > 0 and 0 <= row["test_acc"] <= 1
    meta = history.meta
    assert meta["device"].startswith("cpu") and meta["data_source"] == "tiny test tensors"
    assert meta["parameters"] == sum(p.numel() for p in tiny_cnn().parameters())
    assert meta["interrupted"] is False and meta["options"]["schedule"] == "onecycle"
    assert history.rows[-1]["test_acc"] > 0.4  # 4 classes: chance is 0.25
    assert "cpu" in history.summary() and "tiny test tensors" in history.summary()
    assert "2 epochs" in repr(history)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


class InterruptAt:
    """A forward hook that raises KeyboardInterrupt on the ``call``-th training forward."""

    def __init__(self, call):
        self.call, self.count = call, 0

    def __call__(self, module, inputs, output):
        if module.training:
            self.count += 1
            if self.count == self.call:
                raise KeyboardInterrupt


def test_interrupt_then_resume_equals_uninterrupted(tmp_path, capsys):
    data, loaders = tiny_data()
    steps = len(loaders["train_loader"])
    straight = tiny_cnn()
    h_straight = fit(straight, data, 2, **loaders, **QUIET)

    ckpt = tmp_path / "run.pt"
    model = tiny_cnn()
    model.register_forward_hook(InterruptAt(steps + 2))  # during epoch 2
    h_cut = fit(model, data, 2, checkpoint=ckpt, **loaders, **QUIET)
    assert "interrupted" in capsys.readouterr().out
    assert h_cut.meta["interrupted"] is True and len(h_cut.rows) == 1
    assert load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1  # the last complete epoch is intact

    resumed = tiny_cnn(seed=123)  # a fresh model with other weights
    h_resumed = fit(resumed, data, 2, checkpoint=ckpt, resume=True, **loaders, **QUIET)
    assert h_resumed.meta["interrupted"] is False and len(h_resumed.rows) == 2
    for key, value in _weights(straight).items():
        torch.testing.assert_close(resumed.state_dict()[key], value, atol=1e-6, rtol=0)
    for a, b in zip(h_straight.rows, h_resumed.rows):
        for field in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
            assert a[field] == pytest.approx(b[field], abs=1e-6)


def test_a_new_run_keeps_the_earlier_checkpoint_as_previous(tmp_path, capsys):
    data, loaders = tiny_data()
    ckpt = tmp_path / "run.pt"
    fit(tiny_cnn(), data, 1, checkpoint=ckpt, **loaders, **QUIET)
    earlier = ckpt.read_bytes()
    fit(tiny_cnn(seed=7), data, 1, checkpoint=ckpt, **loaders, **QUIET)  # a new run, not resume=True
    assert "run.pt held an earlier run: kept as run.previous.pt" in capsys.readouterr().out
    assert (tmp_path / "run.previous.pt").read_bytes() == earlier
    assert ckpt.read_bytes() != earlier and load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    ckpt = tmp_path / "c.pt"
    model = tiny_cnn()
    save_checkpoint(ckpt, model, epoch=1)
    before = ckpt.read_bytes()

    def crash(obj, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(ckpt, tiny_cnn(seed=5), epoch=2)
    monkeypatch.undo()
    assert ckpt.read_bytes() == before
    assert load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1
    assert list(tmp_path.iterdir()) == [ckpt]  # no temp file left behind


def test_wrong_architecture_checkpoint_is_refused(tmp_path):
    ckpt = tmp_path / "c.pt"
    save_checkpoint(ckpt, tiny_cnn(), epoch=1)
    other = nn.Linear(3, 4)
    with pytest.raises(ValueError, match="Sequential.*Linear"):
        load_checkpoint(ckpt, other)
    wider = nn.Sequential(nn.Conv2d(3, 16, 3))
    with pytest.raises(ValueError, match="does not fit"):
        load_checkpoint(ckpt, wider)


def test_history_json_round_trip_and_plots(tmp_path):
    rows = [dict(epoch=e, train_loss=1.0 / e, train_acc=0.1 * e, test_loss=1.2 / e, test_acc=0.09 * e, lr=0.1,
                 seconds=1.5, images_per_s=100.0) for e in (1, 2, 3)]
    history = History(rows, dict(name="a", device="cpu", profile="smoke", data_source="stand-in"))
    loaded = History.load(history.save(tmp_path / "h.json"))
    assert loaded.rows == history.rows and loaded.meta == history.meta
    assert len(history.plot().axes) == 2
    assert len(compare([history, loaded]).axes[0].lines) == 2
    with pytest.raises(ValueError, match="missing"):
        history.append(dict(epoch=4))


def test_evaluate_confusion_matrix():
    data, loaders = tiny_data(n_test=37)
    result = evaluate(tiny_cnn(), TinyLoader(data.test.images, data.test.labels, 10, train=False), "cpu")
    assert result.confusion.shape == (4, 4) and int(result.confusion.sum()) == 37
    assert result.confusion.sum(1).tolist() == torch.bincount(data.test.labels, minlength=4).tolist()
    assert result.accuracy == pytest.approx(float(result.confusion.diag().sum()) / 37)
    assert (result.predictions == result.labels).float().mean().item() == pytest.approx(result.accuracy)


def test_distillation_loss_matches_hand_computation():
    student = torch.tensor([[1.0, 2.0, 0.5]])
    teacher = torch.tensor([[0.2, 3.0, 1.0]])
    target = torch.tensor([1])
    t, w = 2.0, 0.3
    p_t = torch.softmax(teacher / t, 1)
    log_p_s = torch.log_softmax(student / t, 1)
    kl = (p_t * (p_t.log() - log_p_s)).sum()
    expected = (1 - w) * F.cross_entropy(student, target) + w * t * t * kl
    assert distillation_loss(student, teacher, target, t, w).item() == pytest.approx(expected.item(), rel=1e-6)


def test_agc_clips_units_and_skips_classifier():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(3, 2))
    conv, head = model[0], model[2]
    params = agc_parameters(model)
    assert {id(p) for p in params} == {id(conv.weight), id(conv.bias)}
    conv.weight.grad = torch.full_like(conv.weight, 1e3)
    conv.weight.grad[0] = 1e-6  # a small gradient is left alone
    conv.bias.grad = torch.zeros_like(conv.bias)
    small = conv.weight.grad[0].clone()
    adaptive_clip_grad(params, clip=0.01)
    for unit in (1, 2):
        w_norm = conv.weight[unit].norm().clamp_min(1e-3)
        assert conv.weight.grad[unit].norm().item() == pytest.approx(0.01 * w_norm.item(), rel=1e-4)
    torch.testing.assert_close(conv.weight.grad[0], small)
    with pytest.raises(ValueError, match="clip"):
        adaptive_clip_grad(params, clip=0)
    assert head.weight.grad is None


def test_label_smoothing_and_aux_outputs_in_the_loss():
    logits, aux = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    target = torch.tensor([0])
    eps = 0.3
    log_p = torch.log_softmax(logits, 1)
    smoothed = (1 - eps) * -log_p[0, 0] + eps * -log_p.mean()
    assert classification_loss(logits, target, eps).item() == pytest.approx(smoothed.item(), rel=1e-6)
    with_aux = F.cross_entropy(logits, target) + 0.3 * F.cross_entropy(aux, target)
    assert classification_loss((logits, aux), target).item() == pytest.approx(with_aux.item(), rel=1e-6)


def test_ema_follows_the_formula_after_one_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))
    start = _weights(model)
    data, _ = tiny_data(n_train=16, n_test=8)
    loaders = dict(train_loader=TinyLoader(data.train.images, data.train.labels, 16),
                   test_loader=TinyLoader(data.test.images, data.test.labels, 8, train=False))
    seen = {}
    import cnnlab.train.loop as loop

    def spy(m, *args, **kwargs):
        seen["model"] = m
        return evaluate(m, *args, **kwargs)

    loop_evaluate, loop.evaluate = loop.evaluate, spy
    try:
        fit(model, data, 1, ema=0.9, schedule="constant", lr=0.5, weight_decay=0.0, **loaders, **QUIET)
    finally:
        loop.evaluate = loop_evaluate
    ema_model = seen["model"]
    for key, w0 in start.items():
        w1 = model.state_dict()[key]
        assert not torch.equal(w1, w0)
        torch.testing.assert_close(ema_model.state_dict()[key], 0.9 * w0 + 0.1 * w1)


@pytest.mark.parametrize("bad, match", [
    (dict(optimizer="adam"), "sgd"), (dict(schedule="linear"), "onecycle"), (dict(mix="blend"), "mixup"),
    (dict(epochs=0), "epochs"), (dict(amp="yes"), "amp"), (dict(ema=1.5), "ema"),
])
def test_bad_options_name_what_is_expected(bad, match):
    data, loaders = tiny_data(n_train=16, n_test=8)
    options = dict(epochs=1, **loaders, **QUIET)
    options.update(bad)
    with pytest.raises(ValueError, match=match):
        fit(tiny_cnn(), data, **options)


def test_wrong_data_kind_is_refused():
    with pytest.raises(ValueError, match="cnnlab Data"):
        fit(tiny_cnn(), [1, 2, 3], 1, **QUIET)
    with pytest.raises(ValueError, match="evaluate"):
        evaluate(tiny_cnn(), 42, "cpu")


class WithAux(nn.Module):
    """A GoogLeNet-style model: (main logits, auxiliary logits) in training."""

    def __init__(self):
        super().__init__()
        self.body = tiny_cnn()
        self.aux = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4))

    def forward(self, x):
        return self.body(x), self.aux(x)


def test_tuple_outputs_train_and_evaluate_the_first():
    data, loaders = tiny_data(n_train=32, n_test=16)
    model = WithAux()
    history = fit(model, data, 1, **loaders, **QUIET)
    result = evaluate(model, loaders["test_loader"], "cpu")
    assert result.accuracy == pytest.approx(history.rows[0]["test_acc"])
    model.eval()
    with torch.no_grad():
        expected = model(data.test.images)[0].argmax(1)
    assert torch.equal(result.predictions, expected)


def test_amp_on_cpu_when_asked():
    data, loaders = tiny_data(n_train=32, n_test=16)
    history = fit(tiny_cnn(), data, 1, amp=True, **loaders, **QUIET)
    assert history.meta["options"]["amp"] == "bfloat16" and math.isfinite(history.rows[0]["train_loss"])


def test_live_curves_redraw_one_figure_in_place(monkeypatch, capsys):
    import IPython.display
    from cnnlab.train.live import LiveCurves

    class Handle:
        updates = 0

        def update(self, fig):
            Handle.updates += 1

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda fig, display_id: shown.append(display_id) or Handle())
    history = History([dict(epoch=1, train_loss=1.0, train_acc=0.5, test_loss=1.1, test_acc=0.4, lr=0.1,
                            seconds=1.0, images_per_s=10.0)], dict(device="cpu"))
    curves = LiveCurves(live=True)
    for _ in range(3):
        curves.update(history)
    assert shown == [True] and Handle.updates == 2  # displayed once, then updated in place
    LiveCurves(live=False).update(history)
    assert "epoch   1 | train loss 1.0000" in capsys.readouterr().out


def _standin(n_train=64, n_test=32):
    from cnnlab import data as data_module

    return data_module.load("cifar10", source="standin", train_size=n_train, test_size=n_test)


def test_fit_and_evaluate_on_the_standin_with_device_loaders():
    data = _standin()
    model = tiny_cnn(classes=data.num_classes)
    history = fit(model, data, 1, batch_size=16, **QUIET)
    assert history.meta["data_source"] == data.source and len(history.rows) == 1
    assert int(evaluate(model, data, "cpu").confusion.sum()) == len(data.test.labels)


def test_resume_with_device_loaders_repeats_the_straight_run(tmp_path):
    data = _standin()
    straight = tiny_cnn(classes=data.num_classes)
    fit(straight, data, 2, batch_size=16, **QUIET)
    ckpt = tmp_path / "run.pt"
    first = tiny_cnn(classes=data.num_classes)
    first.register_forward_hook(InterruptAt(len(data.train.labels) // 16 + 2))
    fit(first, data, 2, batch_size=16, checkpoint=ckpt, **QUIET)
    resumed = tiny_cnn(classes=data.num_classes, seed=7)
    fit(resumed, data, 2, batch_size=16, checkpoint=ckpt, resume=True, **QUIET)
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, atol=1e-6, rtol=0)


# --- the per-step hook, the recipe, the validation split (issue 12 item 3; validation split) ----

def test_on_step_records_every_step_and_can_stop_like_ctrl_c(tmp_path, capsys):
    data, loaders = tiny_data()
    steps = len(loaders["train_loader"])
    seen = []
    history = fit(tiny_cnn(), data, 2, schedule="constant", lr=0.05, on_step=seen.append, **loaders, **QUIET)
    assert [s.step for s in seen] == list(range(1, 2 * steps + 1)) and seen[-1].epoch == 2
    assert all(s.lr == pytest.approx(0.05) and math.isfinite(s.loss) for s in seen)
    errors = [(s.outputs.argmax(1) != s.labels).float().mean().item() for s in seen]  # chapter 02's training error
    assert all(0 <= e <= 1 for e in errors) and len(history.rows) == 2
    epoch_1 = sum(s.loss * len(s.labels) for s in seen[:steps]) / len(data.train.labels)
    assert epoch_1 == pytest.approx(history.rows[0]["train_loss"], rel=1e-5)  # the losses fit averaged

    ckpt = tmp_path / "run.pt"
    stopped = fit(tiny_cnn(), data, 2, checkpoint=ckpt, on_step=lambda s: s.step == steps + 2, **loaders, **QUIET)
    assert "interrupted" in capsys.readouterr().out
    assert len(stopped.rows) == 1 and stopped.meta["interrupted"] and "on_step" in stopped.meta["stopped"]
    assert load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1


def test_meta_options_and_checkpoint_settings_come_from_one_recipe(tmp_path):
    from cnnlab.train import Recipe, read_checkpoint

    data, loaders = tiny_data()
    ckpt = tmp_path / "run.pt"
    history = fit(tiny_cnn(), data, 1, optimizer="adamw", checkpoint=ckpt, **loaders, **QUIET)
    options = history.meta["options"]
    assert options == read_checkpoint(ckpt)["settings"]
    assert options["lr"] == 1e-3 and options["steps_per_epoch"] == len(loaders["train_loader"])
    assert set(Recipe.__dataclass_fields__) <= set(options)


def uint8_split(n, classes, g):
    return SimpleNamespace(images=torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=g),
                           labels=torch.arange(n) % classes)


def test_validation_split_chooses_epochs_and_test_is_evaluated_once(monkeypatch):
    import cnnlab.train.loop as loop

    g = torch.Generator().manual_seed(0)
    data = SimpleNamespace(train=uint8_split(48, 4, g), val=uint8_split(16, 4, g), test=uint8_split(24, 4, g),
                           num_classes=4, name="hand-made", source="hand-made uint8", mean=(0.5,) * 3, std=(0.25,) * 3)
    evaluated = []

    def spy(model, loader, *args, **kwargs):
        evaluated.append(len(loader.labels))
        return evaluate(model, loader, *args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", spy)
    history = fit(tiny_cnn(), data, 3, batch_size=16, **QUIET)
    assert evaluated == [16, 16, 16, 24]  # validation every epoch, test once at the end
    assert all("val_acc" in row and "test_acc" not in row for row in history.rows)
    best = max(history.rows, key=lambda row: row["val_acc"])
    assert history.best_epoch() == best
    summary = history.summary()
    assert f"test acc {history.test['accuracy']:.2%}" in summary
    assert f"val acc best {best['val_acc']:.2%} at epoch {best['epoch']}" in summary
    with pytest.raises(KeyError, match="validation split"):
        history.column("test_acc")
    assert len(compare([history]).axes[0].lines) == 1 and compare([history]).axes[0].get_ylabel() == "validation accuracy"
    labels = [line.get_label() for line in history.plot().axes[1].lines]
    assert labels == ["train", "validation", "test (once, at the end)"]


def test_summary_best_is_the_highest_validation_accuracy():
    rows = [dict(epoch=e, train_loss=1.0, train_acc=0.5, val_loss=1.0, val_acc=acc, lr=0.1, seconds=1.0,
                 images_per_s=10.0) for e, acc in ((1, 0.30), (2, 0.70), (3, 0.10), (4, 0.50))]
    history = History(rows, dict(device="cpu", profile="smoke", data_source="hand-made", validation=True))
    history.test = dict(accuracy=0.6, loss=1.0, epoch=4)
    assert history.best_epoch()["epoch"] == 2
    assert "val acc best 70.00% at epoch 2, final 50.00%" in history.summary()


def test_without_validation_split_no_best_epoch_is_chosen_on_test():
    data, loaders = tiny_data()
    history = fit(tiny_cnn(), data, 2, **loaders, **QUIET)
    assert history.best_epoch() is None
    assert history.test == dict(accuracy=history.rows[-1]["test_acc"], loss=history.rows[-1]["test_loss"], epoch=2)
    assert "no validation split: no best epoch chosen" in history.summary()
    assert "best" not in history.summary().split("|")[0]


# --- one place for each idea (issue 12 item 4) --------------------------------------------------

def test_bench_times_fits_own_step(monkeypatch):
    import cnnlab.train.step as step_module
    from cnnlab import bench

    calls = []
    real_call = step_module.TrainStep.__call__
    monkeypatch.setattr(step_module.TrainStep, "__call__", lambda self, x, y: calls.append(1) or real_call(self, x, y))
    bench.benchmark({"tiny": lambda: tiny_cnn(classes=10)}, batch_size=4, steps=2, warmup=1, device="cpu", rounds=1)
    assert len(calls) == 3  # the warm-up step and the timed steps are TrainStep's


def test_mixup_comes_from_one_builder():
    from cnnlab.analysis.regularization import mixed_samples
    from cnnlab.data.mix import mix_batch

    images, labels = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    torch.manual_seed(5)
    expected = mix_batch(images, labels, 4, "cutmix", alpha=0.7)
    mixed = mixed_samples(images, labels, 4, "cutmix", alpha=0.7, seed=5)
    assert torch.equal(mixed[0], expected[0]) and torch.equal(mixed[1], expected[1])


def test_the_cutout_figure_is_the_loaders_cutout():
    from cnnlab.analysis.regularization import regularizer_masks
    from cnnlab.data import DeviceLoader

    blank = SimpleNamespace(images=torch.zeros(64, 1, 16, 16, dtype=torch.uint8), labels=torch.zeros(64))
    loader = DeviceLoader(blank, 64, "cpu", crop=0, flip=False, cutout=7, mean=(0.0,), std=(1.0,), seed=3)
    trained = loader.augment(torch.ones(64, 1, 16, 16))[:, 0]
    shown = regularizer_masks(torch.rand(64, 3, 16, 16), block_size=7, seed=3)["cutout"]
    assert torch.equal(shown, trained)
    assert (shown == 0).sum((1, 2)).min() < 49  # some squares leave the image, as in training


def test_unitwise_ratios_use_agcs_norm():
    from cnnlab.analysis.regularization import unitwise_ratios
    from cnnlab.train import unitwise_norm

    conv = nn.Conv2d(2, 3, 3)
    conv(torch.randn(1, 2, 5, 5)).sum().backward()
    expected = (unitwise_norm(conv.weight.grad) / unitwise_norm(conv.weight.detach()).clamp_min(1e-3)).flatten()
    torch.testing.assert_close(unitwise_ratios(conv)["weight"], expected)


def test_the_last_live_frame_shows_the_final_test_accuracy(monkeypatch):
    import cnnlab.train.live as live

    g = torch.Generator().manual_seed(0)
    data = SimpleNamespace(train=uint8_split(48, 4, g), val=uint8_split(16, 4, g), test=uint8_split(24, 4, g),
                           num_classes=4, name="hand-made", source="hand-made uint8", mean=(0.5,) * 3, std=(0.25,) * 3)
    titles = []
    monkeypatch.setattr(live.LiveCurves, "_draw", lambda self, history: (setattr(self, "handle", object()),
                                                                          titles.append(history.summary())))
    history = fit(tiny_cnn(), data, 2, batch_size=16, **{**QUIET, "live": True})
    assert len(titles) == 3  # one frame per epoch, and one after the test evaluation
    assert "test acc not measured" in titles[1] and f"test acc {history.test['accuracy']:.2%}" in titles[2]
