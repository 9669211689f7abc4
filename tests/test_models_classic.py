"""Tests for the classic zoo's building blocks."""
import pytest
import torch
from torch import nn

from cnnlab.layers.conv import ConvBNAct


def test_conv_bn_act_shapes_and_children():
    block = ConvBNAct(4, 8, kernel_size=5, stride=2)
    assert block(torch.zeros(2, 4, 16, 16)).shape == (2, 8, 8, 8)
    assert block.conv.bias is None and isinstance(block.bn, nn.BatchNorm2d)


def test_conv_bn_act_without_norm_has_bias_and_no_bn():
    block = ConvBNAct(4, 8, norm=False, act=None)
    assert block.conv.bias is not None and len(block) == 1


def test_conv_bn_act_refuses_groups_not_dividing_channels():
    with pytest.raises(ValueError, match="groups"):
        ConvBNAct(3, 8, groups=2)


# --- helpers ----------------------------------------------------------------------------------------

def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- Neocognitron [fukushima1980neocognitron] --------------------------------------------------------

from cnnlab.layers.neocognitron import CCell, SCell  # noqa: E402
from cnnlab.models import create  # noqa: E402


def _bar(vertical: bool, size: int = 9, at: int = 4) -> torch.Tensor:
    image = torch.zeros(1, 1, size, size)
    if vertical:
        image[0, 0, 2:7, at] = 1.0
    else:
        image[0, 0, at, 2:7] = 1.0
    return image


def test_s_cell_set_by_hand_detects_its_template_only():
    cell = SCell(1, 1, kernel_size=5, selectivity=4.0)
    with torch.no_grad():
        cell.weight.zero_()
        cell.weight[0, 0, :, 2] = 1.0  # a vertical-bar template
        cell.inhibition.fill_(5.0)
    vertical, horizontal = cell(_bar(True)), cell(_bar(False))
    assert vertical[0, 0, 4, 4] > 1.0
    assert horizontal.max() < 0.05 * vertical.max()
    assert (vertical >= 0).all()


def test_s_cell_weights_act_non_negative():
    cell = SCell(2, 3, kernel_size=3)
    x = torch.rand(1, 2, 6, 6)
    before = cell(x)
    with torch.no_grad():
        cell.weight.neg_()
    assert torch.equal(before, cell(x))


def test_c_cell_tolerates_a_shift_that_moves_the_s_cell_response():
    s = torch.zeros(1, 1, 8, 8)
    s[0, 0, 3, 3] = 1.0
    shifted = torch.roll(s, 1, dims=3)
    c = CCell(1, kernel_size=3, stride=2)
    a, b = c(s).flatten(), c(shifted).flatten()
    assert torch.cosine_similarity(s.flatten(), shifted.flatten(), dim=0) == 0
    assert torch.cosine_similarity(a, b, dim=0) > 0.5
    assert (a >= 0).all() and (a < 1).all()


def test_neocognitron_refuses_mismatched_stage_options():
    with pytest.raises(ValueError, match="one per stage"):
        create("neocognitron", planes=(8, 8), kernel_sizes=(5,))


# --- LeNet-5 [lecun1998gradient] --------------------------------------------------------------------

from cnnlab.layers.lenet import LENET5_C3_TABLE, EuclideanRBF, ScaledTanh  # noqa: E402


def test_lenet5_per_layer_parameter_counts_match_the_paper():
    net = create("lenet5", in_channels=1)
    counts = {name: count(getattr(net, name)) for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output")}
    assert counts == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164, "output": 0}


