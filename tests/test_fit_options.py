"""Every ``fit`` option tested by what it does, observed from outside the training step: the targets and
the loss the step computes (recomputed here by the papers' formulas from the logits ``on_step`` reports),
the learning-rate curve, the clipped gradient norms, the optimizer's update, the EMA weights after a
resume and the batch the model sees. Each test fails when ``fit`` ignores its option.
"""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnlab.train.loop as loop
from cnnlab.train import evaluate, fit

QUIET = dict(device="cpu", progress=False, live=False)
CLASSES = 4


class FixedLoader:
    """The same batches, in the same order, every epoch: what the model sees is known."""

    def __init__(self, images, labels, batch_size):
        self.images, self.labels, self.batch_size = images, labels, batch_size

    def __len__(self):
        return len(self.labels) // self.batch_size

    def __iter__(self):
        for i in range(len(self)):
            part = slice(i * self.batch_size, (i + 1) * self.batch_size)
            yield self.images[part], self.labels[part]


def tiny_data(n_train=32, n_test=16, batch_size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    train_x, test_x = torch.randn(n_train, 3, 8, 8, generator=g), torch.randn(n_test, 3, 8, 8, generator=g)
    train_y, test_y = torch.arange(n_train) % CLASSES, torch.arange(n_test) % CLASSES
    data = SimpleNamespace(train=SimpleNamespace(images=train_x, labels=train_y),
                           test=SimpleNamespace(images=test_x, labels=test_y), num_classes=CLASSES,
                           name="tiny", source="tiny tensors", mean=(0, 0, 0), std=(1, 1, 1))
    return data, dict(train_loader=FixedLoader(train_x, train_y, batch_size),
                      test_loader=FixedLoader(test_x, test_y, n_test))


def tiny_cnn(seed=0):
    """A small CNN whose logits are far from uniform from the start, so every change of target shows."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(6, CLASSES))
    with torch.no_grad():
        model[4].weight.mul_(30)
    return model


def smoothed_ce(logits, target, eps):
    """Label smoothing by its definition [szegedy2016rethinking]: the target is (1 - eps) one-hot + eps uniform."""
    soft = (1 - eps) * F.one_hot(target, logits.shape[1]).float() + eps / logits.shape[1]
    return soft_ce(logits, soft)


def soft_ce(logits, soft):
    return -(soft * torch.log_softmax(logits.double(), 1)).sum(1).mean().item()


def record_inputs(model):
    """The input of every training forward of ``model``."""
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()) if m.training else None)
    return seen


def run(model, epochs=1, **options):
    data, loaders = tiny_data()
    steps = []
    options = {**dict(schedule="constant", lr=0.05), **options}
    history = fit(model, data, epochs, on_step=steps.append, **loaders, **QUIET, **options)
    return history, steps, data


# --- the loss: label smoothing, auxiliary outputs, distillation -------------------------------------

def test_label_smoothing_is_in_the_loss_the_step_minimizes():
    _, steps, _ = run(tiny_cnn(), label_smoothing=0.2)
    for s in steps:
        assert s.loss == pytest.approx(smoothed_ce(s.outputs, s.labels, 0.2), rel=1e-5)
    assert max(abs(s.loss - smoothed_ce(s.outputs, s.labels, 0.0)) for s in steps) > 1e-2  # it made a difference


class WithAux(nn.Module):
    """GoogLeNet-style: (main logits, auxiliary logits) in training."""

    def __init__(self):
        super().__init__()
        self.main, self.aux = tiny_cnn(0), tiny_cnn(1)

    def forward(self, x):
        return (self.main(x), self.aux(x)) if self.training else self.main(x)


def test_label_smoothing_reaches_the_auxiliary_outputs():
    model = WithAux()
    aux_logits = []
    model.aux.register_forward_hook(lambda m, i, out: aux_logits.append(out.detach()) if m.training else None)
    _, steps, _ = run(model, label_smoothing=0.2)
    assert len(aux_logits) == len(steps)
    for s, aux in zip(steps, aux_logits):
        expected = smoothed_ce(s.outputs, s.labels, 0.2) + 0.3 * smoothed_ce(aux, s.labels, 0.2)
        assert s.loss == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_distillation_loss_and_its_smoothed_hard_term(eps):
    teacher = tiny_cnn(seed=9)
    teacher_logits = []
    teacher.register_forward_hook(lambda m, i, out: teacher_logits.append(out.detach()))
    t, w = 3.0, 0.4
    _, steps, _ = run(tiny_cnn(), teacher=teacher, distill_temperature=t, distill_weight=w, label_smoothing=eps)
    assert len(teacher_logits) == len(steps)  # the teacher runs once per step, on the same batch
    for s, z_t in zip(steps, teacher_logits):
        p_t = torch.softmax(z_t.double() / t, 1)
        kl = (p_t * (p_t.log() - torch.log_softmax(s.outputs.double() / t, 1))).sum(1).mean().item()
        expected = (1 - w) * smoothed_ce(s.outputs, s.labels, eps) + w * t * t * kl  # hinton2015distilling
        assert s.loss == pytest.approx(expected, rel=1e-5)


# --- MixUp / CutMix: the batch the model sees and the soft targets of the loss ----------------------

def test_mixup_blends_each_image_with_its_neighbour_and_the_labels_alike():
    model = tiny_cnn()
    seen = record_inputs(model)
    data, loaders = tiny_data()
    steps = []
    fit(model, data, 1, mix="mixup", schedule="constant", lr=0.05, on_step=steps.append, **loaders, **QUIET)
    originals = list(loaders["train_loader"])
    for s, x_seen, (x, y) in zip(steps, seen, originals):
        partner = x.roll(1, 0)  # zhang2018mixup, as torchvision pairs a batch with itself shifted by one
        lam = ((x_seen - partner) * (x - partner)).sum() / ((x - partner) ** 2).sum()
        torch.testing.assert_close(x_seen, lam * x + (1 - lam) * partner, atol=1e-5, rtol=0)
        assert 0 < lam < 1 and not torch.equal(x_seen, x)
        soft = lam * F.one_hot(y, CLASSES) + (1 - lam) * F.one_hot(y.roll(1), CLASSES)
        assert s.loss == pytest.approx(soft_ce(s.outputs, soft.double()), rel=1e-4)


def test_cutmix_pastes_one_box_and_weights_the_labels_by_its_area():
    model = tiny_cnn()
    seen = record_inputs(model)
    data, loaders = tiny_data()
    steps = []
    fit(model, data, 2, mix="cutmix", schedule="constant", lr=0.05, on_step=steps.append, **loaders, **QUIET)
    originals = list(loaders["train_loader"]) * 2
    pasted_any = False
    for s, x_seen, (x, y) in zip(steps, seen, originals):
        partner = x.roll(1, 0)
        pasted = (x_seen != x).any(1)  # (N, H, W): where the partner's pixels are [yun2019cutmix]
        assert torch.equal(pasted, pasted.all(0, keepdim=True).expand_as(pasted))  # one box for the batch
        torch.testing.assert_close(x_seen, torch.where(pasted[:, None], partner, x))
        rows, cols = pasted[0].any(1).nonzero(), pasted[0].any(0).nonzero()
        if len(rows):
            box = pasted[0][rows.min():rows.max() + 1, cols.min():cols.max() + 1]
            assert box.all(), "the pasted region is a rectangle"
            pasted_any = True
        area = pasted[0].float().mean()
        soft = (1 - area) * F.one_hot(y, CLASSES) + area * F.one_hot(y.roll(1), CLASSES)
        assert s.loss == pytest.approx(soft_ce(s.outputs, soft.double()), rel=1e-4)
    assert pasted_any


# --- the learning rate ---------------------------------------------------------------------------

def lr_curve(epochs, **options):
    _, steps, _ = run(tiny_cnn(), epochs=epochs, **options)
    return [s.lr for s in steps]


def test_step_schedule_divides_by_10_at_half_and_three_quarters():
    curve = lr_curve(2, schedule="step", lr=0.1)  # 8 steps: [0.1] * 4, [0.01] * 2, [0.001] * 2 [he2016deep]
    assert curve == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)


def test_constant_schedule_keeps_the_learning_rate():
    assert lr_curve(2, schedule="constant", lr=0.03) == pytest.approx([0.03] * 8)


def test_cosine_schedule_follows_the_half_cosine():
    total = 8
    expected = [0.1 * (1 + math.cos(math.pi * k / total)) / 2 for k in range(total)]  # loshchilov2017sgdr
    assert lr_curve(2, schedule="cosine", lr=0.1) == pytest.approx(expected)


def test_cosine_warmup_ramps_linearly_then_follows_the_cosine():
    warmup, total = 4, 12
    expected = [0.1 * (0.01 + 0.99 * k / warmup) for k in range(warmup)]
    expected += [0.1 * (1 + math.cos(math.pi * k / (total - warmup))) / 2 for k in range(total - warmup)]
    assert lr_curve(3, schedule="cosine", lr=0.1, warmup_epochs=1) == pytest.approx(expected)


def test_onecycle_rises_from_a_25th_to_the_peak_then_anneals():
    curve = lr_curve(5, schedule="onecycle", lr=0.1)  # 20 steps; PyTorch's OneCycleLR defaults [smith2019super]
    peak_at = round(0.3 * len(curve)) - 1
    assert curve[0] == pytest.approx(0.1 / 25)
    assert max(curve) == pytest.approx(0.1) and curve.index(max(curve)) == peak_at
    assert all(a < b for a, b in zip(curve[:peak_at], curve[1:peak_at + 1]))
    assert all(a > b for a, b in zip(curve[peak_at:-1], curve[peak_at + 1:]))
    assert curve[-1] < 0.1 / 25 / 1e3


# --- the update: optimizer choice, adaptive gradient clipping --------------------------------------

class ParamsBefore:
    """Copies of the parameters at every training forward (before that step's update)."""

    def __init__(self, model):
        self.model, self.copies = model, []
        model.register_forward_pre_hook(self)

    def __call__(self, module, args):
        if module.training:
            self.copies.append({n: p.detach().clone() for n, p in self.model.named_parameters()})


def updates_and_grads(optimizer, weight_decay=0.0, **options):
    """(the change of every parameter at each step, its gradient, the parameters before it)."""
    model = tiny_cnn()
    before = ParamsBefore(model)
    grads = []

    def keep_grads(info):  # the step's gradients are still on the parameters when on_step runs
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})

    data, loaders = tiny_data()
    fit(model, data, 1, optimizer=optimizer, schedule="constant", lr=0.01, weight_decay=weight_decay,
        on_step=keep_grads, **loaders, **QUIET, **options)
    after = before.copies[1:] + [{n: p.detach() for n, p in model.named_parameters()}]
    return [{n: a[n] - b[n] for n in b} for b, a in zip(before.copies, after)], grads, before.copies


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sgd_takes_a_nesterov_momentum_step(weight_decay):
    updates, grads, weights = updates_and_grads("sgd", weight_decay)
    for name, g in grads[0].items():  # first step: velocity d = g + wd w, Nesterov step = d + 0.9 d
        d = g + weight_decay * weights[0][name]
        torch.testing.assert_close(updates[0][name], -0.01 * 1.9 * d, atol=1e-6, rtol=1e-3)


