"""Efficient convolutions and attention: separable cost, Xception/MobileNet/SqueezeNet/SE/SK/
EfficientNet/NFNet/NASNet/Assemble-ResNet shapes; parameter counts are checked for every model in test_zoo.py."""
import pytest
import torch
import torch.nn as nn
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from cnnlab.layers.separable import DepthwiseSeparableConv, separable_cost, standard_conv_cost
from cnnlab.models import create



def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs(module: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2


# --- depthwise-separable convolution --------------------------------------------------------------

@pytest.mark.parametrize("n, m, k, stride", [(8, 16, 3, 1), (6, 10, 5, 2)])
def test_separable_cost_formula_matches_counted_multiply_adds(n, m, k, stride):
    conv = DepthwiseSeparableConv(n, m, k, stride, norm=False)
    x = torch.randn(1, n, 12, 12)
    h, w = conv(x).shape[-2:]
    assert macs(conv, x) == separable_cost(h, w, n, m, k) == h * w * n * (k * k + m)
    standard = nn.Conv2d(n, m, k, stride, k // 2, bias=False)
    assert macs(standard, x) == standard_conv_cost(h, w, n, m, k)


def test_separable_conv_is_depthwise_then_pointwise():
    conv = DepthwiseSeparableConv(8, 16, 3)
    assert conv.depthwise.groups == 8 and conv.depthwise.weight.shape == (8, 1, 3, 3)
    assert conv.pointwise.weight.shape == (16, 8, 1, 1)
    assert count(conv.depthwise) + count(conv.pointwise) == 8 * 9 + 8 * 16
    with pytest.raises(ValueError, match="kernel_size"):
        DepthwiseSeparableConv(8, 16, 0)
    with pytest.raises(ValueError, match="positive integer"):
        separable_cost(4, 4, 0, 8, 3)


# --- Xception and MobileNet -----------------------------------------------------------------------

def test_xception_flows_have_the_paper_widths():
    with torch.device("meta"):
        model = create("xception_imagenet", num_classes=1000)
        out = model.entry(torch.empty(1, 64, 147, 147))
    assert len(model.middle) == 8
    assert model.middle.block1.body[1].pointwise.out_channels == 728
    assert model.exit.sep2.pointwise.out_channels == 2048
    assert out.shape == (1, 728, 19, 19)  # the paper's Fig. 5: 19x19x728 feature maps


def test_mobilenet_width_multiplier_thins_every_layer():
    full, half = create("mobilenet_v1", alpha=1.0), create("mobilenet_v1", alpha=0.5)
    assert half.features.layer13.pointwise.out_channels == 512
    assert count(half) < 0.3 * count(full)  # ~alpha^2 for the pointwise convs that dominate
    with pytest.raises(ValueError, match="alpha"):
        create("mobilenet_v1", alpha=0)


def test_mobilenet_v2_bottleneck_is_linear_and_residual_when_shape_kept():
    model = create("mobilenet_v2")
    block = model.features.stage3[1]  # 32 -> 32, stride 1
    assert block.use_residual and not hasattr(block.project, "act")
    assert block.expand.conv.out_channels == 6 * 32
    assert not model.features.stage3[0].use_residual


# --- SqueezeNet -----------------------------------------------------------------------------------

def test_fire_module_concatenates_expand_paths():
    from cnnlab.layers.fire import Fire
    fire = Fire(96, 16, 64, 64)
    assert fire(torch.randn(2, 96, 9, 9)).shape == (2, 128, 9, 9)
    # [iandola2016squeezenet] Table 1, fire2: 96*16+16 + 16*64+64 + 16*9*64+64 parameters
    assert count(fire) == 96 * 16 + 16 + 16 * 64 + 64 + 16 * 9 * 64 + 64
    with pytest.raises(ValueError, match="squeeze"):
        Fire(96, 0, 64, 64)


def test_squeezenet_has_no_fully_connected_layer():
    model = create("squeezenet")
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="version"):
        from cnnlab.models.squeezenet import SqueezeNet
        SqueezeNet(version="2_0")


# --- SE and SK attention --------------------------------------------------------------------------

def test_se_weights_lie_in_zero_one_and_scale_the_residual_branch():
    from cnnlab.layers import attention_weights
    model = create("se_resnet20")
    weights = attention_weights(model, torch.randn(2, 3, 32, 32))
    assert len(weights) == 9  # one SE per basic block of ResNet-20
    first = weights["stages.stage1.0.se"]
    assert first.shape == (2, 16, 1, 1)
    assert all(((w > 0) & (w < 1)).all() for w in weights.values())
    assert model.training  # the helper restores the mode


def test_se_reduction_ratio_sets_hidden_width():
    from cnnlab.layers.se import SqueezeExcite
    se = SqueezeExcite(64, reduction=16)
    assert se.fc1.out_channels == 4 and count(se) == 64 * 4 + 4 + 4 * 64 + 64
    x = torch.randn(2, 64, 5, 5)
    gate = torch.sigmoid(se.fc2(torch.relu(se.fc1(x.mean((2, 3), keepdim=True)))))
    assert torch.allclose(se(x), x * gate, atol=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        SqueezeExcite(64, reduction=0)


def test_sk_branch_weights_are_a_softmax_over_branches():
    from cnnlab.layers import attention_weights
    from cnnlab.layers.sk import SelectiveKernel
    sk = SelectiveKernel(16, 16, dilations=(1, 2, 3), groups=4, reduction=4, min_dim=8)
    assert sk.fuse.conv.out_channels == 8  # d = max(C / r, L)
    assert [b.conv.dilation for b in sk.branches] == [(1, 1), (2, 2), (3, 3)]
    weights = attention_weights(sk, torch.randn(2, 16, 8, 8))[""]
    assert weights.shape == (2, 3, 16, 1, 1)
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, 16, 1, 1))
    assert sk(torch.randn(2, 16, 8, 8)).shape == (2, 16, 8, 8)
    with pytest.raises(ValueError, match="dilations"):
        SelectiveKernel(16, 16, dilations=(1,))


