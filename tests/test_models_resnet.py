"""ResNet family: block orders, shortcuts, options."""
import pytest
import torch
import torch.nn as nn

from cnnlab.layers.residual import BasicBlock, Bottleneck, PyramidBlock, ZeroPadShortcut
from cnnlab.models import create
from cnnlab.models.fractalnet import FractalNet
from cnnlab.models.msdnet import MSDNet
from cnnlab.models.pyramidnet import PyramidNet
from cnnlab.models.ror import RoR
from cnnlab.models.shake_shake import ShakeShakeNet
from cnnlab.models.resnet import cifar_resnet, wide_resnet


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def kinds(block, size=8):
    """The modules of the residual branch (not the shortcut) in the order forward calls them."""
    called = []
    hooks = [m.register_forward_hook(lambda m, _i, _o: called.append(type(m).__name__))
             for name, m in block.named_children() if name not in ("shortcut", "drop_path")]
    block.eval()(torch.randn(1, block.in_channels, size, size))
    for hook in hooks:
        hook.remove()
    return called


def basic_branch(block, x):
    """F(x) of an original basic block, written out from [he2016deep]: conv bn relu conv bn."""
    return block.bn2(block.conv2(block.relu1(block.bn1(block.conv1(x)))))


def pyramid_branch(block, x):
    """F(x) of a PyramidNet block, written out from [han2017deep]: bn conv bn relu conv bn."""
    return block.bn3(block.conv2(block.relu(block.bn2(block.conv1(block.bn1(x))))))


def test_block_variants_put_norm_and_activation_in_the_paper_order():
    from cnnlab.layers.residual import PreActBottleneck, PyramidBottleneck, WideBlock, PreActBlock
    # the original block ends with a ReLU after the addition, the others with the branch's last layer
    assert kinds(BasicBlock(8, 8)) == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU"]
    assert kinds(PreActBlock(8, 8)) == ["BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU", "Conv2d"]
    assert kinds(PyramidBlock(8, 8)) == ["BatchNorm2d", "Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d"]
    assert kinds(WideBlock(8, 8, dropout=0.3)) == ["BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU", "Dropout",
                                                   "Conv2d"]
    assert kinds(Bottleneck(16, 16)) == ["Conv2d", "BatchNorm2d", "ReLU"] * 2 + ["Conv2d", "BatchNorm2d", "ReLU"]
    assert kinds(PreActBottleneck(16, 16)) == ["BatchNorm2d", "ReLU", "Conv2d"] * 3
    assert kinds(PyramidBottleneck(16, 16)) == ["BatchNorm2d"] + ["Conv2d", "BatchNorm2d", "ReLU"] * 2 + [
        "Conv2d", "BatchNorm2d"]


def test_cifar_resnet_variants_choose_the_block_class():
    from cnnlab.layers.residual import PreActBlock, WideBlock
    assert isinstance(cifar_resnet(20).stages.stage1[0], BasicBlock)
    assert isinstance(cifar_resnet(20, block_variant="preact").stages.stage1[0], PreActBlock)
    assert isinstance(cifar_resnet(20, block_variant="pyramid").stages.stage1[0], PyramidBlock)
    assert isinstance(wide_resnet(16, 2).stages.stage1[0], WideBlock)


def test_option_a_shortcut_has_no_parameters_and_zero_pads():
    block = BasicBlock(4, 8, stride=2, shortcut="a")
    assert isinstance(block.shortcut, ZeroPadShortcut) and count(block.shortcut) == 0
    x = torch.randn(2, 4, 8, 8)
    out = block.shortcut(x)
    assert out.shape == (2, 8, 4, 4)
    assert torch.equal(out[:, :4], x[:, :, ::2, ::2]) and not out[:, 4:].any()