@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
def test_adamw_first_step_moves_each_weight_by_the_learning_rate(weight_decay):
    updates, grads, weights = updates_and_grads("adamw", weight_decay)
    for name, g in grads[0].items():  # loshchilov2019decoupled: m/sqrt(v) = sign(g) on the first step,
        w = weights[0][name]           # the decay applied to the weights directly (decoupled)
        expected = -0.01 * torch.sign(g) * (g.abs() > 1e-6) - 0.01 * weight_decay * w
        torch.testing.assert_close(updates[0][name], expected, atol=2e-5, rtol=0)


def unit_ratios(grad, weight):
    """||grad of unit|| / max(||weight of unit||, 1e-3), per output unit [brock2021high] Eq. 3."""
    return grad.flatten(1).norm(dim=1) / weight.flatten(1).norm(dim=1).clamp_min(1e-3)


def test_agc_clips_every_unit_but_the_classifiers_to_the_clip_ratio():
    clip = 1e-3
    model = tiny_cnn()
    before = ParamsBefore(model)
    ratios = []
    data, loaders = tiny_data()
    fit(model, data, 1, agc=clip, schedule="constant", lr=0.05, **loaders, **QUIET,
        on_step=lambda info: ratios.append((unit_ratios(model[0].weight.grad, before.copies[-1]["0.weight"]),
                                             unit_ratios(model[4].weight.grad, before.copies[-1]["4.weight"]))))
    for conv, classifier in ratios:
        assert conv.max() <= clip * (1 + 1e-4)
        assert conv.max() == pytest.approx(clip, rel=1e-4)  # the gradients were larger: clipped to the bound
    assert max(classifier.max() for _, classifier in ratios) > clip  # the classifier is not clipped


