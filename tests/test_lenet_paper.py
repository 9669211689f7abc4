"""LeNet-5's training as published [lecun1998gradient]: the paper's initialization (Appendix A) and its loss
for the RBF output units (eq. 9), and what plain cross-entropy does with those units.

Every expected value comes from the paper's formulas computed by hand here, never from the code under test.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from cnnlab.layers.lenet import rbf_loss
from cnnlab.models import create


def test_lenet5_weights_are_uniform_in_2_4_over_fan_in():
    torch.manual_seed(0)
    net = create("lenet5", in_channels=3)
    # fan-ins from the paper's layer definitions: C1 5x5 over 3 maps, C3 5x5 over 3/4/6 maps, C5 5x5 over 16, F6 120
    expected = {net.c1[0]: 75, net.c5[0]: 400, net.f6[0]: 120}
    expected.update({conv: 25 * len(row) for conv, row in zip(net.c3[0].maps, net.c3[0].table)})
    for layer, fan_in in expected.items():
        for p in (layer.weight, layer.bias):
            assert p.abs().max() <= 2.4 / fan_in
        assert layer.weight.abs().max() > 0.8 * 2.4 / fan_in  # the whole range is used, not a smaller init
    for sub in (net.s2[0], net.s4[0]):  # 4 inputs per subsampling unit: bound 2.4 / 4 = 0.6
        for p in (sub.coefficient, sub.bias):
            assert p.abs().max() <= 0.6 and p.abs().max() > 0.1


def test_lenet5_weights_are_spread_evenly_over_the_range():
    # A uniform distribution on [-b, b] has mean 0 and standard deviation b / sqrt(3).
    torch.manual_seed(0)
    weights = create("lenet5").c5[0].weight.flatten()  # 48,000 weights, bound 2.4 / 400
    bound = 2.4 / 400
    assert weights.mean().abs() < 0.01 * bound
    assert weights.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_lenet5_pytorch_init_is_kept_on_request_and_bad_init_is_refused():
    torch.manual_seed(0)
    net = create("lenet5", init="pytorch")
    assert net.c1[0].weight.abs().max() > 2.4 / 75  # PyTorch's bound 1/sqrt(75) = 0.115 > 0.032
    with pytest.raises(ValueError, match="init"):
        create("lenet5", init="xavier")


def test_rbf_loss_is_equation_9_of_the_paper():
    distances = torch.tensor([[1.0, 5.0, 0.5], [84.0, 80.0, 90.0]])
    targets = torch.tensor([0, 1])
    j = 1.0
    by_hand = [1.0 + math.log(math.exp(-j) + math.exp(-1.0) + math.exp(-5.0) + math.exp(-0.5)),
               80.0 + math.log(math.exp(-j) + math.exp(-84.0) + math.exp(-80.0) + math.exp(-90.0))]
    assert rbf_loss(-distances, targets, j=j).item() == pytest.approx(sum(by_hand) / 2, rel=1e-6)
    # far from every code the competitive term is the constant -j: the loss is y_D - j (eq. 8 shifted)
    assert rbf_loss(-distances[1:], targets[1:], j=j).item() == pytest.approx(80.0 - j, rel=1e-6)


def test_rbf_loss_far_from_every_code_pulls_f6_straight_to_the_correct_code():
    # Far from all codes, eq. 9 is y_D - j with y_D = ||x - w_D||^2, whose gradient is 2 (x - w_D) (eq. 8).
    rbf = create("lenet5").output
    x = torch.full((1, 84), 20.0, requires_grad=True)  # every code is ~ 84 * 19^2 away
    rbf_loss(rbf(x), torch.tensor([3])).backward()
    assert torch.allclose(x.grad, 2 * (x.detach() - rbf.codes[3]), rtol=1e-5)


def test_rbf_loss_on_the_correct_code_is_the_rejection_term_alone():
    # x on code D: y_D = 0 and every other y_i >= 4 x (the places where the codes differ) >= 4, so
    # E = 0 + log(e^-j + 1 + sum_i e^-y_i); with j = 1 and the other distances known, by hand:
    rbf = create("lenet5").output
    x = rbf.codes[2:3].clone()
    others = [4.0 * (rbf.codes[i] != rbf.codes[2]).sum().item() for i in range(10) if i != 2]
    by_hand = math.log(math.exp(-1.0) + 1.0 + sum(math.exp(-y) for y in others))
    assert rbf_loss(rbf(x), torch.tensor([2]), j=1.0).item() == pytest.approx(by_hand, rel=1e-6)


def test_cross_entropy_on_the_rbf_units_is_a_fixed_linear_layer_with_weights_twice_the_codes():
    # All codes have length sqrt(84): -||x - w_i||^2 = 2 w_i.x - ||x||^2 - 84, and softmax drops the terms
    # common to every class, so cross-entropy sees the logits 2 w_i.x.
    rbf = create("lenet5").output
    x = torch.randn(16, 84, generator=torch.Generator().manual_seed(0))
    targets = torch.arange(16) % 10
    linear = F.linear(x, 2 * rbf.codes)
    assert F.cross_entropy(rbf(x), targets).item() == pytest.approx(F.cross_entropy(linear, targets).item(), rel=1e-5)
    assert not torch.allclose(rbf(x), linear)  # the logits themselves differ; only softmax cannot tell


def test_rbf_loss_refuses_bad_arguments():
    with pytest.raises(ValueError, match="j must be"):
        rbf_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), j=0.0)
    with pytest.raises(ValueError, match="logits"):
        rbf_loss(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="targets"):
        rbf_loss(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))
