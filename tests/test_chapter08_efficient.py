"""Chapter 08 (efficient convolutions): channel shuffle, the ShuffleNet V2 unit and network (the CIFAR form
against torchvision's network with its stem changed the same way), SqueezeNet's initialization and its batch-norm
option, and the experiment's ReLU6 bottleneck."""
import pytest
import torch
import torchvision
from torch import nn

from cnnlab.experiments.efficient_cifar import build, relu_bottleneck
from cnnlab.layers import Fire, MBConv, ShuffleV2Unit, channel_shuffle
from cnnlab.models import create


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("groups, order", [
    (2, [0, 3, 1, 4, 2, 5]),  # by hand: groups (0 1 2)(3 4 5) -> one channel of each group in turn
    (3, [0, 2, 4, 1, 3, 5]),  # groups (0 1)(2 3)(4 5)
    (1, [0, 1, 2, 3, 4, 5]),
    (6, [0, 1, 2, 3, 4, 5])])
def test_channel_shuffle_interleaves_the_groups(groups, order):
    x = torch.arange(6.0).view(1, 6, 1, 1).expand(2, 6, 3, 3)
    assert channel_shuffle(x, groups)[0, :, 0, 0].tolist() == order
    assert torch.equal(channel_shuffle(x, groups)[1], channel_shuffle(x, groups)[0])  # per image, per position


def test_shuffle_lets_stacked_grouped_convolutions_read_every_group():
    """[zhang2018shufflenet] Fig. 1: without the shuffle, output group i of two grouped 1x1 convs depends on input
    group i only; with it, on every input group (read off the Jacobian)."""
    torch.manual_seed(0)
    first, second = nn.Conv2d(9, 9, 1, groups=3, bias=False), nn.Conv2d(9, 9, 1, groups=3, bias=False)

    def dependence(shuffle: bool):
        def f(x):
            y = first(x)
            return second(channel_shuffle(y, 3) if shuffle else y)
        jacobian = torch.autograd.functional.jacobian(f, torch.randn(1, 9, 1, 1)).reshape(9, 9)
        return (jacobian != 0).int()

    block_diagonal = torch.block_diag(*[torch.ones(3, 3, dtype=torch.int)] * 3)
    assert torch.equal(dependence(False), block_diagonal)
    assert dependence(True).all()


def test_shufflenet_v2_unit_passes_half_the_channels_through_unchanged():
    torch.manual_seed(0)
    unit = ShuffleV2Unit(8, 8, stride=1).eval()
    x = torch.randn(2, 8, 5, 5)
    out = unit(x)
    assert out.shape == x.shape
    assert torch.equal(out[:, 0::2], x[:, :4])  # the kept half, interleaved by the shuffle with 2 groups
    assert not torch.allclose(out[:, 1::2], x[:, 4:])
    down = ShuffleV2Unit(8, 16, stride=2).eval()
    assert down(x).shape == (2, 16, 3, 3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_channels=8, out_channels=8, stride=3), "stride 1 or 2"),
    (dict(in_channels=8, out_channels=7, stride=2), "even"),
    (dict(in_channels=8, out_channels=16, stride=1), "keeps its width")])
def test_shufflenet_v2_unit_refuses_bad_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShuffleV2Unit(**kwargs)


def test_cifar_shufflenet_v2_is_torchvisions_network_with_a_stride_1_stem_and_no_max_pool():
    """The CIFAR form's departure, checked against a second implementation: torchvision's network with its
    first conv's stride set to 1 and its max-pool removed, our weights copied in by position."""
    torch.manual_seed(0)
    theirs = torchvision.models.shufflenet_v2_x1_0(num_classes=10)
    theirs.conv1[0].stride = (1, 1)
    theirs.maxpool = nn.Identity()
    with torch.no_grad():  # batch norms with their own statistics, so that the signal reaches the logits
        for m in theirs.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.normal_(0, 0.5)
                m.running_mean.normal_(0, 0.5), m.running_var.uniform_(0.5, 2.0)
    ours = create("shufflenet_v2")
    ours.load_state_dict(dict(zip(ours.state_dict(), theirs.state_dict().values())))
    ours.eval(), theirs.eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
        # the last feature maps too: on noise images the pooled logits hardly depend on the input
        expected = theirs.conv5(theirs.stage4(theirs.stage3(theirs.stage2(theirs.maxpool(theirs.conv1(x))))))
        torch.testing.assert_close(ours.last_conv(ours.stages(ours.stem(x))), expected, atol=1e-5, rtol=1e-5)
    assert expected.shape == (2, 1024, 4, 4) and expected.std() > 0.1