# --- EMA after a resume -----------------------------------------------------------------------------

def evaluated_weights(monkeypatch):
    """The weights of every model fit evaluates (the EMA copy when ``ema`` is set)."""
    seen = []

    def spy(model, *args, **kwargs):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return evaluate(model, *args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", spy)
    return seen


def test_ema_weights_survive_an_interrupt_and_a_resume(tmp_path, monkeypatch):
    options = dict(ema=0.9, schedule="constant", lr=0.05)
    straight = evaluated_weights(monkeypatch)
    straight_model = tiny_cnn()
    run(straight_model, epochs=2, **options)
    assert not torch.equal(straight[-1]["0.weight"], straight_model.state_dict()["0.weight"]), \
        "the evaluated weights are the EMA's, not the model's"

    final = straight[-1]  # the EMA after epoch 2
    data, loaders = tiny_data()
    ckpt = tmp_path / "run.pt"
    fit(tiny_cnn(), data, 2, checkpoint=ckpt, on_step=lambda s: s.step == 6, **loaders, **QUIET, **options)
    resumed = evaluated_weights(monkeypatch)
    fit(tiny_cnn(seed=3), data, 2, checkpoint=ckpt, resume=True, **loaders, **QUIET, **options)
    assert len(resumed) == 1  # epoch 2 only
    for key, value in final.items():
        torch.testing.assert_close(resumed[-1][key], value, atol=1e-6, rtol=0)


# --- the default augmentation: random crop after 4-pixel reflect padding and horizontal flips -------

def test_default_augmentation_crops_and_flips_the_batch():
    """Every training image is the same ramp (channel 0: 8 x column, channel 1: 8 x row), so the centre
    pixel the model sees tells its shift and whether it was mirrored."""
    n = 256
    column, row = torch.arange(32) * 8, torch.arange(32)[:, None] * 8
    image = torch.stack([column.expand(32, 32), row.expand(32, 32), torch.zeros(32, 32, dtype=torch.long)])
    images = image.to(torch.uint8).expand(n, 3, 32, 32).clone()
    split = SimpleNamespace(images=images, labels=torch.arange(n) % CLASSES)
    data = SimpleNamespace(train=split, test=split, num_classes=CLASSES, name="ramps", source="ramps",
                           mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, CLASSES))
    seen = record_inputs(model)
    fit(model, data, 1, batch_size=64, schedule="constant", lr=0.01, **QUIET)
    x = torch.cat(seen) * 255  # mean 0, std 1: the pixel values themselves
    centre_column, centre_row = (x[:, 0, 16, 16] / 8).round(), (x[:, 1, 16, 16] / 8).round()
    flipped = (x[:, 0, 16, 20] < x[:, 0, 16, 12])  # the ramp falls to the right: mirrored
    shift_x = torch.where(flipped, 31 - centre_column, centre_column) - 16
    shift_y = centre_row - 16
    assert 0.3 < flipped.float().mean() < 0.7  # flips: about half
    assert set(shift_y.tolist()) == set(range(-4, 5)) and shift_x.abs().max() == 4  # crops up to 4 px
    assert (shift_y != 0).float().mean() > 0.5


