"""Chapter 07 (DenseNet): memory-efficient dense layers, the saved-activation measurement, feature reuse,
the paper's Table 2 parameter counts and the growth-rate explorer."""
import copy

import pytest
import torch
from torch import nn

from cnnlab.analysis import feature_reuse, saved_activation_memory
from cnnlab.layers import DenseBlock, Transition
from cnnlab.models import create
from cnnlab.models.densenet import cifar_densenet


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("depth, k, bottleneck, millions", [
    (40, 12, False, 1.0), (100, 12, False, 7.0), (100, 24, False, 27.2),
    (100, 12, True, 0.8), (250, 24, True, 15.3), (190, 40, True, 25.6)])
def test_parameter_counts_round_to_the_papers_table_2(depth, k, bottleneck, millions):
    with torch.device("meta"):
        net = cifar_densenet(depth, k, bottleneck=bottleneck)
    assert round(_count(net) / 1e6, 1) == millions  # [huang2017densely] Table 2, C10 column's models


@pytest.mark.parametrize("bottleneck", [True, False])
def test_memory_efficient_block_computes_the_same_outputs_gradients_and_statistics(bottleneck):
    torch.manual_seed(0)
    naive = DenseBlock(4, 6, 3, bottleneck=bottleneck).double()
    efficient = DenseBlock(4, 6, 3, bottleneck=bottleneck, memory_efficient=True).double()
    efficient.load_state_dict(naive.state_dict())
    x = torch.randn(3, 6, 5, 5, dtype=torch.float64)
    inputs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    outputs = [block(inp) for block, inp in zip((naive, efficient), inputs)]
    target = torch.randn_like(outputs[0])
    for out in outputs:
        (out * target).sum().backward()
    assert torch.allclose(outputs[0], outputs[1])
    assert torch.allclose(inputs[0].grad, inputs[1].grad)
    for (name, p), q in zip(naive.named_parameters(), efficient.parameters()):
        assert torch.allclose(p.grad, q.grad), name
    # the recomputation in the backward pass must not update the running statistics a second time
    for (name, b), c in zip(naive.named_buffers(), efficient.buffers()):
        assert torch.equal(b, c), name


def test_memory_efficient_option_reaches_every_layer_and_changes_no_parameter():
    torch.manual_seed(0)
    naive = create("densenet_bc100_k12", depth=22)
    torch.manual_seed(0)
    efficient = create("densenet_bc100_k12", depth=22, memory_efficient=True)
    layers = [m for m in efficient.modules() if type(m).__name__ == "DenseLayer"]
    assert len(layers) == 9 and all(layer.memory_efficient for layer in layers)
    assert all(torch.equal(p, q) for p, q in zip(naive.parameters(), efficient.parameters()))
    with pytest.raises(TypeError, match="memory_efficient"):
        DenseBlock(2, 4, 2, memory_efficient="yes")


def test_saved_activation_memory_of_a_conv_and_relu_counted_by_hand():
    # conv (no bias) saves its input for the weight gradient (its weight is a parameter: not counted);
    # ReLU saves its output. Batch 2, 3 -> 8 channels, 8x8, 4 bytes a value.
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU())
    assert saved_activation_memory(model, (2, 3, 8, 8)) == 4 * (2 * 3 * 64 + 2 * 8 * 64)


class _Square(nn.Module):
    def forward(self, x):
        return x * x  # mul saves both operands: the same tensor twice


def test_saved_activation_memory_counts_a_tensor_saved_twice_once():
    model = nn.Sequential(nn.Conv2d(3, 8, 1, bias=False), _Square())
    # conv input (2x3x4x4) + conv output (2x8x4x4) once, although mul saved it twice
    assert saved_activation_memory(model, (2, 3, 4, 4)) == 4 * (2 * 3 * 16 + 2 * 8 * 16)


