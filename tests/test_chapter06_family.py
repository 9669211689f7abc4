"""Chapter 06 (the ResNet family): the ResNeXt block's three forms, one FractalNet column alone,
the fractal layout and the chapter's explorers."""
import pytest
import torch
from torch import nn

from cnnlab.layers.resnext import (FORMS, EarlyConcatenation, GroupedConvolution, SplitTransformMerge,
                                   bottleneck_width, convert, load_path_weights, path_weights, template_weights)
from cnnlab.models import create
from cnnlab.models.fractalnet import FractalNet
from cnnlab.widgets.family import MODES, fractal_explorer, fractal_paths, width_depth_explorer


def _randomize_norms(block: nn.Module) -> nn.Module:
    """Batch norms with non-trivial affine parameters and running statistics (eval uses them)."""
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_()
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    return block


def _conv_weights(block: nn.Module) -> int:
    return sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))


def test_grouped_form_equals_split_transform_merge_with_weights_copied_by_hand():
    torch.manual_seed(0)
    C, d, n = 4, 3, 16
    split = _randomize_norms(SplitTransformMerge(n, C, d)).eval()
    grouped = GroupedConvolution(n, C, d).eval()
    with torch.no_grad():  # stack the paths by hand: path i owns channels i*d .. (i+1)*d of the inner maps
        grouped.reduce.weight.copy_(torch.cat([p[0].weight for p in split.paths]))
        grouped.conv.weight.copy_(torch.cat([p[3].weight for p in split.paths]))
        grouped.expand.weight.copy_(torch.cat([p[6].weight for p in split.paths], dim=1))
        for bn, k in ((grouped.bn1, 1), (grouped.bn2, 4)):
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, name).copy_(torch.cat([getattr(p[k], name) for p in split.paths]))
        grouped.bn_out.load_state_dict(split.bn_out.state_dict())
    x = torch.randn(2, n, 8, 8)
    assert torch.allclose(grouped(x), split(x), atol=1e-5)
    # the ReLUs make it non-trivial: a grouped conv that lets path 0 read path 1's channels differs
    with torch.no_grad():
        grouped.conv.weight[:d] = grouped.conv.weight[d:2 * d]
    assert not torch.allclose(grouped(x), split(x), atol=1e-3)


def test_early_concatenation_expand_is_the_sum_of_per_path_1x1_convs():
    torch.manual_seed(1)
    split = _randomize_norms(SplitTransformMerge(8, 2, 4)).eval()
    concat = EarlyConcatenation(8, 2, 4).eval()
    with torch.no_grad():
        for a, b in zip(split.paths, concat.paths):
            b.load_state_dict(nn.Sequential(*list(a)[:6]).state_dict())
        concat.expand.weight.copy_(torch.cat([p[6].weight for p in split.paths], dim=1))
        concat.bn_out.load_state_dict(split.bn_out.state_dict())
    x = torch.randn(3, 8, 6, 6)
    assert torch.allclose(concat(x), split(x), atol=1e-5)


@pytest.mark.parametrize("source", sorted(FORMS))
@pytest.mark.parametrize("target", sorted(FORMS))
@pytest.mark.parametrize("training", [False, True])
def test_convert_keeps_the_function_between_every_pair_of_forms(source, target, training):
    torch.manual_seed(2)
    block = _randomize_norms(FORMS[source](12, 3, 2)).train(training)
    other = convert(block, target)
    x = torch.randn(4, 12, 5, 5)
    assert type(other) is FORMS[target] and other.training == training
    assert torch.allclose(other(x), block(x), atol=1e-5)  # in training, batch statistics per channel agree too
    assert sum(p.numel() for p in other.parameters()) == sum(p.numel() for p in block.parameters())


def test_weights_follow_the_papers_count_and_table2_widths():
    # Sec. 4 of the paper: C * (256 d + 3*3*d*d + d*256) weights; ResNet bottleneck (C=1, d=64) 69,632
    assert _conv_weights(SplitTransformMerge(256, 32, 4)) == 32 * (256 * 4 + 9 * 16 + 4 * 256) == 70_144
    assert _conv_weights(GroupedConvolution(256, 1, 64)) == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69_632
    assert template_weights(256, 8, 14) == _conv_weights(GroupedConvolution(256, 8, 14))
    # Table 2: cardinality 1, 2, 4, 8, 32 with bottleneck widths 64, 40, 24, 14, 4 ("~70k" weights each)
    assert [bottleneck_width(c) for c in (1, 2, 4, 8, 32)] == [64, 40, 24, 14, 4]