def test_sknet_blocks_attend_and_options_are_checked():
    from cnnlab.layers import attention_weights
    from cnnlab.layers.sk import SKBottleneck
    weights = attention_weights(create("sknet"), torch.randn(2, 3, 32, 32))
    assert len(weights) == 6 and weights["stages.stage3.1.sk"].shape == (2, 2, 128, 1, 1)
    with pytest.raises(ValueError, match="groups"):
        SKBottleneck(64, 128, width=60, groups=8)
    with pytest.raises(ValueError, match="shortcut"):
        SKBottleneck(64, 128, shortcut="z")


# --- MBConv and EfficientNet ----------------------------------------------------------------------

def test_mbconv_expands_filters_depthwise_and_projects_linearly():
    from cnnlab.layers.mbconv import MBConv
    block = MBConv(16, 24, kernel_size=5, stride=2, expand_ratio=6)
    assert block(torch.randn(2, 16, 16, 16)).shape == (2, 24, 8, 8)
    assert block.expand.conv.out_channels == 96 and block.depthwise.conv.groups == 96
    assert block.depthwise.conv.kernel_size == (5, 5)
    assert block.se.fc1.out_channels == 4  # SE ratio 0.25 of the block input, as the official code
    assert isinstance(block.depthwise.act, nn.SiLU) and not hasattr(block.project, "act")
    assert not block.use_residual
    same = MBConv(24, 24, drop_prob=0.5).eval()
    x = torch.randn(2, 24, 8, 8)
    assert same.use_residual and torch.equal(same(x), same(x))  # stochastic depth is off in eval
    assert isinstance(MBConv(32, 16, expand_ratio=1).expand, nn.Identity)
    with pytest.raises(ValueError, match="expand_ratio"):
        MBConv(16, 16, expand_ratio=0.5)


def test_compound_scaling_coefficients():
    from cnnlab.models.efficientnet import EFFICIENTNET_COEFFICIENTS, compound_scaling
    alpha, beta, gamma = 1.2, 1.1, 1.15
    assert alpha * beta ** 2 * gamma ** 2 == pytest.approx(2, abs=0.1)
    assert compound_scaling(0) == (1.0, 1.0, 224)
    d, w, r = compound_scaling(2)
    assert d == pytest.approx(1.44) and w == pytest.approx(1.21) and r == 296
    names = [c.name for c in EFFICIENTNET_COEFFICIENTS]
    assert names == [f"b{i}" for i in range(8)]
    for small, big in zip(EFFICIENTNET_COEFFICIENTS, EFFICIENTNET_COEFFICIENTS[1:]):
        assert big.depth_mult > small.depth_mult and big.resolution > small.resolution
    with pytest.raises(ValueError, match="phi"):
        compound_scaling(-1)