def test_saved_activation_memory_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    before = copy.deepcopy(model.state_dict())
    saved_activation_memory(model, (2, 3, 8, 8))
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_checkpointing_keeps_less_than_the_naive_block_and_its_saving_grows_with_depth():
    small, large = [(saved_activation_memory(cifar_densenet(d, 12)),
                     saved_activation_memory(cifar_densenet(d, 12, memory_efficient=True))) for d in (22, 64)]
    assert small[1] < small[0] and large[1] < large[0]
    assert large[0] / large[1] > small[0] / small[1]  # quadratic vs linear growth in the layers per block


def test_feature_reuse_reads_each_sources_slice_of_hand_set_weights():
    # block input of 2 channels, k = 1, three plain layers; layer l reads 2 + (l - 1) channels.
    block = DenseBlock(3, 2, 1, bottleneck=False)
    transition = Transition(5, compression=1.0)
    with torch.no_grad():
        for l, layer in enumerate(block.layers, start=1):
            w = layer.conv2.weight  # (1, 2 + l - 1, 3, 3)
            w[:, 0:2] = -10.0 * l  # source 0, the block input: 2 channels
            for s in range(1, l):
                w[:, 2 + s - 1] = 10.0 * l + s  # source s: one channel
        conv = transition[2]
        conv.weight[:, 0:2] = 0.5
        conv.weight[:, 2:5] = torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1)
    expected = torch.tensor([[10.0, float("nan"), float("nan"), float("nan")],
                             [20.0, 21.0, float("nan"), float("nan")],
                             [30.0, 31.0, 32.0, float("nan")],
                             [0.5, 1.0, 2.0, 3.0]])
    assert torch.allclose(feature_reuse(block, transition), expected, equal_nan=True)
    assert feature_reuse(block).shape == (3, 4)


def test_feature_reuse_uses_the_bottleneck_conv_and_refuses_other_modules():
    block = DenseBlock(2, 4, 3, bottleneck=True)
    with torch.no_grad():
        block.layers[1].conv1.weight[:, :4] = 2.0
        block.layers[1].conv1.weight[:, 4:] = -3.0
    assert feature_reuse(block)[1].tolist() == [2.0, 3.0, pytest.approx(float("nan"), nan_ok=True)]
    with pytest.raises(TypeError, match="DenseBlock"):
        feature_reuse(nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="transition reads"):
        feature_reuse(block, Transition(7))


def test_densenet_explorer_redraws_and_refuses_a_depth_that_is_not_6n_plus_4(assert_reacts):
    from cnnlab.widgets import densenet_explorer

    explorer = densenet_explorer(depth=22)
    assert_reacts(explorer, [("k", 24), ("theta", 1.0), ("depth", 40)])
    with pytest.raises(ValueError, match="6n\\+4"):
        densenet_explorer(depth=50)


# --- the experiment 07/densenet_vs_resnet: DenseNet-BC (L=40, k=12) against ResNet-14, paired by seed ---

def _resnet14_parameters_by_hand() -> int:
    # [he2016deep] section 4.2: a 3x3 conv to 16 maps, stages of n = 2 basic blocks at 16, 32, 64 maps (option A
    # shortcuts: no parameters), global pooling and a 10-way linear layer; a batch norm has 2 parameters a channel.
    total, channels = 3 * 16 * 9 + 2 * 16, 16
    for width in (16, 32, 64):
        for _ in range(2):
            total += channels * width * 9 + 2 * width + width * width * 9 + 2 * width
            channels = width
    return total + 64 * 10 + 10