def test_shortcut_b_and_d_project():
    b = BasicBlock(4, 8, stride=2, shortcut="b").shortcut
    d = BasicBlock(4, 8, stride=2, shortcut="d").shortcut
    assert [type(m).__name__ for m in b] == ["Conv2d", "BatchNorm2d"] and b[0].stride == (2, 2)
    assert [type(m).__name__ for m in d] == ["AvgPool2d", "Conv2d", "BatchNorm2d"] and d[1].stride == (1, 1)
    x = torch.randn(1, 4, 7, 7)
    assert b(x).shape == d(x).shape == (1, 8, 4, 4)


def test_plain_network_differs_only_by_the_shortcut():
    torch.manual_seed(0)
    res = cifar_resnet(20)
    plain = cifar_resnet(20, residual=False)
    assert count(res) == count(plain)
    plain.load_state_dict(res.state_dict())
    res.eval(), plain.eval()
    x = torch.randn(2, 3, 32, 32)
    for block in res.modules():
        if isinstance(block, BasicBlock):
            block.shortcut = None  # removing the shortcut by hand gives the plain network
    assert torch.allclose(res(x), plain(x))


def test_grouped_bottleneck_counts_like_the_resnext_formula():
    block = Bottleneck(256, 256, groups=32, width=128)
    grouped = block.conv2
    assert grouped.groups == 32 and grouped.weight.shape == (128, 4, 3, 3)
    assert count(grouped) == 128 * 128 * 9 // 32


def test_grouped_conv_equals_sum_of_aggregated_paths():
    torch.manual_seed(0)
    c, width, groups = 16, 8, 4
    reduce = nn.Conv2d(c, width, 1, bias=False)
    grouped = nn.Conv2d(width, width, 3, padding=1, groups=groups, bias=False)
    expand = nn.Conv2d(width, c, 1, bias=False)
    x = torch.randn(2, c, 6, 6)
    grouped_form = expand(grouped(reduce(x)))
    d = width // groups
    paths = []
    for g in range(groups):  # path g: its slice of each conv's weights, [xie2017aggregated] Fig. 3(a)
        sl = slice(g * d, (g + 1) * d)
        h = nn.functional.conv2d(x, reduce.weight[sl])
        h = nn.functional.conv2d(h, grouped.weight[sl], padding=1)
        paths.append(nn.functional.conv2d(h, expand.weight[:, sl]))
    assert torch.allclose(grouped_form, sum(paths), atol=1e-5)


def test_stochastic_depth_schedule():
    model = cifar_resnet(20, drop_prob=0.5)
    probs = [m.drop_path.p for m in model.modules() if isinstance(m, BasicBlock)]
    assert probs == pytest.approx([0.5 * l / 9 for l in range(1, 10)])  # [huang2016deep] Eq. 4: p_l = l/L (1 - p_L)


def test_stochastic_depth_drops_the_share_p_of_whole_images():
    # p = 0.2 and not 0.5, where dropping with the survival probability instead would look the same
    torch.manual_seed(0)
    p, n = 0.2, 20_000
    block = BasicBlock(2, 2, drop_prob=p).train()
    x = torch.rand(n, 2, 2, 2)  # non-negative, so a block whose branch is dropped returns relu(x) = x exactly
    branch = basic_branch(block, x)  # the same batch statistics as the forward below
    out = block(x)
    dropped = (out == x).flatten(1).all(1)
    share = dropped.float().mean().item()
    assert abs(share - p) < 4 * (p * (1 - p) / n) ** 0.5  # binomial: within 4 standard errors (0.011) of p
    kept = ~dropped  # the kept branches are scaled by 1/(1 - p) in training (torchvision's inverted form)
    assert torch.allclose(out[kept], torch.relu(x[kept] + branch[kept] / (1 - p)), atol=1e-6)
    block.eval()  # at test time every branch is on, unscaled
    assert torch.allclose(block(x), torch.relu(x + basic_branch(block, x)), atol=1e-6)


def test_imagenet_resnet_d_option_and_shapes():
    with torch.device("meta"):
        model = create("resnet50_imagenet", num_classes=1000, stem="deep", shortcut="d")
        assert model(torch.empty(1, 3, 224, 224)).shape == (1, 1000)
    assert len([m for m in model.stem if isinstance(m, nn.Conv2d)]) == 3