# --- mixed precision and memory layout --------------------------------------------------------------

@pytest.mark.parametrize("amp, dtype", [(True, torch.bfloat16), (False, torch.float32)])
def test_amp_runs_the_training_forward_in_bfloat16_on_cpu(amp, dtype):
    model = tiny_cnn()
    dtypes = []
    model[0].register_forward_hook(lambda m, i, out: dtypes.append(out.dtype) if m.training else None)
    run(model, amp=amp)
    assert dtypes and set(dtypes) == {dtype}


@pytest.mark.parametrize("channels_last", [True, False])
def test_channels_last_is_the_layout_the_model_sees(channels_last):
    model = tiny_cnn()
    layouts = []
    in_layout = lambda m, args: args[0].is_contiguous(memory_format=torch.channels_last)  # noqa: E731
    model.register_forward_pre_hook(lambda m, args: layouts.append(in_layout(m, args)) if m.training else None)
    data = tiny_data()[0]
    data.train.images = (data.train.images.clamp(-2, 2) * 60 + 128).to(torch.uint8)  # the default loaders want uint8
    data.test.images = (data.test.images.clamp(-2, 2) * 60 + 128).to(torch.uint8)
    fit(model, data, 1, batch_size=8, channels_last=channels_last, schedule="constant", lr=0.01, **QUIET)
    assert layouts and all(layout == channels_last for layout in layouts)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last) == channels_last