def _densenet_bc_parameters_by_hand(depth: int, k: int) -> int:
    # [huang2017densely] section 3: a 3x3 conv to 2k maps; three blocks of (depth - 4) / 6 layers BN-ReLU-conv1x1
    # (4k maps)-BN-ReLU-conv3x3 (k maps); transitions BN-ReLU-conv1x1 keeping half; BN, pooling, linear.
    n, channels = (depth - 4) // 6, 2 * k
    total = 3 * channels * 9
    for block in range(3):
        for _ in range(n):
            total += 2 * channels + channels * 4 * k + 2 * 4 * k + 4 * k * k * 9
            channels += k
        if block < 2:
            total += 2 * channels + channels * (channels // 2)
            channels //= 2
    return total + 2 * channels + channels * 10 + 10


def test_the_pair_has_the_parameters_counted_by_hand_within_three_percent():
    from cnnlab.experiments.densenet_vs_resnet import build

    resnet, densenet = _count(build("resnet", 0)), _count(build("densenet", 0))
    assert resnet == _resnet14_parameters_by_hand() == 172_506
    assert densenet == _densenet_bc_parameters_by_hand(40, 12) == 176_122
    assert abs(densenet / resnet - 1) < 0.03
    with pytest.raises(ValueError, match="kind"):
        build("vgg", 0)


def test_a_seed_gives_the_same_start_and_another_seed_another():
    from cnnlab.experiments.densenet_vs_resnet import build

    for kind in ("resnet", "densenet"):
        first, again, other = build(kind, 3).state_dict(), build(kind, 3).state_dict(), build(kind, 4).state_dict()
        assert all(torch.equal(first[name], again[name]) for name in first), kind
        conv = next(name for name, t in first.items() if t.dim() == 4)
        assert not torch.equal(first[conv], other[conv]), kind


@pytest.fixture(scope="module")
def smoke_run():
    """The smoke run of 07/densenet_vs_resnet, with each training's options and the weights it started from."""
    from cnnlab.experiments.densenet_vs_resnet import densenet_vs_resnet
    from smoke_runs import run_with_spy

    started = {}

    def spy(fit, model, data, **options):
        started[options["name"]] = (dict(options), {k: t.clone() for k, t in model.state_dict().items()})
        return fit(model, data, **options)

    run, values = run_with_spy(densenet_vs_resnet, spy)
    return run, values, started


@pytest.mark.slow  # four one-epoch trainings of the smoke profile: 10-20 s on one thread
def test_each_seed_trains_both_networks_with_one_recipe_and_pairs_their_test_accuracies(smoke_run):
    from cnnlab.analysis import paired

    run, values, started = smoke_run
    seeds = values["seeds"]
    assert len(seeds) >= 2  # a paired interval needs two seeds
    for seed in seeds:
        (resnet_options, _), (densenet_options, _) = started[f"resnet_seed{seed}"], started[f"densenet_seed{seed}"]
        assert resnet_options["seed"] == seed  # the data order
        assert {k: v for k, v in resnet_options.items() if k != "name"} == \
               {k: v for k, v in densenet_options.items() if k != "name"}
        for kind in ("resnet", "densenet"):
            assert values["test_accuracy"][kind][seed] == run.histories[f"{kind}_seed{seed}"].test["accuracy"]
    comparison = paired(values["test_accuracy"]["resnet"], values["test_accuracy"]["densenet"])
    assert comparison.seeds == tuple(seeds)


@pytest.mark.slow
def test_seed_0_keeps_the_densenet_before_and_after_training_and_the_resnet_after(smoke_run):
    from cnnlab.experiments.densenet_vs_resnet import build

    run, _, started = smoke_run
    assert set(run.weights) == {"densenet_start", "densenet", "resnet"}
    start = started["densenet_seed0"][1]
    fresh = build("densenet", 0).state_dict()
    for name, tensor in run.weights["densenet_start"].items():
        assert torch.equal(tensor, start[name]) and torch.equal(tensor, fresh[name]), name
    conv = "features.block2.layers.0.conv1.weight"
    assert not torch.equal(run.weights["densenet"][conv], start[conv])  # kept after training
    resnet_start = started["resnet_seed0"][1]
    assert any(not torch.equal(run.weights["resnet"][name], resnet_start[name]) for name in resnet_start)
