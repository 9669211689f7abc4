"""Chapter 03's experiment (``03/vgg_nin``): the paired NiN runs differ only in dropout, and the fit gap is
measured on training images in eval mode."""
import pytest
import torch
from torch import nn

import cnnlab
from cnnlab.experiments.vgg_nin import vgg_nin
from smoke_runs import run_with_spy, smoke_profile

pytestmark = pytest.mark.slow  # three one-epoch trainings of the smoke profile, about 5 s on one thread


@pytest.fixture(scope="module")
def smoke_run():
    """The smoke run of the experiment, with each trained model's weights and dropout rates before training."""
    before = {}

    def spy(fit, model, data, **options):
        before[options["name"]] = ({k: t.clone() for k, t in model.state_dict().items()},
                                   [m.p for m in model.modules() if isinstance(m, nn.Dropout)])
        return fit(model, data, **options)

    run, values = run_with_spy(vgg_nin, spy)
    return run, values, before


def test_the_two_nins_of_a_seed_start_alike_and_differ_only_in_dropout(smoke_run):
    _, values, before = smoke_run
    (seed,) = values["seeds"]
    with_dropout, rates_with = before[f"nin_drop_seed{seed}"]
    without, rates_without = before[f"nin_nodrop_seed{seed}"]
    assert rates_with == [0.5, 0.5] and rates_without == []  # the paper's two dropout layers, and none
    torch.manual_seed(seed)  # the oracle: the weights torch.manual_seed(seed) gives a fresh NiN of that width
    fresh = cnnlab.models.create("nin", width=values["width"], batch_norm=True).state_dict()
    assert with_dropout.keys() == without.keys() == fresh.keys()
    for key, tensor in fresh.items():
        assert torch.equal(with_dropout[key], tensor) and torch.equal(without[key], tensor), key


def test_training_accuracy_is_measured_in_eval_mode_on_training_images(smoke_run):
    run, values, _ = smoke_run
    with smoke_profile():
        data = cnnlab.data.load("cifar10", train_size=values["train_images"])  # the experiment's images
    n = values["val_images"]
    images, labels = data.train.images[:n], data.train.labels[:n]
    mean = torch.tensor(data.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.std).view(1, 3, 1, 1)
    x = (images.float() / 255 - mean) / std  # normalized by hand, no augmentation
    for key in ("vgg_seed0", "nin_drop_seed0", "nin_nodrop_seed0"):
        name, options = {"vgg": ("vgg11_bn", {}), "nin_drop": ("nin", {"batch_norm": True, "dropout": 0.5}),
                         "nin_nodrop": ("nin", {"batch_norm": True, "dropout": 0.0})}[key.rsplit("_", 1)[0]]
        model = cnnlab.models.create(name, width=values["width"], **options)
        model.load_state_dict(run.weights[key])
        with torch.no_grad():
            accuracy = (model.eval()(x).argmax(1) == labels).float().mean().item()
        assert values["train_acc_eval"][key] == pytest.approx(accuracy, abs=0.5 / n), key
