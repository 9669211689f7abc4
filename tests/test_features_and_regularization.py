"""Features and filters, regularizer masks and mixing, AGC ratios, signal propagation, the Pareto front, and their figures and explorers."""
import matplotlib
import pytest
import torch
import torch.nn as nn

from cnnlab.analysis import (activation_maximization, feature_maps, first_layer_filters, misclassified,
                             regularizer_masks, signal_propagation, unitwise_ratios)
from cnnlab.viz import pareto_front, plot_tradeoff

matplotlib.use("Agg")


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def test_first_filters_and_feature_maps_shapes():
    model = small_cnn()
    assert first_layer_filters(model).shape == (8, 3, 3, 3)
    maps = feature_maps(model, torch.rand(2, 3, 16, 16), ["1", "3"])
    assert maps["1"].shape == (2, 8, 16, 16) and maps["3"].shape == (2, 4, 16, 16)
    with pytest.raises(KeyError, match="the layers are"):
        feature_maps(model, torch.rand(2, 3, 16, 16), ["conv9"])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        feature_maps(model, torch.rand(3, 16, 16), ["1"])


def test_activation_maximization_increases_target():
    model = small_cnn()
    image, history = activation_maximization(model, "3", channel=1, size=16, steps=25, lr=0.05)
    assert image.shape == (3, 16, 16) and len(history) == 25 and history[-1] > history[0]
    assert all(p.grad is None for p in model.parameters())


class PredictsChannel(nn.Module):
    """Predicts the class whose channel has the largest mean: the errors are known in advance."""

    def forward(self, x):
        return x.mean((2, 3))


