"""Chapter 06's stored experiments: batch-norm re-estimation for FractalNet's sub-networks, and the family's
small ResNeXt (cnnlab/experiments/fractal_columns.py, resnet_family.py)."""
import copy

import pytest
import torch
from torch import nn

from cnnlab.analysis import count_flops
from cnnlab.experiments.fractal_columns import reestimated
from cnnlab.experiments.resnet_family import NETWORKS, small_resnext
from cnnlab.models import create


def test_reestimated_holds_the_plain_average_of_batch_statistics_with_dropout_off():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Dropout(0.5), nn.BatchNorm2d(4))
    batches = [(torch.randn(8, 3, 6, 6) + k, torch.zeros(8)) for k in range(3)]  # batches of different means
    before = copy.deepcopy(model.state_dict())
    calibrated = reestimated(model, batches, batches=2)
    with torch.no_grad():  # the oracle: what the batch norm sees with dropout off is the conv's output itself
        seen = [model[0](x) for x, _ in batches[:2]]
    mean = torch.stack([f.mean((0, 2, 3)) for f in seen]).mean(0)  # the plain mean of the first 2 batches' statistics
    var = torch.stack([f.var((0, 2, 3), unbiased=True) for f in seen]).mean(0)
    assert torch.allclose(calibrated[2].running_mean, mean, atol=1e-5)
    assert torch.allclose(calibrated[2].running_var, var, atol=1e-5)
    assert not any(m.training for m in calibrated.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the model itself is untouched


def test_the_family_is_built_at_resnet20s_multiply_adds():
    resnext = small_resnext()
    grouped = [m for m in resnext.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [(m.in_channels, m.groups) for m in grouped] == [(32, 8)] * 2 + [(64, 8)] * 2 + [(128, 8)] * 2  # d = 4, 8, 16
    reference = count_flops(create("resnet20"))["macs"]
    for name, build in NETWORKS.items():
        assert abs(count_flops(build())["macs"] / reference - 1) < 0.1, name  # WRN-10-2 is the farthest, +9.7%
    drops = [m.drop_path.p for m in NETWORKS["ResNet-20 + stochastic depth"]().modules() if hasattr(m, "drop_path")]
    assert drops == pytest.approx([0.5 * l / 9 for l in range(1, 10)])  # [huang2016deep]: 1 - p_L = 0.5, linear in l
