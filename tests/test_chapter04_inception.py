"""Chapter 04 (GoogLeNet / Inception): the module calculator, the naive module and GoogLeNet without BN.

Expected values are Table 1 of [szegedy2015going] (its "ops" column) or counted by hand from the layer
sizes (weights k*k*in*out plus one bias per output channel; multiply-adds = weights * H * W).
"""
import pytest
import torch
from torch import nn

from cnnlab.layers import InceptionModule, InceptionNaive
from cnnlab.models import create
from cnnlab.models.googlenet import GOOGLENET_MODULES
from cnnlab.widgets import inception_branch_costs, inception_explorer

# Table 1's "ops" column (millions of multiply-adds), with each stage's map side (28, 14, 7 pixels).
TABLE1_OPS = {"3a": 128, "3b": 304, "4a": 73, "4b": 88, "4c": 100, "4d": 119, "4e": 170, "5b": 71}
SIDE = {"3": 28, "4": 14, "5": 7}


def test_branch_costs_of_3a_counted_by_hand():
    rows = {r["branch"]: r for r in inception_branch_costs(192, 64, 96, 128, 16, 32, 32, size=28)}
    assert rows["1x1"]["params"] == 192 * 64 + 64
    assert rows["3x3"]["params"] == (192 * 96 + 96) + (9 * 96 * 128 + 128)
    assert rows["5x5"]["params"] == (192 * 16 + 16) + (25 * 16 * 32 + 32)
    assert rows["pool"]["params"] == 192 * 32 + 32
    assert rows["3x3"]["naive_params"] == 9 * 192 * 128 + 128
    assert rows["5x5"]["naive_params"] == 25 * 192 * 32 + 32
    assert rows["pool"]["naive_params"] == 0 and rows["pool"]["naive_out"] == 192
    assert rows["5x5"]["macs"] == 28 * 28 * (192 * 16 + 25 * 16 * 32)
    assert rows["5x5"]["naive_macs"] == 28 * 28 * 25 * 192 * 32
    assert [rows[b]["rf"] for b in ("1x1", "3x3", "5x5", "pool")] == [1, 3, 5, 3]


@pytest.mark.parametrize("name", sorted(TABLE1_OPS))
def test_module_multiply_adds_match_table_1(name):
    in_channels, *widths = GOOGLENET_MODULES[name]
    rows = inception_branch_costs(in_channels, *widths, size=SIDE[name[0]])
    assert abs(sum(r["macs"] for r in rows) / 1e6 - TABLE1_OPS[name]) < 1  # the table rounds to millions


def test_module_5a_follows_its_widths_where_table_1_does_not():
    """Table 1 prints 54M ops for 5a; its own widths on a 7x7 map give 51M (counted by hand here)."""
    c_in, c1, r3, c3, r5, c5, pp = GOOGLENET_MODULES["5a"]
    by_hand = 49 * (c_in * c1 + c_in * r3 + 9 * r3 * c3 + c_in * r5 + 25 * r5 * c5 + c_in * pp)
    assert sum(r["macs"] for r in inception_branch_costs(*GOOGLENET_MODULES["5a"], size=7)) == by_hand
    assert round(by_hand / 1e6) == 51


def test_naive_module_passes_every_input_channel_through_the_pool():
    naive = InceptionNaive(32, 8, 16, 4, norm=False)
    out = naive(torch.randn(2, 32, 9, 9))
    assert out.shape == (2, 8 + 16 + 4 + 32, 9, 9) and naive.out_channels == 60
    reduced = InceptionModule(32, 8, 4, 16, 2, 4, 8, norm=False)
    assert sum(p.numel() for p in reduced.parameters()) < sum(p.numel() for p in naive.parameters())


def test_bad_widths_and_sizes_are_refused():
    with pytest.raises(ValueError, match="positive integers"):
        inception_branch_costs(192, 64, 0, 128, 16, 32, 32)
    with pytest.raises(ValueError, match="size"):
        inception_branch_costs(192, 64, 96, 128, 16, 32, 32, size=3)
    with pytest.raises(ValueError, match="six numbers"):
        inception_explorer(widths=(64, 96))
    with pytest.raises(ValueError, match="max_width"):
        inception_explorer(max_width=100)
    with pytest.raises(ValueError, match="InceptionNaive"):
        InceptionNaive(3, 0, 4, 4)


def test_explorer_redraws_and_has_a_hint(assert_reacts):
    explorer = inception_explorer(in_channels=64, size=8, widths=(16, 24, 32, 4, 8, 8), max_width=64)
    assert "#3x3 red." in explorer.hint
    assert_reacts(explorer, [("c3_reduce", 8), ("c5", 32), ("pool_proj", 1)])


def _convs_and_norms(model):
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs, [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


def test_googlenet_without_batch_norm():
    with_bn = create("googlenet", width=0.125)
    without = create("googlenet", width=0.125, batch_norm=False)
    convs, norms = _convs_and_norms(with_bn)
    assert len(norms) == len(convs) and all(c.bias is None for c in convs)
    convs, norms = _convs_and_norms(without)
    assert norms == [] and all(c.bias is not None for c in convs)
    # Each BN has 2 parameters per channel, each conv bias 1: the difference is one per conv output channel.
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(with_bn) - n(without) == sum(c.out_channels for c in convs)
    assert without(torch.randn(2, 3, 32, 32))[0].shape == (2, 10)


def test_batch_norm_option_is_checked():
    with pytest.raises(ValueError, match="batch_norm"):
        create("googlenet", batch_norm="no")
    from cnnlab.models.googlenet import GoogLeNet
    with pytest.raises(ValueError, match="CIFAR form only"):
        GoogLeNet(1000, stem="paper", batch_norm=True)


def test_width_scales_the_aux_heads_too():
    """At width 0.25 the aux head's 1x1 conv has 128/4 = 32 channels and its hidden layer 512/4 = 128 units."""
    aux = create("googlenet", width=0.25).aux1
    assert aux.conv.conv.out_channels == 32 and aux.fc1.in_features == 32 * 2 * 2 and aux.fc1.out_features == 128
    full = create("googlenet").aux1
    assert full.conv.conv.out_channels == 128 and full.fc1.out_features == 512