@pytest.mark.parametrize("phi", [1, 2, 3])
def test_compound_scaling_builds_torchvisions_network_and_doubles_flops_per_phi(phi):
    """The compound-scaled B0 equals torchvision's EfficientNet built with the same width and depth
    multipliers (a second implementation of the rounding rules), layer for layer in parameters and MACs.
    alpha * beta^2 * gamma^2 ~ 2 aims at 2^phi times B0's MACs [tan2019efficientnet]; rounding depths up
    gives more: 2.58x, 4.70x, 8.45x at phi = 1, 2, 3."""
    from torchvision.models.efficientnet import EfficientNet as TorchvisionEfficientNet, _efficientnet_conf

    from cnnlab.models.efficientnet import compound_scaling, efficientnet
    d, w, r = compound_scaling(phi)
    with torch.device("meta"):
        ours = efficientnet(w, d, num_classes=1000, cifar=False).eval()
        setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=w, depth_mult=d)
        theirs = TorchvisionEfficientNet(setting, 0.2, last_channel=last_channel).eval()
        x = torch.empty(1, 3, r, r)
        assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
        assert macs(ours, x) == macs(theirs, x)
        base = macs(efficientnet(1.0, 1.0, num_classes=1000, cifar=False).eval(), torch.empty(1, 3, 224, 224))
    assert 2 ** phi <= macs(ours, x) / base < 1.35 * 2 ** phi


# --- NFNet ----------------------------------------------------------------------------------------

NORMS = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d, nn.LocalResponseNorm)


@pytest.mark.parametrize("name", ["nf_resnet20", "nfnet_f0_cifar", "nfnet_f0_imagenet"])
def test_nfnets_have_no_normalization_layers(name):
    with torch.device("meta"):
        model = create(name)
    assert not [m for m in model.modules() if isinstance(m, NORMS)]
    assert [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_scaled_ws_conv_uses_standardized_weights():
    from cnnlab.layers.scaled_ws import ScaledStdConv2d
    conv = ScaledStdConv2d(8, 6, 3, gain_init=1.0)
    nn.init.uniform_(conv.weight, 0.5, 2.0)  # far from zero mean
    with torch.no_grad():
        conv.gain.copy_(torch.linspace(0.5, 2.0, 6).view(6, 1, 1, 1))
    w = conv.standardized_weight()
    fan_in = 8 * 9
    assert torch.allclose(w.mean(dim=(1, 2, 3)), torch.zeros(6), atol=1e-6)
    expected = conv.gain.flatten() ** 2 / fan_in
    assert torch.allclose(w.var(dim=(1, 2, 3), unbiased=False), expected, rtol=1e-3)
    x = torch.randn(2, 8, 5, 5)
    assert torch.allclose(conv(x), nn.functional.conv2d(x, w, conv.bias, padding=1), atol=1e-5)


def test_scaled_activations_keep_unit_variance():
    import math

    from cnnlab.layers.scaled_ws import ACTIVATION_GAMMA, ScaledActivation
    assert ACTIVATION_GAMMA["relu"] == pytest.approx(1.7129, abs=1e-4)
    assert ACTIVATION_GAMMA["relu"] == pytest.approx(math.sqrt(2 / (1 - 1 / math.pi)))
    x = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0))
    for name in ("relu", "gelu", "silu"):
        assert ScaledActivation(name)(x).var().item() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="activation"):
        ScaledActivation("tanh")


def test_expected_betas_grow_by_alpha_squared_and_reset_at_transitions():
    from cnnlab.models.nfnet import expected_betas
    betas = expected_betas([2, 3], alpha=0.2)
    variances = [round(b ** 2, 6) for b in betas]
    assert variances == [1.0, 1.04, 1.08, 1.04, 1.08]  # a transition block (3rd) resets the stream to 1 + alpha^2


def test_signal_variance_follows_the_expected_betas_at_init():
    from cnnlab.layers.nf import _NFResidual
    torch.manual_seed(0)
    model = create("nf_resnet20", skip_init=False)
    seen = []
    for block in model.modules():
        if isinstance(block, _NFResidual):
            block.register_forward_pre_hook(lambda m, args: seen.append(args[0].var().item() / m.beta ** 2))
    with torch.no_grad():
        model(torch.randn(16, 3, 32, 32))
    assert len(seen) == 9 and all(0.8 < v < 1.25 for v in seen)  # h_i / beta_i has unit variance


def test_nf_bottleneck_residual_branch_keeps_unit_variance():
    from cnnlab.layers.nf import NFBottleneck
    torch.manual_seed(0)
    # stride 1: a transition's 2x2 average pool would shrink white noise by 4 (images are smoother)
    block = NFBottleneck(64, 64, group_size=16, skip_init=False)
    x = torch.randn(16, 64, 12, 12)
    with torch.no_grad():
        assert 0.7 < block.body(block.act(x)).var().item() < 1.3
        assert torch.equal(NFBottleneck(64, 64, group_size=16)(x), x)  # SkipInit: identity at init
    assert block.body.conv2.groups == 2 and block.body.conv2b.groups == 2
    with pytest.raises(ValueError, match="group_size"):
        NFBottleneck(64, 64, group_size=128)


# --- NASNet ---------------------------------------------------------------------------------------