def test_resnext_bad_input_is_named():
    with pytest.raises(ValueError, match="cardinality"):
        SplitTransformMerge(16, 0, 4)
    with pytest.raises(ValueError, match="form"):
        convert(GroupedConvolution(8, 2, 2), "d")
    weights = path_weights(GroupedConvolution(8, 2, 2))
    with pytest.raises(ValueError, match="reduce"):
        load_path_weights(GroupedConvolution(8, 4, 2), weights)
    with pytest.raises(TypeError, match="ResNeXt block"):
        path_weights(nn.Conv2d(3, 3, 1))


def test_fractalnet_column_alone_is_its_chain_of_convs():
    torch.manual_seed(0)
    model = FractalNet(3, (4, 8), num_classes=5).eval()
    x = torch.randn(2, 3, 32, 32)
    for j in range(3):
        expected = x
        for block in model.blocks.values():  # column j: 2^j conv-bn-relu per block, then the 2x2 pool
            for conv in block.columns[j]:
                expected = conv(expected)
            expected = nn.functional.max_pool2d(expected, 2)
        with model.only_column(j):
            assert torch.allclose(model(x), model.head(expected), atol=1e-6)
    assert model.column is None and not torch.allclose(model(x), model.head(expected), atol=1e-4)


def test_fractalnet_global_drop_path_trains_exactly_the_column_evaluated_alone():
    torch.manual_seed(0)
    model = FractalNet(3, (4, 8), num_classes=5, global_ratio=1.0).train()
    x = torch.randn(4, 3, 32, 32)
    model.sampler.forward = lambda _x: torch.tensor(2)  # global drop-path that drew the deepest column
    torch.manual_seed(1)
    global_out = model(x)
    with model.only_column(2):
        torch.manual_seed(1)
        assert torch.allclose(model(x), global_out, atol=1e-6)


def test_fractalnet_only_column_checks_its_argument_and_restores():
    model = create("fractalnet20_w16").eval()
    for bad in (-1, 3, 1.0, True):
        with pytest.raises(ValueError, match="column must be an integer from 0"):
            with model.only_column(bad):
                pass
    with pytest.raises(RuntimeError):
        with model.only_column(1):
            raise RuntimeError("interrupted")
    assert model.column is None


def test_fractal_layout_follows_the_expansion_rule_and_drop_path():
    # f_C has 2^C - 1 convs; column j (shallowest first) 2^j of them; all are live without drop-path
    for c in range(1, 6):
        layout = fractal_paths(c)
        assert len(layout.convs) == 2 ** c - 1 and layout.depth == 2 ** (c - 1)
        assert all(live for *_, live in layout.convs.values())
    assert {d: ending for d, (ending, _) in fractal_paths(3).joins.items()} == {2: [1, 2], 4: [0, 1, 2]}
    for seed in range(10):  # global: exactly one column, whole
        layout = fractal_paths(4, MODES[2], seed)
        live = {j for (j, _), (*_, alive) in layout.convs.items() if alive}
        assert len(live) == 1
        (j,) = live
        assert sum(alive for (k, _), (*_, alive) in layout.convs.items() if k == j) == 2 ** j
    for seed in range(30):  # local: every join keeps at least one input, and some path reaches the output
        layout = fractal_paths(4, MODES[1], seed, p_local=0.6)
        assert all(keep for _, keep in layout.joins.values())
        assert any(alive for (_, _), (_, last, alive) in layout.convs.items() if last == layout.depth)
    with pytest.raises(ValueError, match="mode"):
        fractal_paths(3, "dropout")


def test_family_explorers_redraw(assert_reacts):
    assert_reacts(fractal_explorer(), [("columns", 4), ("mode", MODES[2]), ("sample", 2)])
    from cnnlab.models.resnet import wide_resnet
    explorer = width_depth_explorer(wide_resnet, depths=(10, 16), widths=(1, 2), references={"ResNet-20": (20, 2.7e5)})
    assert_reacts(explorer, [("width", 2)])
    with pytest.raises(ValueError, match="depths"):
        width_depth_explorer(wide_resnet, depths=(), widths=(1,), references={})
