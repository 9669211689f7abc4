"""Chapter 01's experiment (``01/lenet5_losses``): each setup trains with its loss from its initialization, the
setups of one seed start alike where they should, and the weights the chapter draws are the ones it names."""
import math

import pytest
import torch
import torch.nn.functional as F

import cnnlab
from cnnlab.experiments.lenet5_losses import lenet5_losses
from smoke_runs import run_with_spy, smoke_profile

pytestmark = pytest.mark.slow  # eight one-epoch trainings of the smoke profile, about 6 s on one thread


@pytest.fixture(scope="module")
def smoke_run():
    """The smoke run, with each training's weights before training and its first step (loss, logits, labels)."""
    before, first_step = {}, {}

    def spy(fit, model, data, **options):
        name = options["name"]
        before[name] = {k: t.clone() for k, t in model.state_dict().items()}

        def record(info):
            first_step.setdefault(name, (info.loss, info.outputs.float(), info.labels))

        return fit(model, data, on_step=record, **options)

    run, values = run_with_spy(lenet5_losses, spy)
    return run, values, before, first_step


def test_each_setup_trains_with_its_loss(smoke_run):
    """The loss of the first step, recomputed from its logits: eq. 9 of lecun1998gradient with j = 1 for
    ``eq9``, cross-entropy for the others."""
    _, values, _, first_step = smoke_run
    for seed in values["seeds"]:
        for setup in values["setups"]:
            loss, logits, labels = first_step[f"{setup}_seed{seed}"]
            if setup == "eq9":
                y = -logits  # the squared distances to the codes
                expected = (y.gather(1, labels[:, None]).squeeze(1)
                            + torch.log(math.exp(-1.0) + torch.exp(-y).sum(dim=1))).mean()
            else:
                expected = F.cross_entropy(logits, labels)
            assert loss == pytest.approx(expected.item(), rel=1e-3), f"{setup}, seed {seed}"


def test_the_setups_of_a_seed_start_from_their_initializations(smoke_run):
    _, values, before, _ = smoke_run
    for seed in values["seeds"]:
        torch.manual_seed(seed)  # the oracle: a fresh LeNet-5 built right after seeding
        paper = cnnlab.models.create("lenet5").state_dict()
        for setup in ("eq9", "ce"):  # both losses start from the same weights
            start = before[f"{setup}_seed{seed}"]
            assert start.keys() == paper.keys()
            assert all(torch.equal(start[k], paper[k]) for k in paper), f"{setup}, seed {seed}"
        # the paper's bound on C5 (fan-in 16 x 5 x 5 = 400) is 2.4/400; PyTorch's default is 1/sqrt(400)
        c5 = {setup: before[f"{setup}_seed{seed}"]["c5.0.weight"].abs().max().item() for setup in ("ce", "pytorch_ce")}
        assert c5["ce"] <= 2.4 / 400 < c5["pytorch_ce"] <= 1 / math.sqrt(400)
        torch.manual_seed(seed)
        folk = cnnlab.models.create("lenet5_folk").state_dict()
        assert all(torch.equal(before[f"folk_seed{seed}"][k], folk[k]) for k in folk)


def test_the_kept_weights_are_the_starts_and_the_trained_models(smoke_run):
    run, values, before, _ = smoke_run
    assert set(run.weights) == {"eq9_seed0_start", "pytorch_ce_seed0_start", "eq9_seed0", "ce_seed0",
                                "pytorch_ce_seed0", "folk_seed0"}
    for setup in ("eq9", "pytorch_ce"):
        start, trained = run.weights[f"{setup}_seed0_start"], run.weights[f"{setup}_seed0"]
        assert all(torch.equal(start[k], before[f"{setup}_seed0"][k]) for k in start), setup
        assert not torch.equal(trained["c1.0.weight"], start["c1.0.weight"]), f"{setup}: C1 did not train"
    with smoke_profile():
        images = cnnlab.data.load("cifar10").train.images  # the experiment's training images
    mean = (images.double() / 255).mean(dim=(0, 2, 3))  # by hand, for the normalization the chapter reuses
    assert values["normalization"]["mean"] == pytest.approx(mean.tolist(), abs=1e-4)