def test_misclassified_returns_exactly_the_wrong_images_in_order():
    g = torch.Generator().manual_seed(0)
    batches = [(torch.rand(8, 3, 8, 8, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(3)]
    wrong = [(x, y, x.mean((2, 3)).argmax(1)) for x, y in batches]
    expected = [(img, t, p) for x, y, pred in wrong for img, t, p in zip(x, y, pred) if t != p]
    assert len(expected) > 6  # the oracle itself finds errors to return
    images, true, pred = misclassified(PredictsChannel(), batches, k=5)
    assert len(images) == 5
    for i, (img, t, p) in enumerate(expected[:5]):
        assert torch.equal(images[i], img) and true[i] == t and pred[i] == p != t
    images, true, pred = misclassified(PredictsChannel(), batches, k=100)  # fewer than k: all of them
    assert len(images) == len(expected)


def test_mask_drop_fractions():
    masks = regularizer_masks(torch.rand(8, 3, 32, 32), p=0.3, block_size=7, seed=1)
    assert abs(1 - masks["dropout"].mean().item() - 0.3) < 0.03
    assert abs(1 - masks["random_erasing"].mean().item() - 0.3) < 0.03
    for cut in masks["cutout"]:  # one 7x7 square per image, clipped where it leaves the image (as in training)
        rows, cols = torch.nonzero(cut == 0, as_tuple=True)
        height, width = int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1
        assert len(rows) == height * width and height <= 7 and width <= 7
        assert (height == 7 or rows.min() == 0 or rows.max() == 31) and (width == 7 or cols.min() == 0 or cols.max() == 31)
    assert (1 - masks["dropblock"]).sum() > 0
    with pytest.raises(ValueError, match="p must lie"):
        regularizer_masks(torch.rand(1, 3, 8, 8), p=1.5, block_size=3)


def test_dropblock_blocks_are_squares():
    dropped = 1 - regularizer_masks(torch.rand(4, 3, 32, 32), p=0.1, block_size=5, seed=0)["dropblock"]
    pooled = -nn.functional.max_pool2d(-nn.functional.pad(dropped[:, None], (2, 2, 2, 2)), 5, 1)
    covered = nn.functional.max_pool2d(nn.functional.pad(pooled, (2, 2, 2, 2)), 5, 1)[:, 0]
    assert dropped.sum() > 0 and torch.equal(covered * dropped, dropped)  # each dropped pixel in a full 5x5


def test_unitwise_ratios_by_hand():
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    layer(torch.tensor([[1.0, 2.0]])).sum().backward()  # grad of each row = [1, 2]
    ratios = unitwise_ratios(layer)["weight"]
    assert torch.allclose(ratios, torch.tensor([5 ** 0.5 / 5, 5 ** 0.5 / 1]))


class Block(nn.Module):
    def __init__(self, width, bn):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(width) if bn else nn.Identity(), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


def test_signal_propagation_grows_without_bn_bounded_with_bn():
    torch.manual_seed(0)
    x = torch.randn(8, 8, 8, 8)
    for bn in (False, True):
        net = nn.Sequential(*[Block(8, bn) for _ in range(12)])
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        stats = signal_propagation(net.train(), x, [str(i) for i in range(12)])
        var = stats["var"]
        if bn:
            assert var[-1] < 20  # BN keeps the residual branch at unit variance: linear growth at most
        else:
            assert var[-1] > 10 * var[0]  # roughly doubles per block without normalization
    with pytest.raises(KeyError):
        signal_propagation(net, x, ["nope"])


def test_pareto_front_hand_made():
    points = [dict(name="a", flops=1, accuracy=0.5), dict(name="b", flops=2, accuracy=0.7),
              dict(name="c", flops=3, accuracy=0.6), dict(name="d", flops=4, accuracy=0.8)]
    assert [p["name"] for p in pareto_front(points, "flops", "accuracy")] == ["a", "b", "d"]
    fig = plot_tradeoff(points)
    assert fig.axes and len(fig.axes[0].lines) == 1
    from cnnlab.viz import results_table
    rows = results_table(points, ["name", "accuracy"]).splitlines()
    assert rows[0] == "| name | accuracy | Pareto |" and rows[3] == "| b | 0.7 | yes |" and rows[4] == "| c | 0.6 |  |"
    with pytest.raises(KeyError, match="latency"):
        results_table(points, ["name", "latency"])


def test_images_and_filter_plots():
    from cnnlab.viz import plot_feature_maps, plot_filters, sample_photos, show_images
    photos = sample_photos(32)
    assert photos.shape == (2, 3, 32, 32) and 0 <= photos.min() and photos.max() <= 1
    assert len(show_images(photos[:1], [0], ["cat"]).axes) == 1
    assert len(plot_filters(first_layer_filters(small_cnn())).axes) == 8
    assert len(plot_feature_maps(torch.rand(4, 5, 5)).axes) == 4
    with pytest.raises(ValueError, match="C_out"):
        plot_filters(torch.rand(3, 3))


def test_filter_explorer_reacts_and_has_png():
    from cnnlab.widgets.filters import filter_explorer
    explorer = filter_explorer(small_cnn(), torch.rand(2, 3, 16, 16))
    before = explorer.redraws
    explorer.set(channel=3)
    explorer.set(layer="2")
    assert explorer.redraws >= before + 2
    assert "image/png" in explorer._repr_mimebundle_()


def test_mixup_and_cutmix_soft_labels():
    from cnnlab.analysis import mixed_samples
    images, labels = torch.rand(4, 3, 16, 16) + torch.arange(4.0)[:, None, None, None], torch.arange(4)
    mixed, soft = mixed_samples(images, labels, num_classes=4, method="cutmix", seed=3)
    assert torch.allclose(soft.sum(1), torch.ones(4))
    pasted = (mixed != images).any(1).float().mean((1, 2))  # share of pixels taken from another image
    assert torch.allclose(soft[torch.arange(4), labels], 1 - pasted, atol=1e-6)
    mixed, soft = mixed_samples(images, labels, num_classes=4, method="mixup", seed=3)
    assert torch.allclose(soft.sum(1), torch.ones(4))
    with pytest.raises(ValueError, match="mixup, cutmix"):
        mixed_samples(images, labels, 4, method="blend")


def test_compare_explorer_reacts_and_has_png():
    from cnnlab.widgets.compare import compare_explorer
    results = [dict(name=n, accuracy=a, flops=f, params=p) for n, a, f, p in
               [("a", 0.5, 1e6, 1e4), ("b", 0.7, 2e6, 3e4), ("c", 0.6, 3e6, 2e4)]]
    explorer = compare_explorer(results)
    before = explorer.redraws
    explorer.set(x="params")
    explorer.set(models=("a", "b"))
    assert explorer.redraws == before + 2
    assert "image/png" in explorer._repr_mimebundle_()


def test_shake_shake_mix_uses_one_alpha_per_image():
    from cnnlab.analysis import shake_shake_mix
    a, b = torch.rand(5, 3, 4, 4), torch.rand(5, 3, 4, 4)
    mixed, alpha = shake_shake_mix(a, b, seed=2)
    assert alpha.shape == (5,) and ((0 <= alpha) & (alpha <= 1)).all() and alpha.unique().numel() == 5
    assert torch.allclose(mixed, alpha[:, None, None, None] * a + (1 - alpha[:, None, None, None]) * b)
    with pytest.raises(ValueError, match="same shape"):
        shake_shake_mix(a, b[:2])


def test_residual_branch_mix_factors():
    from cnnlab.analysis import residual_branch_mix
    x, fx = torch.rand(400, 3, 4, 4), torch.rand(400, 3, 4, 4)
    out, factor = residual_branch_mix(x, fx, "stochastic_depth", p=0.3, seed=1)
    assert ((factor == 0) | torch.isclose(factor, torch.tensor(1 / 0.7))).all()  # dropped, or kept, rescaled
    assert abs((factor == 0).float().mean().item() - 0.3) < 0.07
    assert torch.allclose(out, x + factor[:, None, None, None] * fx, atol=1e-6)
    out, factor = residual_branch_mix(x, fx, "shakedrop", p=0.3, seed=1)
    kept = factor == 1
    assert abs(1 - kept.float().mean().item() - 0.3) < 0.07 and (factor[~kept].abs() <= 1).all()
    assert torch.allclose(out, x + factor[:, None, None, None] * fx, atol=1e-6)
    out, factor = residual_branch_mix(x, fx, "swapout", p=0.3, seed=1)
    assert abs(factor.mean().item() - 0.7) < 0.02  # share of branch units kept
    choices = torch.stack([torch.zeros_like(x), x, fx, x + fx])  # each unit: neither, x, F(x) or both
    assert ((choices - out).abs() < 1e-6).any(0).all()
    with pytest.raises(ValueError, match="stochastic_depth, shakedrop, swapout"):
        residual_branch_mix(x, fx, "dropout")


def test_regularizer_explorer_reacts_to_each_control_and_has_png():
    from cnnlab.widgets import REGULARIZERS, regularizer_explorer
    explorer = regularizer_explorer(torch.rand(4, 3, 16, 16), classes=["a", "b", "c", "d"])
    before = explorer.redraws
    explorer.set(p=0.4)
    explorer.set(size=5)
    explorer.set(seed=3)
    for method in REGULARIZERS:
        explorer.set(method=method)
    explorer.set(alpha=0.5)
    assert explorer.redraws == before + 4 + len(REGULARIZERS)  # starts at DropBlock, left by "dropout"
    assert "image/png" in explorer._repr_mimebundle_()
    with pytest.raises(ValueError, match="at least 2 images"):
        regularizer_explorer(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="3 class names"):
        regularizer_explorer(torch.rand(4, 3, 16, 16), classes=["a", "b", "c"])


def test_penultimate_projection_keeps_template_geometry():
    from cnnlab.analysis import penultimate_projection
    torch.manual_seed(0)
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 5))
    w = model[2].weight.detach()
    # images whose penultimate activation (channel means) is exactly the template of their class
    labels = torch.tensor([0, 1, 2, 3, 4, 2])
    images = w[labels][:, :, None, None].expand(-1, -1, 4, 4).contiguous()
    projection = penultimate_projection(model, [(images, labels)], classes=(0, 1, 2))
    assert projection["points"].shape == (4, 2) and projection["templates"].shape == (3, 2)
    assert sorted(projection["labels"].tolist()) == [0, 1, 2, 2]  # classes 3 and 4 left out
    assert projection["classes"].tolist() == [0, 1, 2]
    t = projection["templates"]
    assert torch.allclose(torch.cdist(t, t), torch.cdist(w[:3], w[:3]), atol=1e-5)  # distances kept
    assert torch.allclose(projection["points"], t[projection["labels"]], atol=1e-5)  # templates land on theirs
    with pytest.raises(KeyError, match="linear layers are: 2"):
        penultimate_projection(model, [(images, labels)], layer="0")
    with pytest.raises(ValueError, match="three different"):
        penultimate_projection(model, [(images, labels)], classes=(0, 0, 1))


