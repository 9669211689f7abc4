"""Chapter 05 (ResNet): gradient norms per block, block deletion at test time [veit2016residual], its
explorer, and the residual/bottleneck costs of [he2016deep]. Every expected value is computed here by hand
or by a second forward pass written out in the test, never read from the module under test."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import cnnlab
from cnnlab.analysis import (accuracy_without, block_deletion, count_flops, count_parameters, deleted_blocks,
                             gradient_propagation, residual_blocks, signal_propagation)
from cnnlab.layers import BasicBlock, Bottleneck
from cnnlab.viz import plot_gradient_propagation


# --- gradient_propagation -----------------------------------------------------------------------------

def _scalar_chain(a: float, b: float, c: float) -> nn.Sequential:
    """out = c * b * a * x: three 1x1 linear maps named block1..block3."""
    chain = nn.Sequential()
    for name, w in (("block1", a), ("block2", b), ("block3", c)):
        layer = nn.Linear(1, 1, bias=False)
        layer.weight.data.fill_(w)
        chain.add_module(name, layer)
    return chain


def test_gradient_propagation_matches_the_chain_rule_by_hand():
    a, b, c = 2.0, -3.0, 0.5
    x = torch.tensor([[1.0], [2.0], [3.0]])  # sum 6
    result = gradient_propagation(_scalar_chain(a, b, c), x, torch.zeros(3), ["block1", "block2", "block3"],
                                  loss_fn=lambda out, _y: out.sum())
    assert result["layer"] == ["block1", "block2", "block3"]
    # d loss / d output of block k = product of the weights after it, the same for every element
    assert result["grad_rms"] == pytest.approx([abs(c * b), abs(c), 1.0])
    # d loss / d a = c*b*sum(x), d loss / d b = c*a*sum(x), d loss / d c = b*a*sum(x)
    assert result["param_grad_norm"] == pytest.approx([abs(c * b * 6), abs(c * a * 6), abs(b * a * 6)])


def test_gradient_propagation_agrees_with_retain_grad_on_a_resnet_and_leaves_grads_and_mode_alone():
    torch.manual_seed(0)
    model = cnnlab.models.create("resnet20").train()
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    result = gradient_propagation(model, x, y)
    assert len(result["layer"]) == 9 and result["layer"][0] == "stages.stage1.0"
    assert model.training and all(p.grad is None for p in model.parameters())
    untouched = cnnlab.models.create("resnet20")  # batch norm running statistics are put back
    before = {n: b.clone() for n, b in untouched.named_buffers()}
    gradient_propagation(untouched.train(), x, y)
    assert all(torch.equal(before[n], b) for n, b in untouched.named_buffers())
    # second implementation: run the stages by hand, keep each block's output, backward()
    torch.manual_seed(0)
    twin = cnnlab.models.create("resnet20").train()
    twin.load_state_dict(model.state_dict())
    outs, h = [], twin.stem(x)
    for stage in twin.stages:
        for block in stage:
            h = block(h)
            h.retain_grad()
            outs.append(h)
    F.cross_entropy(twin.head(h), y).backward()
    expected = [o.grad.pow(2).mean().sqrt().item() for o in outs]
    assert result["grad_rms"] == pytest.approx(expected, rel=1e-4)
    block = twin.stages.stage2[0]
    weights = torch.cat([p.grad.flatten() for p in block.parameters()])
    assert result["param_grad_norm"][3] == pytest.approx(weights.norm().item(), rel=1e-4)


def test_gradient_propagation_refuses_unknown_layers_and_plots():
    model = _scalar_chain(1.0, 1.0, 1.0)
    with pytest.raises(KeyError, match="nope"):
        gradient_propagation(model, torch.ones(2, 1), torch.zeros(2), ["nope"])
    result = gradient_propagation(model, torch.ones(2, 1), torch.zeros(2), ["block1", "block3"],
                                  loss_fn=lambda out, _y: out.sum())
    fig = plot_gradient_propagation({"chain": result})
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 1
    with pytest.raises(ValueError, match="at least one"):
        plot_gradient_propagation({})


def test_signal_propagation_keeps_its_api():  # chapter 16 uses it
    model = cnnlab.models.create("resnet20").eval()
    stats = signal_propagation(model, torch.randn(4, 3, 32, 32))
    assert set(stats) == {"layer", "mean_sq", "var"} and len(stats["layer"]) == 9


# --- block deletion -----------------------------------------------------------------------------------

def _net(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = cnnlab.models.create(name).eval()
    for m in model.modules():  # non-trivial batch-norm statistics, so that a wrong path shows
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return model


def _option_a(x: torch.Tensor, out_channels: int) -> torch.Tensor:
    """Option A of [he2016deep] written out: subsample by 2, zero channels appended."""
    x = x[:, :, ::2, ::2]
    return torch.cat([x, x.new_zeros(x.shape[0], out_channels - x.shape[1], *x.shape[2:])], 1)


def _forward_skipping(model, skip: str, replace) -> torch.Tensor:
    def run(x):
        h = model.stem(x)
        for stage_name, stage in model.stages.named_children():
            for i, block in enumerate(stage):
                h = replace(h) if f"stages.{stage_name}.{i}" == skip else block(h)
        return model.head(h)
    return run


@pytest.mark.parametrize("name", ["resnet20", "plain20"])
def test_deleting_a_block_is_the_network_without_its_branch(name):
    model = _net(name)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        intact = model(x)
        with deleted_blocks(model, ["stages.stage1.1"]):
            without_same_shape = model(x)
        with deleted_blocks(model, ["stages.stage2.0"]):
            without_downsampling = model(x)
        assert torch.allclose(without_same_shape, _forward_skipping(model, "stages.stage1.1", lambda h: h)(x),
                              atol=1e-5)
        assert torch.allclose(without_downsampling,
                              _forward_skipping(model, "stages.stage2.0", lambda h: _option_a(h, 32))(x), atol=1e-5)
        assert not torch.allclose(without_same_shape, intact, atol=1e-3)
        assert torch.equal(model(x), intact)  # put back on exit


def test_deleted_blocks_restores_after_an_error_and_refuses_bad_names():
    model = _net("resnet20")
    originals = [model.get_submodule(n) for n in residual_blocks(model)]
    with pytest.raises(RuntimeError, match="inside"):
        with deleted_blocks(model, ["stages.stage3.2", "stages.stage1.0"]):
            raise RuntimeError("inside")
    assert [model.get_submodule(n) for n in residual_blocks(model)] == originals
    with pytest.raises(KeyError, match="stages.stage1.0"):
        with deleted_blocks(model, ["stem"]):
            pass
    with pytest.raises(ValueError, match="once"):
        with deleted_blocks(model, ["stages.stage1.0", "stages.stage1.0"]):
            pass


def test_residual_blocks_of_the_cifar_resnets_follow_the_paper():
    # 6n+2 layers: 3 stages of n = (depth - 2) / 6 blocks [he2016deep] section 4.2
    assert len(residual_blocks(cnnlab.models.create("resnet56"))) == 27
    assert residual_blocks(cnnlab.models.create("plain20")) == [f"stages.stage{s}.{b}" for s in (1, 2, 3)
                                                                 for b in range(3)]


def test_block_deletion_on_a_case_with_known_answers():
    model = _net("resnet20")
    x = torch.randn(64, 3, 32, 32)
    with torch.no_grad():
        labels = model(x).argmax(1)  # the intact network is right on every image by construction
        silent = model.stages.stage3[1]
        silent.bn2.weight.zero_()  # this block's branch now outputs bn2's bias only ...
        silent.bn2.bias.zero_()  # ... which is zero: deleting the block changes nothing
        labels = model(x).argmax(1)
    batches = [(x[:32], labels[:32]), (x[32:], labels[32:])]
    model.train()
    rows = block_deletion(model, batches)
    assert model.training  # mode restored
    assert [r["block"] for r in rows] == [None] + residual_blocks(model)
    assert rows[0]["accuracy"] == 1.0
    by_block = {r["block"]: r for r in rows}
    assert by_block["stages.stage3.1"]["accuracy"] == 1.0
    assert [r["block"] for r in rows if r["downsampling"]] == ["stages.stage2.0", "stages.stage3.0"]
    # an independent count for one deletion: the skipping forward pass written out above
    with torch.no_grad():
        skipped = _forward_skipping(model.eval(), "stages.stage1.2", lambda h: h)(x).argmax(1)
    assert by_block["stages.stage1.2"]["accuracy"] == pytest.approx((skipped == labels).float().mean().item())
    assert accuracy_without(model, batches, ["stages.stage3.1"]) == 1.0
    with pytest.raises(ValueError, match="no images"):
        accuracy_without(model, [])


# --- the block-deletion explorer ----------------------------------------------------------------------

def test_lesion_explorer_redraws_and_refuses_networks_of_other_layouts(assert_reacts):
    from cnnlab.widgets import lesion_explorer

    x = torch.randn(16, 3, 32, 32)
    batches = [(x, torch.randint(0, 10, (16,)))]
    explorer = lesion_explorer({"ResNet-20": _net("resnet20"), "plain-20": _net("plain20")}, batches,
                               deleted=("stages.stage1.1",))
    assert explorer.controls["delete"].value == ("stages.stage1.1",)
    assert_reacts(explorer, [("delete", ("stages.stage1.1", "stages.stage2.2")), ("delete", ())])
    bundle = explorer._repr_mimebundle_()
    assert "image/png" in bundle and "Block deletion" in bundle["text/plain"]
    with pytest.raises(ValueError, match="other residual blocks"):
        lesion_explorer({"ResNet-20": _net("resnet20"), "ResNet-56": _net("resnet56")}, batches)


# --- residual vs bottleneck block [he2016deep] ----------------------------------------------------------

def _conv_weights(block: nn.Module) -> int:
    return sum(m.weight.numel() for n, m in block.named_modules() if isinstance(m, nn.Conv2d)
               and not n.startswith("shortcut"))


def test_basic_and_bottleneck_block_costs_follow_the_papers_formulas():
    # [he2016deep] Fig. 5: two 3x3 convs on 64 channels vs 1x1 256->64, 3x3 64->64, 1x1 64->256
    basic, bottleneck = BasicBlock(64, 64), Bottleneck(256, 256)
    assert _conv_weights(basic) == 2 * 9 * 64 * 64 == 73_728
    assert _conv_weights(bottleneck) == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69_632
    # batch norms: 2 parameters per channel, after each conv
    assert count_parameters(basic) == 73_728 + 2 * (64 + 64)
    assert count_parameters(bottleneck) == 69_632 + 2 * (64 + 64 + 256)
    # multiply-adds on a 56x56 map: weights x positions (stride 1, same padding), plus nothing else counted
    assert count_flops(basic, (1, 64, 56, 56))["macs"] == 73_728 * 56 * 56
    assert count_flops(bottleneck, (1, 256, 56, 56))["macs"] == 69_632 * 56 * 56


# --- the stored experiment 05/degradation: He et al.'s Figure 6 -----------------------------------------

def test_degradation_trains_with_the_papers_recipe():
    from types import SimpleNamespace

    from cnnlab.experiments.degradation import recipe
    from cnnlab.train import fit
    from test_train import QUIET, tiny_cnn, tiny_data

    for profile in ("full", "long", "quick", "smoke"):
        options = recipe(SimpleNamespace(scaled=lambda **tiers: tiers[profile]))
        # [he2016deep] §4.2: SGD, momentum 0.9 (not Nesterov), weight decay 1e-4, batch 128, learning rate 0.1
        assert {k: v for k, v in options.items() if k not in ("epochs", "schedule")} == dict(
            batch_size=128, lr=0.1, momentum=0.9, nesterov=False, weight_decay=1e-4)
    assert recipe(SimpleNamespace(scaled=lambda **tiers: tiers["full"]))["epochs"] == 182  # 64k iterations of 352
    # "divide it by 10 at 32k and 48k iterations, and terminate training at 64k": at 1/2 and 3/4 of the run
    options = recipe(SimpleNamespace(scaled=lambda **tiers: tiers["long"]))
    data, loaders = tiny_data()  # 64 images in batches of 16: 4 steps per epoch
    rates = []
    fit(tiny_cnn(), data, **{**options, "batch_size": 16}, on_step=lambda info: rates.append(info.lr), **loaders,
        **QUIET)
    total = 4 * options["epochs"]
    assert rates == pytest.approx([0.1] * (total // 2) + [0.01] * (total // 4) + [0.001] * (total // 4))


def test_windowed_means_by_hand():
    from cnnlab.experiments.degradation import windowed

    assert windowed([1.0, 2.0, 3.0, 4.0, 5.0], 2) == [1.5, 3.5, 5.0]
    assert windowed([0.25, 0.75], 1) == [0.25, 0.75]


@pytest.fixture
def small_degradation(monkeypatch):
    """05/degradation on 256 stand-in images with 8-layer twins (the 20- and 56-layer nets take minutes)."""
    from cnnlab.experiments import degradation
    from cnnlab.models.resnet import cifar_resnet

    load = degradation.cifar.load
    monkeypatch.setattr(degradation.cifar, "load", lambda name, **sizes: load(
        name, source="standin", train_size=256, val_size=64, test_size=64))
    monkeypatch.setattr(degradation.models, "create", lambda name, num_classes: cifar_resnet(
        8, num_classes, residual=name.startswith("resnet")))
    return cnnlab.experiments.get("05/degradation")


def test_degradation_keeps_the_four_nets_and_their_step_curves_and_a_resumed_run_keeps_no_partial_curve(
        small_degradation, tmp_path):
    result = small_degradation.run("smoke", workdir=tmp_path)
    keys = ["plain20", "plain56", "resnet20", "resnet56"]  # chapter 07 loads the weights by these names
    assert sorted(result.weights) == keys and sorted(result.histories) == keys
    for key in keys:
        history, curve = result.histories[key], result.values["step_error"][key]
        # one value per step (window 1 in smoke); 256 images in batches of 128: their mean is the epoch's error
        assert len(curve) == 2 and sum(curve) / 2 == pytest.approx(1 - history.rows[-1]["train_acc"])
        rows = result.values["lesion"][key]
        assert [r["block"] for r in rows] == [None, "stages.stage1.0", "stages.stage2.0", "stages.stage3.0"]
        assert [r["downsampling"] for r in rows] == [False, False, True, True]
    # run again in the same folder: every training is read back from its checkpoint, so no step was seen
    again = small_degradation.run("smoke", workdir=tmp_path)
    assert again.values["step_error"] == dict.fromkeys(keys)
    assert again.values["lesion"] == result.values["lesion"]
    assert all(again.histories[k].rows == result.histories[k].rows for k in keys)
