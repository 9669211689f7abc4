"""Chapter 02's stored experiments: Krizhevsky et al.'s Figure 1 network and its two settings, the measure of
epochs to 25% training error, training until it is reached, and AlexNet's two starting points for conv1.

Expected values come from cuda-convnet's ``layers-18pct.cfg`` (filters, sizes, ``initW``), from its pooling
rule (``outputsX = ceil((imgSize - sizeX) / stride) + 1``), or are counted by hand in the test.
"""
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from cnnlab.experiments.alexnet_filters import alexnet_with_start
from cnnlab.experiments.relu_vs_tanh import PixelScale, epochs_to, figure1_net, mean_slopes, train_until

STD = (0.247, 0.243, 0.261)  # CIFAR-10's per-channel standard deviation in [0, 1] units
MEAN = (0.491, 0.482, 0.447)


def test_figure1_net_has_the_layers_of_layers_18pct():
    net = figure1_net("relu", "pytorch")
    sides, x = [], torch.zeros(1, 3, 32, 32)
    for layer in net:
        x = layer(x)
        if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            sides.append(x.shape[-1])
    # cuda-convnet pools 3x3 with stride 2 and no padding: ceil((32 - 3) / 2) + 1 = 16, then 8, then 4
    assert sides == [math.ceil((32 - 3) / 2) + 1, math.ceil((16 - 3) / 2) + 1, math.ceil((8 - 3) / 2) + 1]
    # conv1 5x5 3->32, conv2 5x5 32->32, conv3 5x5 32->64, fc 64*4*4 -> 10, each with biases
    by_hand = (25 * 3 * 32 + 32) + (25 * 32 * 32 + 32) + (25 * 32 * 64 + 64) + (64 * 16 * 10 + 10)
    assert sum(p.numel() for p in net.parameters()) == by_hand == 89_578
    kinds = [type(m) for m in figure1_net("tanh", "pytorch")]
    assert kinds.count(nn.Tanh) == 3 and nn.ReLU not in kinds


def test_cuda_convnet_setting_draws_the_files_initw_and_zero_biases():
    torch.manual_seed(0)
    weighted = [m for m in figure1_net("tanh", "cuda-convnet", STD) if isinstance(m, (nn.Conv2d, nn.Linear))]
    for layer, init_w in zip(weighted, (1e-4, 1e-2, 1e-2, 1e-2)):  # initW of conv1, conv2, conv3, fc10
        assert layer.weight.std().item() == pytest.approx(init_w, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    torch.manual_seed(0)
    conv1 = figure1_net("tanh", "pytorch")[1]
    # PyTorch's default: uniform with bound 1/sqrt(fan_in), standard deviation 1/sqrt(3 * 75)
    assert conv1.weight.std().item() == pytest.approx(1 / math.sqrt(3 * 75), rel=0.05)


def test_cuda_convnet_setting_sees_pixels_minus_the_mean_in_0_255_units():
    images = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    standardized = (images.float() / 255 - mean) / std
    assert torch.allclose(PixelScale(STD)(standardized), images.float() - 255 * mean, atol=1e-4)
    assert isinstance(figure1_net("relu", "cuda-convnet", STD)[0], PixelScale)
    assert isinstance(figure1_net("relu", "pytorch")[0], nn.Identity)


def test_epochs_to_interpolates_between_the_epochs_around_the_mark():
    assert epochs_to([0.5, 0.3, 0.2]) == pytest.approx(2 + (0.3 - 0.25) / (0.3 - 0.2))
    assert epochs_to([0.1]) == pytest.approx((0.9 - 0.25) / (0.9 - 0.1))  # from chance (0.9) at epoch 0
    assert epochs_to([0.6, 0.25]) == pytest.approx(2.0)
    assert epochs_to([0.6, 0.4, 0.3]) is None
    assert epochs_to([]) is None


def test_mean_slopes_are_the_derivatives_of_each_activation():
    images = torch.tensor([[-2.0, -1.0, 1.0, 3.0]])
    assert mean_slopes(nn.Sequential(nn.Identity(), nn.ReLU()), images) == [pytest.approx(0.5)]
    tanh_slope = sum(1 - math.tanh(v) ** 2 for v in (-2.0, -1.0, 1.0, 3.0)) / 4
    assert mean_slopes(nn.Sequential(nn.Tanh()), images) == [pytest.approx(tanh_slope)]
    net = nn.Sequential(nn.Tanh()).train()
    mean_slopes(net, images)
    assert net.training  # measured in eval mode, put back as it was


def fake_run(errors_per_part):
    """A stand-in for Run: each fit returns the next part's per-epoch training errors, and records its call."""
    calls, parts = [], iter(errors_per_part)

    def fit(key, net, data, *, epochs, lr, seed, **recipe):
        errors = next(parts)[:epochs]
        calls.append((key, epochs, seed))
        return SimpleNamespace(rows=[{"train_acc": 1 - e} for e in errors], meta={}, test={"accuracy": 0.5})

    return SimpleNamespace(fit=fit), calls


def test_train_until_stops_after_the_part_that_reaches_the_mark():
    run, calls = fake_run([[0.8, 0.6], [0.4, 0.2], [0.1, 0.1]])
    errors, history = train_until(run, "s/relu/seed3", None, None, lr=0.01, seed=3, cap=10, chunk=2, recipe={})
    assert errors == pytest.approx([0.8, 0.6, 0.4, 0.2])
    assert calls == [("s/relu/seed3/part1", 2, 301), ("s/relu/seed3/part2", 2, 302)]
    assert history.rows[-1]["train_acc"] == pytest.approx(0.8)


def test_train_until_stops_at_the_cap():
    run, calls = fake_run([[0.8, 0.7], [0.6, 0.5], [0.45, 0.4]])
    errors, _ = train_until(run, "k", None, None, lr=0.01, seed=0, cap=5, chunk=2, recipe={})
    assert errors == pytest.approx([0.8, 0.7, 0.6, 0.5, 0.45])
    assert [epochs for _, epochs, _ in calls] == [2, 2, 1]


def test_alexnet_starts_differ_in_conv1_only():
    pytorch, paper = alexnet_with_start("pytorch"), alexnet_with_start("paper")
    assert paper.features.conv1.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert torch.count_nonzero(paper.features.conv1.bias) == 0
    assert pytorch.features.conv1.weight.std().item() == pytest.approx(1 / math.sqrt(3 * 75), rel=0.05)
    for (name, a), (_, b) in zip(pytorch.named_parameters(), paper.named_parameters()):
        assert torch.equal(a, b) != name.startswith("features.conv1"), name
    # after conv1, He et al.'s rule: standard deviation sqrt(2 / fan-in), zero biases; conv2 sees 64 / 2 towers
    # of 5x5 inputs, fc7 512 units
    conv2, fc7 = paper.features.conv2, paper.classifier.fc7
    assert conv2.weight.std().item() == pytest.approx(math.sqrt(2 / (32 * 25)), rel=0.05)
    assert fc7.weight.std().item() == pytest.approx(math.sqrt(2 / 512), rel=0.05)
    assert torch.count_nonzero(conv2.bias) == 0 and torch.count_nonzero(fc7.bias) == 0
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in paper.modules())


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="act must be one of"):
        figure1_net("sigmoid", "pytorch")
    with pytest.raises(ValueError, match="setting must be one of"):
        figure1_net("relu", "caffe")
    with pytest.raises(ValueError, match="start must be one of"):
        alexnet_with_start("xavier")
