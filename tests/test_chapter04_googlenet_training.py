"""Chapter 04's experiment (``04/googlenet_training``): the paired networks start alike, He-initialized, each
comparison changes one option, and the stored calibration is that of the trained network on the test images.

Oracles: He et al.'s initialization, std = sqrt(2 / fan_in) with fan_in = in_channels * k_h * k_w [he2015delving]
(PyTorch's default gives sqrt(1 / (3 fan_in)), 2.45 times smaller); the softmax of a trained network recomputed on
test images normalized by hand, and the ECE written out as in test_calibration.py.
"""
import math

import pytest
import torch
from torch import nn

import cnnlab
from cnnlab.experiments.googlenet_training import BASE_LR, HIGH_LR, SMOOTHING, build, googlenet_training
from smoke_runs import run_with_spy, smoke_profile


def _convolutions(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_build_gives_he_initialization():
    checked = 0
    for conv in _convolutions(build(0)):
        fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
        if conv.weight.numel() >= 2000:  # enough weights for the sample std to sit within 5% of the true one
            assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1), conv
            checked += 1
    assert checked >= 10
    assert all(torch.count_nonzero(c.bias) == 0 for c in _convolutions(build(0, batch_norm=False)))


def test_a_seed_gives_the_same_weights_with_and_without_aux_heads_and_batch_norm():
    base, no_aux, no_bn, other = build(3), build(3, aux_logits=False), build(3, batch_norm=False), build(4)
    shared = dict(base.named_parameters())
    for name, tensor in no_aux.named_parameters():
        assert torch.equal(shared[name], tensor), name
    pairs = list(zip(_convolutions(base), _convolutions(no_bn)))
    assert len(pairs) == len(_convolutions(base)) == len(_convolutions(no_bn))
    assert all(torch.equal(a.weight, b.weight) for a, b in pairs)
    assert not torch.equal(_convolutions(base)[0].weight, _convolutions(other)[0].weight)


@pytest.fixture(scope="module")
def smoke_run():
    """The smoke run of the experiment, with each training's options and the weights it started from."""
    started = {}

    def spy(fit, model, data, **options):
        started[options["name"]] = (dict(options), {k: t.clone() for k, t in model.state_dict().items()})
        history = fit(model, data, **options)
        if options["name"] == "no_bn_high_s0":  # planted: as a diverged run ends (quick does), stopped, NaN outputs
            history.meta["stopped"] = "loss nan (planted by the test)"
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.fill_(float("nan"))
        return history

    run, values = run_with_spy(googlenet_training, spy)
    with smoke_profile():
        data = cnnlab.data.load("cifar10", train_size=256, val_size=128, test_size=128)  # the experiment's images
    return run, values, started, data


@pytest.mark.slow  # seven one-epoch trainings of the smoke profile, about 8 s on one thread
def test_each_comparison_changes_one_thing(smoke_run):
    _, values, started, _ = smoke_run
    (seed,) = values["seeds"]
    base_options, base_weights = started[f"base_s{seed}"]
    assert base_options["lr"] == BASE_LR and base_options["label_smoothing"] == 0 and base_options["seed"] == seed
    expected = {f"no_aux_s{seed}": {}, f"bn_high_s{seed}": {"lr": HIGH_LR},
                f"smooth_s{seed}": {"label_smoothing": SMOOTHING}}
    for key, changed in expected.items():
        options, weights = started[key]
        differing = {k: v for k, v in options.items() if k != "name" and base_options.get(k) != v}
        assert differing == changed, key
        for name, tensor in weights.items():  # the same start in every shared tensor
            assert torch.equal(tensor, base_weights[name]), (key, name)
    assert set(base_weights) - set(started[f"no_aux_s{seed}"][1]) == {k for k in base_weights if k.startswith("aux")}
    assert {key: options["lr"] for key, (options, _) in started.items() if key.startswith("no_bn")} == {
        "no_bn_high_s0": HIGH_LR, "no_bn_base_s0": BASE_LR, "no_bn_low_s0": BASE_LR / 5}


@pytest.mark.slow
def test_the_stored_calibration_is_the_trained_networks_on_the_test_images(smoke_run):
    run, values, _, data = smoke_run
    model = build(0)
    model.load_state_dict(run.weights["smooth_s0"])
    mean, std = torch.tensor(data.mean).view(1, 3, 1, 1), torch.tensor(data.std).view(1, 3, 1, 1)
    with torch.no_grad():
        probabilities = model.eval()((data.test.images.float() / 255 - mean) / std).softmax(1)
    confidence, predicted = probabilities.max(1)
    correct = (predicted == data.test.labels).float()
    ece = 0.0
    for m in range(15):  # bins ((m - 1)/15, m/15], weighted by their share of the images
        inside = (confidence > m / 15) & (confidence <= (m + 1) / 15)
        if inside.any():
            ece += inside.float().mean() * (correct[inside].mean() - confidence[inside].mean()).abs()
    stored = cnnlab.analysis.Reliability.from_dict(values["calibration"]["smooth_s0"])
    assert stored.images == len(data.test.labels) == values["test_images"]
    assert stored.ece == pytest.approx(float(ece), abs=1e-5)


@pytest.mark.slow
def test_a_run_stopped_by_a_non_finite_loss_has_no_calibration(smoke_run):
    _, values, started, _ = smoke_run
    assert set(values["calibration"]) == set(started) - {"no_bn_high_s0"}