def test_search_space_has_the_papers_13_operations_and_keeps_shapes():
    from cnnlab.layers.nas_ops import SEARCH_SPACE
    assert len(SEARCH_SPACE) == 13
    x = torch.randn(2, 8, 8, 8)
    for name, make in SEARCH_SPACE.items():
        assert make(8, 1)(x).shape == (2, 8, 8, 8), name
        assert make(8, 2)(x).shape == (2, 8, 4, 4), name


def test_nasnet_a_cells_output_shapes():
    from cnnlab.layers.nas_ops import NASCell
    from cnnlab.models.nasnet import NASNET_A_NORMAL, NASNET_A_REDUCTION
    h_prev, h = torch.randn(2, 24, 16, 16), torch.randn(2, 48, 16, 16)
    normal = NASCell(NASNET_A_NORMAL, 24, 48, 8)
    assert normal(h_prev, h).shape == (2, 6 * 8, 16, 16)  # h_{i-1} and the five blocks
    reduction = NASCell(NASNET_A_REDUCTION, 24, 48, 16, reduction=True)
    assert reduction(h_prev, h).shape == (2, 4 * 16, 8, 8)  # four blocks, half resolution
    after = NASCell(NASNET_A_NORMAL, 48, 64, 16, prev_reduced=True)
    assert after(h, torch.randn(2, 64, 8, 8)).shape == (2, 96, 8, 8)


def test_nasnet_stacks_n_normal_cells_between_reductions():
    with torch.device("meta"):  # shapes only: no memory, no compute
        model = create("nasnet_a_small")
        sides = []
        for cell in model.cells:
            cell.register_forward_hook(lambda m, args, out: sides.append(out.shape[-1]))
        model(torch.empty(2, 3, 32, 32))
    assert sides == [32, 32, 16, 16, 16, 8, 8, 8]  # N=2 normal cells, reduction, N normal, reduction, N normal
    assert model.head[-1].in_features == 6 * 4 * 16


def test_cell_genotype_is_checked():
    from cnnlab.layers.nas_ops import Genotype, NASCell
    bad_op = Genotype(((("conv_9x9", 0), ("identity", 1)),), (2,))
    with pytest.raises(ValueError, match="unknown operation"):
        NASCell(bad_op, 8, 8, 8)
    future = Genotype(((("identity", 3), ("identity", 1)),), (2,))
    with pytest.raises(ValueError, match="states"):
        NASCell(future, 8, 8, 8)


# --- Assemble-ResNet ------------------------------------------------------------------------------

def test_assemble_resnet_with_every_switch_off_is_resnet50():
    off = dict(resnet_d=False, sk=False, antialias=False, big_little=False)
    with torch.device("meta"):
        assert count(create("assemble_resnet50_imagenet", num_classes=1000, **off)) == \
            count(torchvision.models.resnet50(weights=None))


def test_assemble_resnet_switches_change_the_right_parts():
    from cnnlab.layers.antialias import BlurPool
    from cnnlab.layers.sk import SKBottleneck
    from cnnlab.layers.big_little import BigLittleStage
    off = dict(resnet_d=False, sk=False, antialias=False, big_little=False)

    def kinds(**switch):
        return {type(m) for m in create("assemble_resnet", **{**off, **switch}).modules()}

    assert not kinds() & {BlurPool, SKBottleneck, BigLittleStage, nn.AvgPool2d}
    assert nn.AvgPool2d in kinds(resnet_d=True) and len(create("assemble_resnet", **{**off, "resnet_d": True}).stem) == 3
    assert BlurPool in kinds(antialias=True)
    assert BigLittleStage in kinds(big_little=True)
    sk = create("assemble_resnet", **{**off, "sk": True}).stages.stage1[0].sk
    assert [b.conv.dilation for b in sk.branches] == [(1, 1), (1, 1)]  # 3x3 of doubled channels, no 5x5


def test_big_little_branches_run_at_two_resolutions():
    model = create("assemble_resnet")
    stage = model.stages.stage1[1]
    sides = {}
    for branch in ("big", "little"):
        getattr(stage, branch).register_forward_hook(lambda m, a, out, branch=branch: sides.update({branch: out.shape[-1]}))
    model(torch.randn(2, 3, 32, 32))
    assert sides == {"big": 16, "little": 32}
    assert stage.little[-1].conv.in_channels == 64 // 2  # little branch: 1/alpha of the width


def test_assemble_resnet_options_are_checked():
    with pytest.raises(ValueError, match="switch"):
        create("assemble_resnet", sk="yes")
    with pytest.raises(ValueError, match="big_little"):
        from cnnlab.models.assemble_resnet import AssembleResNet
        AssembleResNet([1, 2, 2], [64, 128, 256])
