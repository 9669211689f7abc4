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