def test_regularization_figures():
    from cnnlab.layers import survival_probabilities
    from cnnlab.viz import (plot_branch_mix, plot_mixed_samples, plot_penultimate_projection,
                            plot_regularizer_masks, plot_survival, plot_unitwise_ratios)
    images = torch.rand(3, 3, 16, 16)
    masks = regularizer_masks(images, p=0.2, block_size=5)
    assert len(plot_regularizer_masks(images, masks, count=3).axes) == 5 * 3
    soft = torch.tensor([[0.7, 0.3, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    fig = plot_mixed_samples(images, soft, ["cat", "dog", "owl"])
    assert fig.axes[0].get_title() == "0.70 cat\n0.30 dog" and fig.axes[1].get_title() == "1.00 dog"
    fig = plot_branch_mix(images, images.flip(0), images, ["α = 0.10", "α = 0.20", "α = 0.30"], count=2)
    assert len(fig.axes) == 3 * 2 and fig.axes[5].get_title() == "α = 0.20"
    fig = plot_survival(survival_probabilities(10, 0.5))
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights[0] == pytest.approx(0.95) and heights[-1] == pytest.approx(0.5)
    fig = plot_unitwise_ratios({"w": torch.tensor([1e-3, 1e-1, 1.0]), "b": torch.tensor([0.0])}, clip=0.01)
    assert "50% of units clipped" in fig.axes[0].get_legend().get_texts()[0].get_text()
    assert fig.axes[0].get_title() == "4 units, 1 with a zero gradient"
    projection = {"points": torch.rand(6, 2), "labels": torch.tensor([0, 0, 1, 1, 2, 2]),
                  "templates": torch.rand(3, 2), "classes": torch.tensor([0, 1, 2])}
    assert len(plot_penultimate_projection({"plain": projection, "smoothed": projection}).axes) == 2


def test_feature_and_signal_figures():
    from cnnlab.viz import (plot_activation_maximization, plot_confusion, plot_misclassified,
                            plot_signal_propagation)
    fig = plot_confusion(torch.tensor([[3, 1], [0, 4]]), ["cat", "dog"])
    assert fig.axes[0].texts[1].get_text() == "0.25"  # row "cat" normalized: 1 of 4 predicted dog
    with pytest.raises(ValueError, match="square"):
        plot_confusion(torch.ones(2, 3))
    fig = plot_misclassified(torch.rand(2, 3, 8, 8), torch.tensor([0, 1]), torch.tensor([1, 0]), ["cat", "dog"])
    assert fig.axes[0].get_title() == "cat → dog"
    assert len(plot_activation_maximization(torch.rand(3, 8, 8), [0.1, 0.5]).axes) == 2
    stats = {"net": {"layer": ["a", "b"], "mean_sq": [0.1, 0.2], "var": [1.0, 2.0]}}
    fig = plot_signal_propagation(stats)
    assert list(fig.axes[1].lines[0].get_ydata()) == [1.0, 2.0]


def test_sample_images_cycle_through_classes():
    from types import SimpleNamespace
    from cnnlab.viz import sample_images
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 0, 1])
    split = SimpleNamespace(images=torch.arange(8, dtype=torch.uint8)[:, None, None, None].expand(8, 3, 2, 2),
                            labels=labels)
    data = SimpleNamespace(classes=["a", "b", "c"], test=split, train=split)
    images, picked, classes = sample_images("dataset", data, count=5, seed=1)
    assert picked[:3].tolist() == [0, 1, 2] and picked[3:].tolist() == [0, 1] and classes == ["a", "b", "c"]
    assert torch.equal(labels[(images[:, 0, 0, 0] * 255).round().long()], picked)  # each image keeps its label
    photos, names, titles = sample_images("photo", size=16)
    assert photos.shape == (2, 3, 16, 16) and titles[int(names[0])] == "Grace Hopper"
    with pytest.raises(ValueError, match="needs data"):
        sample_images("dataset")


def test_logit_gaps_and_label_smoothing_target():
    import math
    from cnnlab.analysis import logit_gaps, optimal_logit_gap
    from cnnlab.viz import plot_logit_gaps
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # logits = the 3 channel means
    images = torch.tensor([[4.0, 1.0, 1.0], [0.0, 2.0, -2.0]])[:, :, None, None]
    gaps = logit_gaps(model, [(images, torch.tensor([0, 1]))])
    assert torch.allclose(gaps, torch.tensor([3.0, 3.0]))  # 4 - (1 + 1)/2, 2 - (0 - 2)/2
    eps, k = 0.1, 10
    gap = optimal_logit_gap(eps, k)
    probs = torch.tensor([gap] + [0.0] * (k - 1)).softmax(0)  # the gap's softmax is the smoothed target
    assert probs[0].item() == pytest.approx(1 - eps + eps / k) and probs[1].item() == pytest.approx(eps / k)
    assert optimal_logit_gap(0.0, k) == math.inf
    with pytest.raises(ValueError, match="smoothing must lie"):
        optimal_logit_gap(1.5, k)
    fig = plot_logit_gaps({"one-hot": gaps, "smoothed": gaps - 1}, optimum=gap)
    assert len(fig.axes[0].patches) == 2 * 59 and len(fig.axes[0].lines) == 1


def test_seeded_helpers_leave_the_global_generator_alone():
    from cnnlab.analysis import mixed_samples, shake_shake_mix
    images = torch.rand(2, 3, 8, 8)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    first = regularizer_masks(images, p=0.3, block_size=3, seed=1)
    mixed_samples(images, torch.tensor([0, 1]), 2, seed=1)
    shake_shake_mix(images, images.flip(0), seed=1)
    assert torch.equal(torch.rand(3), expected)  # the caller's random stream goes on as if untouched
    assert all(torch.equal(first[k], m) for k, m in regularizer_masks(images, p=0.3, block_size=3, seed=1).items())


def test_label_smoothing_holds_the_logit_gap_at_its_target():
    from cnnlab.analysis import logit_gaps, optimal_logit_gap

    def trained_gap(smoothing):
        torch.manual_seed(0)
        centers = torch.randn(4, 3) * 2
        labels = torch.arange(4).repeat(32)
        x = (centers[labels] + 0.5 * torch.randn(128, 3))[:, :, None, None]
        model = nn.Sequential(nn.Flatten(), nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 4))
        optimizer = torch.optim.Adam(model.parameters(), 0.05)
        for _ in range(100):
            loss = nn.functional.cross_entropy(model(x), labels, label_smoothing=smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return logit_gaps(model, [(x, labels)]).median().item()

    target = optimal_logit_gap(0.2, 4)
    assert trained_gap(0.2) == pytest.approx(target, rel=0.05)
    assert trained_gap(0.0) > 3 * target  # one-hot targets keep pushing the gap up