def test_cifar_forward_backward_and_input_check():
    model = create("resnet20")
    out = model(torch.randn(2, 3, 32, 32))
    out.sum().backward()
    assert out.shape == (2, 10)
    with pytest.raises(ValueError, match="3 input channels"):
        model(torch.randn(2, 1, 32, 32))


@pytest.mark.parametrize("build, message", [
    (lambda: cifar_resnet(21), "6n\\+2"),
    (lambda: wide_resnet(27, 10), "6n\\+4"),
    (lambda: wide_resnet(28, 0), "widening factor"),
    (lambda: cifar_resnet(20, block_variant="postact"), "unknown block variant"),
    (lambda: BasicBlock(8, 8, shortcut="c"), "unknown shortcut"),
    (lambda: cifar_resnet(20, dropout=0.3), "wrn"),
    (lambda: Bottleneck(64, 256, groups=3, width=64), "must divide"),
    (lambda: BasicBlock(8, 4, stride=2, shortcut="a"), "cannot reduce"),
    (lambda: BasicBlock(0, 4), "in_channels"),
])
def test_invalid_options_raise(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_blur_filter_sums_to_one_and_is_binomial():
    from cnnlab.layers.antialias import binomial_filter
    for size in range(1, 8):
        assert binomial_filter(size).sum().item() == pytest.approx(1.0)
    assert torch.allclose(binomial_filter(3) * 16, torch.tensor([[1., 2, 1], [2, 4, 2], [1, 2, 1]]))
    with pytest.raises(ValueError, match="1 to 7"):
        binomial_filter(8)


def test_blurred_downsampling_of_a_step_edge_shifts_smoothly():
    from cnnlab.layers.antialias import BlurPool

    def edge(shift):
        x = torch.zeros(1, 1, 16, 16)
        x[..., 8 + shift:] = 1.0
        return x

    def change(pool):
        a, b = pool(edge(0)), pool(edge(1))  # the edge moves by one pixel
        return (a - b).abs().max().item()

    naive = nn.Conv2d(1, 1, 1, stride=2, bias=False)
    nn.init.ones_(naive.weight)
    blur = BlurPool(1, filter_size=5, stride=2)
    assert change(naive) == pytest.approx(1.0)  # plain subsampling: a full jump
    assert change(blur) < 0.5  # blurred: the output moves by a fraction
    assert blur(edge(0)).shape == (1, 1, 8, 8)


def test_antialias_option_keeps_parameters_and_shapes():
    plain, smooth = create("resnet20"), create("resnet20", antialias=True)
    assert count(plain) == count(smooth)
    names = [type(m).__name__ for m in smooth.modules()]
    assert names.count("BlurPool") == 4  # two downsampling blocks: the body conv and the shortcut
    assert smooth(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with torch.device("meta"):
        big = create("resnet18_imagenet", num_classes=1000, antialias=True)
        assert big(torch.empty(1, 3, 224, 224)).shape == (1, 1000)
    assert type(big.stem[-1]).__name__ == "MaxBlurPool"


@pytest.mark.parametrize("name", ["resnet20", "wrn16_4", "preact_resnet18"])
def test_traceable_by_fx(name):
    model = create(name, drop_prob=0.2, antialias=True).eval()
    graph = torch.fx.symbolic_trace(model)
    x = torch.randn(1, 3, 32, 32)
    assert torch.allclose(graph(x), model(x))


def test_survival_probabilities_decay_linearly_to_p_last():
    from cnnlab.layers.regularizers import survival_probabilities
    probs = survival_probabilities(4, p_last=0.5)
    assert probs == pytest.approx([0.875, 0.75, 0.625, 0.5])
    with pytest.raises(ValueError, match="p_last"):
        survival_probabilities(4, p_last=0.0)


def test_swapout_masks_units_in_training_and_uses_expectation_in_eval():
    from cnnlab.layers.regularizers import Swapout
    swap = Swapout(0.5, 0.5)
    x, fx = torch.ones(2, 4, 8, 8), 2 * torch.ones(2, 4, 8, 8)
    values = set(swap(x, fx).unique().tolist())
    assert values == {0.0, 1.0, 2.0, 3.0}  # every unit draws its own Θ1, Θ2
    swap.eval()
    assert torch.equal(swap(x, fx), torch.full_like(x, 1.5))
    with pytest.raises(ValueError, match="p_identity"):
        Swapout(1.5, 0.5)


def test_shake_shake_gradient_differs_from_forward_mix():
    from cnnlab.layers.regularizers import ShakeShake
    torch.manual_seed(0)
    shake = ShakeShake()
    a = torch.zeros(8, 1, 2, 2, requires_grad=True)
    b = torch.ones(8, 1, 2, 2, requires_grad=True)
    out = shake(a, b)
    alpha = 1 - out[:, 0, 0, 0]  # out = α·0 + (1-α)·1
    assert torch.allclose(out, (1 - alpha).view(-1, 1, 1, 1).expand_as(out))  # one α per image
    out.sum().backward()
    beta = a.grad[:, 0, 0, 0]
    assert torch.allclose(a.grad + b.grad, torch.ones_like(a.grad))  # β and 1-β
    assert not torch.allclose(alpha, beta)  # backward draws its own coefficient
    shake.eval()
    assert torch.equal(shake(a, b), torch.full_like(a, 0.5))


def test_shake_drop_train_stochastic_eval_expectation():
    from cnnlab.layers.regularizers import ShakeDrop
    torch.manual_seed(0)
    drop = ShakeDrop(p_survive=0.5)
    x = torch.ones(256, 1, 1, 1, requires_grad=True)
    out = drop(x)
    scales = out.flatten().detach()
    kept = scales == 1.0
    assert 0 < kept.sum() < 256 and (scales[~kept] >= -1).all() and (scales[~kept] <= 1).all()
    out.sum().backward()
    grads = x.grad.flatten()
    assert torch.equal(grads[kept], torch.ones(int(kept.sum())))
    assert (grads[~kept] >= 0).all() and not torch.allclose(grads[~kept], scales[~kept])
    drop.eval()
    assert torch.equal(drop(x), x * 0.5)  # p + (1-p)·E[α] = 0.5 + 0.5·0
    assert torch.allclose(ShakeDrop(0.5, (0.0, 1.0)).eval()(x), x * 0.75)


def test_dropblock_option_sits_in_the_last_two_stages_only():
    from cnnlab.layers.regularizers import DropBlock2d
    model = cifar_resnet(20, dropblock=0.3)
    where = {name.split(".")[1] for name, m in model.named_modules() if isinstance(m, DropBlock2d)}
    assert where == {"stage2", "stage3"}
    drop = model.stages.stage3[-1]
    assert drop.block_size == 3 and drop.p == 0.3
    torch.manual_seed(0)
    x = torch.ones(4, 2, 8, 8)
    drop.train()
    zeros = drop(x) == 0
    assert zeros.any() and not zeros.all()
    drop.eval()
    assert torch.equal(drop(x), x)
    model.eval()
    y = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(y), model(y))
    with pytest.raises(ValueError, match="dropblock"):
        cifar_resnet(20, dropblock=1.0)


def test_pyramidnet_widens_at_every_block_by_alpha_over_n():
    model = PyramidNet(20, 24)  # 9 blocks: widths floor(16 + k * 24 / 9)
    widths = [m.conv1.out_channels for m in model.modules() if isinstance(m, PyramidBlock)]
    assert widths == [18, 21, 24, 26, 29, 32, 34, 37, 40]
    assert kinds(model.stages.stage1[0]) == ["BatchNorm2d", "Conv2d", "BatchNorm2d", "ReLU", "Conv2d",
                                              "BatchNorm2d"]
    shortcut = model.stages.stage2[0].shortcut
    assert count(shortcut) == 0
    x = torch.randn(1, 24, 8, 8)
    out = shortcut(x)
    assert out.shape == (1, 26, 4, 4)
    assert torch.allclose(out[:, :24], nn.functional.avg_pool2d(x, 2)) and not out[:, 24:].any()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("depth, alpha, printed", [(200, 240, 26.6), (236, 220, 26.8)])
def test_pyramidnet_floor_widths_reproduce_table4_beyond_the_registered_nets(depth, alpha, printed):
    with torch.device("meta"):
        params = count(PyramidNet(depth, alpha, 10, bottleneck=True))
    assert abs(params / 1e6 - printed) <= 0.05, f"{params:,} parameters, Table 4 of [han2017deep] prints {printed}M"


def test_pyramidnet_shakedrop_survival_decays_linearly_and_eval_is_expectation():
    from cnnlab.layers.regularizers import ShakeDrop
    model = create("pyramidnet20_a24_shakedrop")
    drops = [m for m in model.modules() if isinstance(m, ShakeDrop)]
    assert len(drops) == 9
    assert [d.p_survive for d in drops] == pytest.approx([1 - k / 9 * 0.5 for k in range(1, 10)])
    block = model.stages.stage3[-1].eval()
    x = torch.randn(2, 37, 8, 8)
    padded = nn.functional.pad(x, (0, 0, 0, 0, 0, 3))
    assert torch.allclose(block(x), pyramid_branch(block, x) * 0.5 + padded)  # p_L + (1 - p_L) E[α] = 0.5
    assert count(create("pyramidnet20_a24")) == count(model)


@pytest.mark.parametrize("build, message", [
    (lambda: create("pyramidnet20_a24", shakedrop=1.0), "shakedrop"),
    (lambda: PyramidNet(21, 24), "6n\\+2"),
    (lambda: PyramidNet(21, 24, bottleneck=True), "9n\\+2"),
    (lambda: BasicBlock(8, 8, drop_prob=0.2, branch_drop=nn.Identity()), "not both"),
])
def test_pyramidnet_invalid_options_raise(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_shake_shake_block_mixes_two_branches_and_averages_them_in_eval():
    from cnnlab.layers.shake_shake import ShakeShakeBlock
    torch.manual_seed(0)
    block = ShakeShakeBlock(8, 8)
    assert kinds_of(block.branch_a) == kinds_of(block.branch_b) == ["ReLU", "Conv2d", "BatchNorm2d", "ReLU",
                                                                    "Conv2d", "BatchNorm2d"]
    x = torch.randn(4, 8, 6, 6)
    block.eval()
    a, b = block.branch_a(x), block.branch_b(x)
    assert torch.allclose(block(x), x + 0.5 * (a + b))
    block.train()
    assert not torch.allclose(block(x), block(x))  # α is redrawn at every forward


def kinds_of(sequence):
    return [type(m).__name__ for m in sequence]


def test_shake_shake_shortcut_halves_see_shifted_pixels():
    from cnnlab.layers.shake_shake import ShiftedPoolShortcut
    shortcut = ShiftedPoolShortcut(1, 2, stride=2).eval()
    nn.init.ones_(shortcut.conv_a.weight), nn.init.ones_(shortcut.conv_b.weight)
    x = torch.arange(16.0).view(1, 1, 4, 4)
    shortcut.bn = nn.Identity()
    out = shortcut(x)
    assert torch.equal(out[0, 0], x[0, 0, ::2, ::2]) and torch.equal(out[0, 1], x[0, 0, 1::2, 1::2])
    assert count(ShiftedPoolShortcut(16, 32, 2)) == 2 * 16 * 16 + 2 * 32


def test_msdnet_returns_one_logit_per_exit_in_train_and_eval():
    exits = 3
    model = create("msdnet", exits=exits, base=2, step=1, growth=4, channels=8)
    x = torch.randn(2, 3, 32, 32)
    for mode in (True, False):
        out = model.train(mode)(x)
        assert isinstance(out, list) and len(out) == exits and all(o.shape == (2, 10) for o in out)


def test_msdnet_layer_without_the_finest_scale_grows_its_first_scale_from_itself():
    from cnnlab.layers.msd import MSDLayer
    layer = MSDLayer([32, 64], 6, skip=0)  # scales 2 and 3 of 3: growth x2 and x4 (crashed before)
    out = layer([torch.randn(1, 32, 16, 16), torch.randn(1, 64, 8, 8)])
    assert [tuple(o.shape[1:]) for o in out] == [(32 + 12, 16, 16), (64 + 24, 8, 8)]
    assert layer.out_channels == [44, 88]


def test_msdnet_layers_grow_every_scale_densely():
    from cnnlab.layers.msd import MSDLayer
    layer = MSDLayer([8, 16, 32], growth=4)
    xs = [torch.randn(1, 8, 16, 16), torch.randn(1, 16, 8, 8), torch.randn(1, 32, 4, 4)]
    out = layer(xs)
    assert [tuple(o.shape[1:]) for o in out] == [(12, 16, 16), (24, 8, 8), (48, 4, 4)]
    assert all(torch.equal(o[:, :x.shape[1]], x) for o, x in zip(out, xs))  # input kept: dense concat
    assert layer.out_channels == [12, 24, 48]
    model = create("msdnet")
    scales = [m.conv.stride[0] for m in model.first]
    assert scales == [1, 2, 2] and len(model.blocks[0]) == 4 and len(model.blocks[1]) == 2
    with pytest.raises(ValueError, match="growth"):
        create("msdnet", growth=0)


def test_resnet_early_exit_last_exit_is_the_plain_resnet():
    torch.manual_seed(0)
    multi = create("resnet_early_exit").eval()
    single = cifar_resnet(20).eval()
    single.load_state_dict({k.replace("exits.2.", "head."): v for k, v in multi.state_dict().items()
                            if not k.startswith(("exits.0", "exits.1"))})
    x = torch.randn(2, 3, 32, 32)
    out = multi(x)
    assert len(out) == 3 and torch.allclose(out[-1], single(x))
    assert count(multi) - count(single) == (16 + 1) * 10 + (32 + 1) * 10  # two pool-linear exits


class _Zero(nn.Module):
    def forward(self, x):
        return torch.zeros(())


def test_ror_is_a_resnet_plus_stage_and_root_shortcuts():
    torch.manual_seed(0)
    ror = create("ror3_resnet20").eval()
    plain = cifar_resnet(20).eval()
    extra = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64) + (16 * 64 + 2 * 64)  # stage 2, stage 3, root projections
    assert count(ror) - count(plain) == extra
    assert isinstance(ror.stage_shortcuts[0], nn.Identity) and ror.root_shortcut[0].stride == (4, 4)
    assert plain.load_state_dict(ror.state_dict(), strict=False).missing_keys == []
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(ror(x), plain(x))
    ror.stage_shortcuts = nn.ModuleList(_Zero() for _ in range(3))
    ror.root_shortcut = _Zero()
    assert torch.allclose(ror(x), plain(x), atol=1e-6)  # without the added levels: the ResNet itself
    with pytest.raises(TypeError, match="takes no option 'dropblock'"):
        create("ror3_resnet20", dropblock=0.1)


def test_fractal_block_follows_the_expansion_rule():
    from cnnlab.layers.fractal import FractalBlock
    torch.manual_seed(0)
    block = FractalBlock(3, 8, columns=3).eval()
    assert [len(c) for c in block.columns] == [1, 2, 4]  # column j: 2^j convs
    assert [j.columns.tolist() for j in block.joins] == [[2], [1, 2], [2], [0, 1, 2]]  # merged joins
    assert count(block) == 3 * (3 * 8 * 9 + 2 * 8) + 4 * (8 * 8 * 9 + 2 * 8)
    x = torch.randn(2, 3, 8, 8)
    c0, c1, c2 = block.columns
    inner = (c1[0](x) + c2[1](c2[0](x))) / 2  # f_2(x) = join(conv(conv(x)), conv(x))
    expected = (c0[0](x) + c1[1](inner) + c2[3](c2[2](inner))) / 3  # f_3 = join(f_2(f_2(x)), conv(x)), joins merged
    assert torch.allclose(block(x, torch.tensor(-1)), expected, atol=1e-6)


def test_fractal_global_drop_path_keeps_one_column():
    from cnnlab.layers.fractal import FractalBlock
    torch.manual_seed(0)
    block = FractalBlock(3, 8, columns=3).train()
    x = torch.randn(4, 3, 8, 8)
    deepest = x
    for conv in block.columns[2]:
        deepest = conv(deepest)
    assert torch.allclose(block(x, torch.tensor(2)), deepest, atol=1e-6)
    assert torch.allclose(block(x, torch.tensor(0)), block.columns[0][0](x), atol=1e-6)


def test_fractal_local_drop_path_keeps_at_least_one_input_and_eval_averages():
    from cnnlab.layers.fractal import FractalJoin
    torch.manual_seed(0)
    join = FractalJoin([0, 1, 2], p_local=0.9)
    inputs = [torch.full((1, 1, 1, 1), float(v)) for v in (0, 3, 9)]
    seen = {join(inputs, torch.tensor(-1)).item() for _ in range(60)}
    assert seen <= {0, 3, 9, 1.5, 4.5, 6, 4} and len(seen) > 1  # means of surviving subsets, never empty
    assert join(inputs, torch.tensor(1)).item() == 3  # global: only column 1
    join.eval()
    assert join(inputs, torch.tensor(1)).item() == 4 == join(inputs, torch.tensor(-1)).item()  # the mean


def test_fractalnet_sampler_and_eval_determinism():
    model = create("fractalnet20_w16", global_ratio=1.0)
    x = torch.randn(2, 3, 32, 32)
    assert 0 <= model.sampler(x).item() < 3
    model.eval()
    assert model.sampler(x).item() == -1 and torch.equal(model(x), model(x))
    with pytest.raises(ValueError, match="global_ratio"):
        create("fractalnet20_w16", global_ratio=2.0)
    with pytest.raises(ValueError, match="1 to 5 blocks"):
        FractalNet(3, (8,) * 6)


def test_msdnet_last_layers_keep_only_the_scales_read_later():
    model = create("msdnet", exits=2, base=2, step=1, growth=4, channels=8)
    layers = [layer for block in model.blocks for layer in block]
    assert [len(layer.out_channels) for layer in layers] == [3, 2, 1]
    assert layers[1].finest is None and layers[2].out_channels == [32 + 3 * 16]


@pytest.mark.parametrize("build, message", [
    (lambda: ShakeShakeNet(26, 33), "even"),
    (lambda: RoR(20, k=0), "widening factor"),
    (lambda: MSDNet(exits=0), "exits"),
    (lambda: FractalNet(widths=(8, 8), p_local=1.0), "p_local"),
    (lambda: FractalNet(0, widths=(8, 8)), "columns"),
    (lambda: create("resnet_early_exit", depth=21), "6n\\+2"),
])
def test_new_family_options_are_checked(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_swapout_option_replaces_the_addition_in_every_block():
    torch.manual_seed(0)
    model = cifar_resnet(20, swapout=(0.9, 0.6))
    assert count(model) == count(cifar_resnet(20))
    block = model.stages.stage2[0].eval()
    x = torch.randn(2, 16, 8, 8)
    expected = torch.relu(0.9 * block.shortcut(x) + 0.6 * basic_branch(block, x))  # eval: the expectation
    assert torch.allclose(block(x), expected, atol=1e-6)
    block.train()
    assert not torch.allclose(block(x), block(x))  # training: fresh per-unit masks
    model.eval()
    y = torch.randn(2, 3, 32, 32)
    assert torch.equal(model(y), model(y))
    with pytest.raises(ValueError, match="swapout"):
        BasicBlock(8, 8, swapout=(0.5, 0.5), drop_prob=0.1)