@pytest.mark.parametrize("width, params", [(0.5, 1_366_792), (1.5, 3_503_624), (2.0, 7_393_996)])
def test_shufflenet_v2_widths_count_as_torchvision(width, params):
    # torchvision.models.shufflenet_v2_x0_5 / x1_5 / x2_0 at 1,000 classes (their documented parameter counts)
    with torch.device("meta"):
        assert _count(create("shufflenet_v2", num_classes=1000, width=width)) == params
    with pytest.raises(ValueError, match="Table 5"):
        create("shufflenet_v2", width=0.75)


def test_squeezenet_starts_from_torchvisions_initialization():
    """Same seed, same weights as torchvision's squeezenet1_1 (He-uniform convs, conv10 from N(0, 0.01^2), zero
    biases): PyTorch's default initialization leaves the network at the chance loss."""
    torch.manual_seed(0)
    theirs = torchvision.models.squeezenet1_1()
    torch.manual_seed(0)
    ours = create("squeezenet1_1_imagenet", num_classes=1000)
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert torch.equal(a, b), name
    conv10 = ours.head.conv10.weight
    assert abs(conv10.std().item() - 0.01) < 0.0005  # 512,000 draws: the std is within 1% of 0.01
    squeeze = ours.features.fire2.squeeze[0].weight  # 64 inputs: He-uniform bound sqrt(6 / 64)
    assert squeeze.abs().max() <= (6 / 64) ** 0.5 and squeeze.abs().max() > 0.95 * (6 / 64) ** 0.5


def test_squeezenet_batch_norm_option():
    plain, normed = create("squeezenet"), create("squeezenet", batch_norm=True)
    fire = normed.features.fire2
    assert [type(m) for m in fire.expand3x3] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert fire.expand3x3[0].bias is None and normed.stem[0].bias is None
    assert [type(m) for m in plain.features.fire2.expand3x3] == [nn.Conv2d, nn.ReLU]
    # by hand: each conv loses its bias (c) and its BN gains 2c: +c per conv; stem 64, fires' s + e1 + e3
    fires = [(16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128), (48, 192, 192), (48, 192, 192),
             (64, 256, 256), (64, 256, 256)]
    assert _count(normed) - _count(plain) == 64 + sum(s + e1 + e3 for s, e1, e3 in fires)
    # Fire alone: the paper's layout by hand, [iandola2016squeezenet] Table 1's fire2 at 96 inputs
    assert _count(Fire(96, 16, 64, 64)) == 96 * 16 + 16 + 16 * 64 + 64 + 16 * 9 * 64 + 64


def test_relu_bottleneck_adds_relu6_after_every_projection_and_keeps_the_weights():
    linear, relu6 = build("mobilenet_v2", 3, bottleneck="linear"), build("mobilenet_v2", 3, bottleneck="relu6")
    blocks = [m for m in relu6.modules() if isinstance(m, MBConv)]
    assert len(blocks) == 17  # [sandler2018mobilenetv2] Table 2: 1 + 2 + 3 + 4 + 3 + 3 + 1 bottlenecks
    assert all(isinstance(list(b.project.children())[-1], nn.ReLU6) for b in blocks)
    assert not any(isinstance(m, nn.ReLU6) for b in linear.modules() if isinstance(b, MBConv) for m in b.project)
    state = linear.state_dict()
    assert all(torch.equal(state[k], v) for k, v in relu6.state_dict().items())
    # the effect: a projection's output is never negative with ReLU6, often negative without
    x = torch.randn(2, 3, 32, 32)
    outs = {}
    for name, model in (("linear", linear), ("relu6", relu6)):
        model.eval()
        hook = model.features.stage3[0].project.register_forward_hook(lambda m, i, o, name=name: outs.update({name: o}))
        model(x)
        hook.remove()
    assert outs["relu6"].min() >= 0 and outs["linear"].min() < 0
    with pytest.raises(ValueError, match="already"):
        relu_bottleneck(relu6)
    with pytest.raises(ValueError, match="no inverted residual"):
        relu_bottleneck(create("resnet20"))