# Table I of lecun1998gradient, typed from the paper (not read from cnnlab): the S2 maps (rows of the
# paper's table) that each C3 map (its columns 0-15) takes as input.
PAPER_C3_INPUTS = [
    {0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {0, 4, 5}, {0, 1, 5},
    {0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {0, 3, 4, 5}, {0, 1, 4, 5}, {0, 1, 2, 5},
    {0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5},
    {0, 1, 2, 3, 4, 5},
]


def test_lenet5_c3_connections_are_table_1_of_the_paper():
    assert sum(len(inputs) for inputs in PAPER_C3_INPUTS) == 60  # the paper: 60 of the 96 pairs
    assert [set(row) for row in LENET5_C3_TABLE] == PAPER_C3_INPUTS
    c3 = create("lenet5", in_channels=1).eval().c3[0]
    x = torch.randn(1, 6, 14, 14)
    with torch.no_grad():
        base = c3(x)
        for s2_map in range(6):  # which C3 maps change when only this S2 map changes: the model's own wiring
            moved = x.clone()
            moved[:, s2_map] += 1.0
            changed = (c3(moved) - base).abs().flatten(2).amax(2)[0] > 0
            assert changed.tolist() == [s2_map in inputs for inputs in PAPER_C3_INPUTS], f"S2 map {s2_map}"


def test_lenet5_shapes_follow_the_paper():
    net = create("lenet5", in_channels=1)
    x = torch.randn(2, 1, 32, 32)
    c1 = net.c1(x)
    s2 = net.s2(c1)
    c3 = net.c3(s2)
    s4 = net.s4(c3)
    assert [tuple(t.shape[1:]) for t in (c1, s2, c3, s4)] == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
    assert net.c5(s4).shape == (2, 120)


def test_scaled_tanh_maps_plus_minus_one_to_itself():
    f = ScaledTanh()
    assert torch.allclose(f(torch.tensor([1.0, -1.0])), torch.tensor([1.0, -1.0]), atol=1e-4)


def test_rbf_output_is_minus_squared_distance_to_fixed_codes():
    rbf = EuclideanRBF(84, 10)
    assert set(rbf.codes.unique().tolist()) == {-1.0, 1.0} and count(rbf) == 0
    logits = rbf(rbf.codes[3:4].clone())
    assert logits.argmax().item() == 3 and logits[0, 3] == 0
    assert torch.equal(EuclideanRBF(84, 10).codes, rbf.codes)


def test_folk_lenet_is_the_common_layout():
    net = create("lenet5_folk")
    assert count(net) == (3 * 6 * 25 + 6) + (6 * 16 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert isinstance(net.features.pool1, nn.MaxPool2d)


# --- AlexNet [krizhevsky2012imagenet] and ZFNet [zeiler2014visualizing] ------------------------------

import torchvision  # noqa: E402

from cnnlab.layers.lrn import PaperLRN  # noqa: E402


def test_paper_lrn_uses_the_papers_sum_of_squares():
    x = torch.randn(2, 7, 3, 3)
    out = PaperLRN(size=5, alpha=1e-2, beta=0.75, k=2.0)(x)
    squares = torch.nn.functional.pad(x * x, (0, 0, 0, 0, 2, 2))  # neighbours beyond the ends count as 0
    window_sum = sum(squares[:, i:i + 7] for i in range(5))
    assert torch.allclose(out, x / (2.0 + 1e-2 * window_sum) ** 0.75, atol=1e-6)


@pytest.mark.parametrize("groups", [1, 2])
def test_alexnet_conv_params_follow_n_m_k2_over_g(groups):
    with torch.device("meta"):
        net = create("alexnet_imagenet", num_classes=1000, groups=groups)
    grouped = {"conv2", "conv4", "conv5"}
    for name, conv in net.features.named_children():
        if isinstance(conv, nn.Conv2d):
            g = groups if name in grouped else 1
            n, m, k = conv.in_channels, conv.out_channels, conv.kernel_size[0]
            assert conv.groups == g
            assert count(conv) == n * m * k * k // g + m, name


def test_alexnet_imagenet_total_parameters():
    with torch.device("meta"):
        assert count(create("alexnet_imagenet", num_classes=1000)) == 60_965_224
        assert count(create("alexnet_imagenet", num_classes=1000, groups=1)) == 62_378_344


def test_grouped_conv_equals_two_towers_on_split_channels():
    torch.manual_seed(0)
    grouped = nn.Conv2d(8, 6, 3, padding=1, groups=2)
    towers = [nn.Conv2d(4, 3, 3, padding=1) for _ in range(2)]
    with torch.no_grad():
        for t, tower in enumerate(towers):
            tower.weight.copy_(grouped.weight[3 * t:3 * t + 3])
            tower.bias.copy_(grouped.bias[3 * t:3 * t + 3])
    x = torch.randn(2, 8, 5, 5)
    separate = torch.cat([towers[0](x[:, :4]), towers[1](x[:, 4:])], dim=1)
    assert torch.allclose(grouped(x), separate, atol=1e-6)


def test_alexnet_one_tower_computes_what_torchvision_computes():
    torch.manual_seed(0)
    ours, theirs = create("alexnet_onetower_imagenet", num_classes=1000).eval(), torchvision.models.alexnet().eval()
    assert [p.shape for p in ours.parameters()] == [p.shape for p in theirs.parameters()]
    with torch.no_grad():
        for mine, ref in zip(ours.parameters(), theirs.parameters()):
            mine.copy_(ref)
        x = torch.randn(1, 3, 67, 67)  # small enough to be fast; the layers do not depend on the size
        assert torch.allclose(ours.features(x), theirs.features(x), atol=1e-5)
        maps = torch.randn(1, 256, 6, 6)
        assert torch.allclose(ours.classifier(ours.avgpool(maps)), theirs.classifier(theirs.avgpool(maps).flatten(1)),
                              atol=1e-5)


def test_alexnet_feature_map_sides_follow_the_paper():
    sides = {}
    with torch.device("meta"):
        net = create("alexnet_imagenet", num_classes=1000)
        x = torch.empty(1, 3, 227, 227)
        for name, layer in net.features.named_children():
            x = layer(x)
            sides[name] = x.shape[-1]
    assert (sides["conv1"], sides["pool1"], sides["conv2"], sides["pool2"], sides["conv5"], sides["pool5"]) == \
        (55, 27, 27, 13, 13, 6)


def test_zfnet_first_layer_and_map_sides():
    with torch.device("meta"):
        net = create("zfnet_imagenet", num_classes=1000)
        x = torch.empty(1, 3, 224, 224)
        sides = {}
        for name, layer in net.features.named_children():
            x = layer(x)
            sides[name] = x.shape[-1]
    conv1 = net.features.conv1
    assert (conv1.out_channels, conv1.kernel_size, conv1.stride) == (96, (7, 7), (2, 2))
    assert [sides[n] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv5", "pool5")] == \
        [110, 55, 26, 13, 13, 13, 6]
    assert list(net.features.named_children())[2][0] == "pool1"  # pooled, then normalized


def test_alexnet_cifar_options_change_the_layers():
    plain = create("alexnet", groups=1, lrn=False, overlap_pool=False, act="tanh", dropout=0.0)
    kinds = {type(m) for m in plain.modules()}
    assert nn.LocalResponseNorm not in kinds and nn.ReLU not in kinds and nn.Tanh in kinds
    assert plain.features.pool1.kernel_size == 2
    assert plain(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert count(create("alexnet", groups=1)) > count(create("alexnet", groups=2))


@pytest.mark.parametrize("options, message", [({"act": "sigmoid"}, "act"), ({"groups": 3}, "groups"),
                                              ({"dropout": 1.0}, "dropout")])
def test_alexnet_refuses_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        create("alexnet", **options)


# --- VGG [simonyan2015very] and NiN [lin2014network] -------------------------------------------------

from cnnlab.layers.mlpconv import MLPConv  # noqa: E402
from cnnlab.models.vgg import VGG_CONFIGS  # noqa: E402


@pytest.mark.parametrize("depth", sorted(VGG_CONFIGS))
def test_vgg_is_a_stack_of_3x3_convs_of_table_1(depth):
    net = create(f"vgg{depth}")
    convs = [m for m in net.features.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 3 == depth  # the depth counts the three FC layers of the paper
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.stride == (1, 1) for c in convs)
    assert [len([m for m in stage if isinstance(m, nn.Conv2d)]) for stage in net.features] == list(VGG_CONFIGS[depth])


def test_two_3x3_convs_cover_5x5_with_18_instead_of_25_weights():
    c = 8
    stack = nn.Sequential(nn.Conv2d(c, c, 3, bias=False), nn.Conv2d(c, c, 3, bias=False))
    big = nn.Conv2d(c, c, 5, bias=False)
    assert count(stack) == 18 * c * c and count(big) == 25 * c * c
    x = torch.zeros(1, c, 9, 9, requires_grad=True)
    stack(x)[0, :, 2, 2].sum().backward()
    rows, cols = x.grad[0].abs().sum(0).nonzero(as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (5, 5)


@pytest.mark.parametrize("name", [n for n in ("alexnet_onetower_imagenet",) + tuple(
    f"vgg{d}{bn}_imagenet" for d in (11, 13, 16, 19) for bn in ("", "_bn"))])
def test_torchvision_parity_layer_by_layer(name):
    builder = getattr(torchvision.models, name.replace("_imagenet", "").replace("alexnet_onetower", "alexnet"))
    with torch.device("meta"):
        ours, theirs = create(name, num_classes=1000), builder(weights=None)
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [tuple(b.shape) for b in ours.buffers()] == [tuple(b.shape) for b in theirs.buffers()]


def test_vgg_width_scales_channels_and_bad_depth_is_refused():
    assert create("vgg11", width=0.25).features.stage5.conv1.out_channels == 128
    with pytest.raises(ValueError, match="11, 13, 16, 19"):
        from cnnlab.models.vgg import VGG
        VGG(depth=15)


def test_nin_has_no_fully_connected_layer_and_pools_class_maps():
    net = create("nin")
    assert not any(isinstance(m, nn.Linear) for m in net.modules())
    last = net.features.mlpconv3
    assert isinstance(last, MLPConv) and last.cccp2.out_channels == 10 and last.cccp1.kernel_size == (1, 1)
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    maps = net.features(x)
    assert maps.shape == (2, 10, 8, 8)
    assert torch.allclose(net(x), maps.mean(dim=(2, 3)))
    assert count(net) == 966_986  # the released CIFAR-10 NiN, counted by hand: 0.97M


def test_nin_is_fully_convolutional_above_its_minimum_size():
    net = create("nin").eval()
    assert net(torch.randn(1, 3, 48, 48)).shape == (1, 10)
    with pytest.raises(ValueError, match="at least 8x8"):
        net(torch.randn(1, 3, 4, 4))


# --- GoogLeNet [szegedy2015going] and Inception v2/v3 [szegedy2016rethinking] -------------------------

from cnnlab.layers.inception import InceptionModule  # noqa: E402
from cnnlab.models.googlenet import GOOGLENET_MODULES  # noqa: E402


def test_googlenet_matches_torchvision_layer_by_layer():
    with torch.device("meta"):
        ours = create("googlenet_imagenet", num_classes=1000)
        theirs = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert count(ours) == count(theirs) == 13_004_888


def test_googlenet_paper_modules_follow_table_1():
    with torch.device("meta"):
        net = create("googlenet_paper_imagenet", num_classes=1000, aux_logits=False)
    modules = [m for m in net.modules() if isinstance(m, InceptionModule)]
    assert len(modules) == 9
    for module, (n, c1, r3, c3, r5, c5, proj) in zip(modules, GOOGLENET_MODULES.values()):
        weights = n * c1 + n * r3 + r3 * c3 * 9 + n * r5 + r5 * c5 * 25 + n * proj
        biases = c1 + r3 + c3 + r5 + c5 + proj
        assert count(module) == weights + biases
        assert module.out_channels == c1 + c3 + c5 + proj
    assert count(net) == 6_998_552


def test_googlenet_returns_aux_logits_in_training_only():
    torch.manual_seed(0)
    net = create("googlenet", width=0.25)
    x = torch.randn(2, 3, 32, 32)
    main, aux1, aux2 = net.train()(x)
    assert main.shape == aux1.shape == aux2.shape == (2, 10)
    net.eval()
    out = net(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 10)
    no_aux = create("googlenet", width=0.25, aux_logits=False).train()
    assert isinstance(no_aux(x), torch.Tensor) and not hasattr(no_aux, "aux1")


def test_inception_module_is_cheaper_than_one_dense_conv_of_the_same_output():
    module = InceptionModule(192, 64, 96, 128, 16, 32, 32)
    dense_5x5 = nn.Conv2d(192, module.out_channels, 5)
    assert count(module) < count(dense_5x5) / 5
    assert module(torch.randn(1, 192, 7, 7)).shape == (1, 256, 7, 7)


from cnnlab.layers.inception import GridReduction, InceptionAsymmetric, InceptionExpanded  # noqa: E402


def test_asymmetric_module_factorizes_n_by_n_into_1xn_and_nx1():
    module = InceptionAsymmetric(8, 4, 6, 4, 6, 4, 4, n=7)
    first, second = module.branch_n[1].conv, module.branch_n[2].conv
    assert first.kernel_size == (1, 7) and second.kernel_size == (7, 1)
    assert first.weight.numel() == 6 * 6 * 7  # 2n weights per channel pair in all, instead of n*n
    x = torch.randn(1, 8, 15, 15, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    module.eval().branch_n(x)[0, :, 7, 7].sum().backward()  # random input: the ReLUs let gradient through
    rows, cols = x.grad[0].abs().sum(0).nonzero(as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (7, 7)
    with pytest.raises(ValueError, match="odd"):
        InceptionAsymmetric(8, 4, 6, 4, 6, 4, 4, n=4)


def test_expanded_module_and_grid_reduction_shapes():
    expanded = InceptionExpanded(16, 4, 8, 6, 8, 5, 3)
    assert expanded(torch.randn(1, 16, 4, 4)).shape == (1, 4 + 2 * 6 + 2 * 5 + 3, 4, 4) and expanded.out_channels == 29
    reduction = GridReduction(16, 8, 12, 8, 10)
    assert reduction(torch.randn(1, 16, 16, 16)).shape == (1, 12 + 10 + 16, 8, 8)


def test_inception_v3_small_grids():
    net = create("inception_v3_small", width=0.25).eval()
    x = torch.randn(1, 3, 32, 32)
    sides = []
    for stage in (net.stem, net.reduce1, net.mixed16, net.reduce2, net.mixed8, net.reduce3, net.mixed4):
        x = stage(x)
        sides.append(x.shape[-1])
    assert sides == [32, 16, 16, 8, 8, 4, 4]


# --- DenseNet [huang2017densely] ----------------------------------------------------------------------

from cnnlab.layers.dense import DenseBlock, DenseLayer, Transition  # noqa: E402
from cnnlab.models.densenet import cifar_densenet  # noqa: E402


def test_dense_block_channel_arithmetic_and_concatenation():
    block = DenseBlock(num_layers=4, in_channels=10, growth_rate=6, bottleneck=True).eval()
    x = torch.randn(2, 10, 8, 8)
    out = block(x)
    assert out.shape == (2, 10 + 4 * 6, 8, 8) == (2, block.out_channels, 8, 8)
    assert torch.equal(out[:, :10], x)  # the block's input is passed on unchanged
    assert [layer.conv1.in_channels for layer in block.layers] == [10, 16, 22, 28]
    assert all(layer.conv1.out_channels == 4 * 6 and layer.conv2.out_channels == 6 for layer in block.layers)


def test_plain_dense_layer_and_transition_compression():
    layer = DenseLayer(12, 4, bottleneck=False)
    assert not hasattr(layer, "conv1") and layer.conv2.in_channels == 12
    transition = Transition(30, compression=0.5)
    assert transition(torch.randn(1, 30, 8, 8)).shape == (1, 15, 4, 4)
    with pytest.raises(ValueError, match="compression"):
        Transition(30, compression=0.0)
    with pytest.raises(ValueError, match="growth_rate"):
        DenseLayer(12, 0)


def test_cifar_densenet_depth_sets_layers_per_block():
    net = cifar_densenet(40, 12, bottleneck=False)
    assert [len(getattr(net.features, f"block{i}").layers) for i in (1, 2, 3)] == [12, 12, 12]
    bc = cifar_densenet(100, 12)
    assert [len(getattr(bc.features, f"block{i}").layers) for i in (1, 2, 3)] == [16, 16, 16]
    assert bc.stem.conv0.out_channels == 24 and bc.features.transition1.out_channels == (24 + 16 * 12) // 2
    with pytest.raises(ValueError, match="6n\\+4"):
        cifar_densenet(42, 12)
    assert count(net) == 1_019_722 and count(bc) == 769_162


@pytest.mark.parametrize("name", ["densenet121", "densenet161", "densenet169", "densenet201"])
def test_densenet_matches_torchvision_layer_by_layer(name):
    with torch.device("meta"):
        ours, theirs = create(f"{name}_imagenet", num_classes=1000), getattr(torchvision.models, name)(weights=None)
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_densenet121_computes_what_torchvision_computes():
    torch.manual_seed(0)
    ours, theirs = create("densenet121_imagenet", num_classes=1000).eval(), torchvision.models.densenet121().eval()
    with torch.no_grad():
        for mine, ref in zip(list(ours.parameters()) + list(ours.buffers()),
                             list(theirs.parameters()) + list(theirs.buffers())):
            mine.copy_(ref)
        x = torch.randn(1, 3, 32, 32)
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_inception_v3_modules_compute_what_torchvision_computes():
    torch.manual_seed(0)
    ours = create("inception_v3_imagenet", num_classes=1000).eval()
    theirs = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False).eval()
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    with torch.no_grad():
        for mine, ref in zip(list(ours.parameters()) + list(ours.buffers()),
                             list(theirs.parameters()) + list(theirs.buffers())):
            mine.copy_(ref)
        pairs = [(ours.mixed5.b, theirs.Mixed_5b, 192, 9), (ours.mixed6.a, theirs.Mixed_6a, 288, 9),
                 (ours.mixed6.b, theirs.Mixed_6b, 768, 7), (ours.mixed7.a, theirs.Mixed_7a, 768, 9),
                 (ours.mixed7.b, theirs.Mixed_7b, 1280, 3), (ours.aux, theirs.AuxLogits, 768, 17)]
        for mine, ref, channels, side in pairs:
            x = torch.randn(1, channels, side, side)
            assert torch.allclose(mine(x), ref(x), atol=1e-5), type(ref).__name__


def test_nin_options_dropout_width_and_batch_norm_are_declared():
    assert not any(isinstance(m, nn.Dropout) for m in create("nin", dropout=0.0).modules())
    net = create("nin", width=0.125, batch_norm=True)
    # chapter 03's small NiN: widths x0.125 (24-20-12, 24-24-24, 24-24-classes), a BN after every conv
    expected = 0
    for c_in, widths, k in [(3, (24, 20, 12), 5), (12, (24, 24, 24), 5), (24, (24, 24, 10), 3)]:
        for i, c_out in enumerate(widths):
            expected += (k * k if i == 0 else 1) * c_in * c_out + c_out + 2 * c_out  # weights, bias, BN
            c_in = c_out
    assert sum(p.numel() for p in net.parameters()) == expected
    assert [type(m).__name__ for m in net.features.mlpconv1] == ["Conv2d", "BatchNorm2d", "ReLU"] * 3
    with pytest.raises(TypeError, match=r"'dropuot' \(did you mean dropout\?\)"):
        create("nin", dropuot=0.1)


def test_densenet_bc_depth_option_reaches_the_papers_largest_net():
    with torch.device("meta"):
        net = create("densenet_bc100_k12", depth=190, growth_rate=40)
    params = sum(p.numel() for p in net.parameters())
    assert abs(params / 1e6 - 25.6) <= 0.05, f"{params:,}; [huang2017densely] Table 2 prints 25.6M for L=190, k=40"