def test_layer_kinds():
    from cnnlab.analysis import layer_kind

    assert layer_kind(nn.Conv2d(8, 16, 3)) == "standard"
    assert layer_kind(nn.Conv2d(8, 8, 3, groups=8)) == "depthwise"
    assert layer_kind(nn.Conv2d(8, 16, 3, groups=8)) == "depthwise"  # a channel multiplier of 2
    assert layer_kind(nn.Conv2d(8, 16, 1)) == "pointwise"
    assert layer_kind(nn.Conv2d(8, 16, 1, groups=4)) == "grouped"
    assert layer_kind(nn.Linear(8, 2)) == "linear"
    assert layer_kind(nn.BatchNorm2d(8)) is None


def test_work_by_kind_by_hand_and_against_the_flop_counter():
    from cnnlab.analysis import count_flops, work_by_kind

    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                        nn.BatchNorm2d(8), nn.Conv2d(8, 16, 1), nn.Conv2d(16, 16, 3, padding=1, groups=4),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    work = work_by_kind(net, (1, 3, 8, 8))
    positions = 8 * 8  # by hand: positions x output channels x inputs per group x kernel area
    assert work == {"standard": {"macs": positions * 8 * 3 * 9, "params": 8 * 3 * 9 + 8},
                    "depthwise": {"macs": positions * 8 * 9, "params": 8 * 9},
                    "pointwise": {"macs": positions * 16 * 8, "params": 16 * 8 + 16},
                    "grouped": {"macs": positions * 16 * 4 * 9, "params": 16 * 4 * 9 + 16},
                    "linear": {"macs": 160, "params": 170}}
    assert sum(w["macs"] for w in work.values()) == count_flops(net, (1, 3, 8, 8))["macs"]
    with pytest.raises(ValueError, match="four positive integers"):
        work_by_kind(net, (3, 8, 8))


def test_mobilenet_work_by_kind_matches_the_papers_table_2():
    from cnnlab.analysis import work_by_kind

    with torch.device("meta"):
        work = work_by_kind(create("mobilenet_v1_imagenet", num_classes=1000), (1, 3, 224, 224))
    macs = sum(w["macs"] for w in work.values())
    share = {kind: round(100 * w["macs"] / macs, 2) for kind, w in work.items()}
    # [howard2017mobilenets] Table 2: 94.86% of the mult-adds in 1x1 convs, 3.06% depthwise, 0.18% in the FC layer
    # (its 1.19% for the first, standard conv does not add up: 112 x 112 x 32 x 27 = 10.8M is 1.9% of 569M)
    assert (share["pointwise"], share["depthwise"], share["linear"]) == (94.86, 3.06, 0.18)
    assert work["standard"]["macs"] == 112 * 112 * 32 * 27


@pytest.mark.parametrize("alpha, side, millions", [(1.0, 224, 569), (0.75, 224, 325), (0.5, 224, 149),
                                                   (0.25, 224, 41), (1.0, 192, 418), (1.0, 160, 290), (1.0, 128, 186)])
def test_multiplier_explorer_counts_the_papers_networks(alpha, side, millions):
    from cnnlab.widgets.efficient import PAPER_RESOLUTIONS, PAPER_WIDTHS, _counted

    macs = sum(w["macs"] for w in _counted(alpha, side).values())
    assert abs(macs / 1e6 - millions) < 1  # [howard2017mobilenets] Tables 6 and 7 (160: 290.7M, printed 290)
    paper = PAPER_WIDTHS[alpha] if side == 224 else PAPER_RESOLUTIONS[side]
    assert paper[0] == millions


def test_arithmetic_intensity_by_hand():
    from cnnlab.analysis import arithmetic_intensity

    size = (1, 64, 32, 32)
    # depthwise 3x3: 2 x 32 x 32 x 64 x 9 FLOPs over (input + output + 64 x 9 weights) x 4 bytes
    depthwise = arithmetic_intensity(nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False), size)
    assert depthwise == pytest.approx(2 * 32 * 32 * 64 * 9 / ((2 * 64 * 32 * 32 + 64 * 9) * 4))
    dense = arithmetic_intensity(nn.Conv2d(64, 64, 3, padding=1, bias=False), size)
    assert dense == pytest.approx(2 * 32 * 32 * 64 * 64 * 9 / ((2 * 64 * 32 * 32 + 64 * 64 * 9) * 4))
    strided = arithmetic_intensity(nn.Conv2d(64, 32, 1, stride=2), size)
    assert strided == pytest.approx(2 * 16 * 16 * 32 * 64 / ((64 * 32 * 32 + 32 * 16 * 16 + 64 * 32 + 32) * 4))
    with pytest.raises(ValueError, match=r"\(N, 64, H, W\)"):
        arithmetic_intensity(nn.Conv2d(64, 64, 3), (1, 3, 32, 32))
