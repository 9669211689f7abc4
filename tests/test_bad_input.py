"""Bad input gets a clear error naming the argument (issue 11, items 8-10, 12-14): fit, evaluate, models,
analysis and widgets; grey-scale models can be analysed."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.train import evaluate, fit
from test_train import QUIET, TinyLoader, tiny_cnn, tiny_data


def uint8_data(n_train=40, n_test=20, classes=4, labels_up_to=None, val=None):
    """A hand-made cnnlab Data: uint8 images, as cnnlab.data.load returns them."""
    g = torch.Generator().manual_seed(0)

    def split(n, top):
        return SimpleNamespace(images=torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=g),
                               labels=torch.randint(0, top, (n,), generator=g))

    top = labels_up_to or classes
    data = SimpleNamespace(train=split(n_train, top), test=split(n_test, top), num_classes=top, name="hand-made",
                           source="hand-made uint8 tensors", mean=(0.5,) * 3, std=(0.25,) * 3)
    if val:
        data.val = split(val, top)
    return data


# --- 8. batch size larger than the training split -------------------------------------------

def test_a_batch_larger_than_the_training_split_is_named():
    with pytest.raises(ValueError, match=r"batch_size=128 is larger than the training split \(40 images\)"):
        fit(tiny_cnn(), uint8_data(), 1, batch_size=128, **QUIET)


def test_a_loader_without_batches_is_refused():
    data, loaders = tiny_data()
    empty = TinyLoader(data.train.images[:0], data.train.labels[:0])
    with pytest.raises(ValueError, match="train_loader yields no batches"):
        fit(tiny_cnn(), data, 1, train_loader=empty, test_loader=loaders["test_loader"], **QUIET)


# --- 9. labels outside the model's classes --------------------------------------------------

def test_fit_refuses_more_classes_than_the_model_outputs():
    data = uint8_data(labels_up_to=60)
    with pytest.raises(ValueError, match="60 classes .*outputs 4 logits.*num_classes=60"):
        fit(tiny_cnn(classes=4), data, 1, batch_size=8, **QUIET)


def test_evaluate_refuses_labels_beyond_the_outputs():
    images, labels = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 59, 2, 3, 0])
    with pytest.raises(ValueError, match="labels go up to 59 but Sequential outputs 4 classes"):
        evaluate(tiny_cnn(), [(images, labels)], "cpu")


# --- 10. models refuse integer images -------------------------------------------------------

def test_models_refuse_uint8_images_pointing_to_normalize():
    from cnnlab.models import create

    model = create("lenet5_folk", num_classes=10)
    with pytest.raises(TypeError, match=r"float images, got torch.uint8.*cnnlab.data.normalize"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


# --- 12. fit's options ----------------------------------------------------------------------

@pytest.mark.parametrize("bad, match", [
    (dict(epochs=True), "epochs must be an integer"), (dict(warmup_epochs=-1, schedule="cosine"), "warmup_epochs"),
    (dict(warmup_epochs=3, schedule="cosine", epochs=2), r"warmup_epochs \(3\) must be smaller than epochs \(2\)"),
    (dict(warmup_epochs=1, schedule="onecycle", epochs=2), "schedule='cosine' only"),
    (dict(lr=-1.0), "lr must be"), (dict(batch_size=0), "batch_size"), (dict(label_smoothing=1.5), "label_smoothing"),
    (dict(momentum=1.0), "momentum"), (dict(on_step="print"), "on_step"),
    (dict(teacher=nn.Linear(2, 2), loss_fn=lambda o, t: o.sum()), "teacher= or loss_fn=, not both"),
])
def test_bad_fit_options_are_named(bad, match):
    data, loaders = tiny_data(n_train=16, n_test=8)
    options = dict(epochs=1, **loaders, **QUIET)
    options.update(bad)
    with pytest.raises((ValueError, TypeError), match=match):
        fit(tiny_cnn(), data, **options)


def test_a_device_this_machine_lacks_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data, loaders = tiny_data(n_train=16, n_test=8)
    with pytest.raises(ValueError, match="device='cuda', but this machine has no CUDA device"):
        fit(tiny_cnn(), data, 1, **loaders, progress=False, live=False, device="cuda")
    with pytest.raises(ValueError, match="device must be"):
        fit(tiny_cnn(), data, 1, **loaders, progress=False, live=False, device="gpu0")


# --- 13. analysis and widgets (receptive-field functions are tested with their module) -------

def small_model(in_channels=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))


def test_consistency_refuses_an_empty_batch_and_float64():
    from cnnlab.analysis.shift import consistency

    with pytest.raises(ValueError, match="empty batch"):
        consistency(small_model(), torch.zeros(0, 3, 16, 16), max_shift=2)
    with pytest.raises(TypeError, match=r"torch.float64 but the model's weights are torch.float32"):
        consistency(small_model(), torch.rand(2, 3, 16, 16, dtype=torch.float64), max_shift=2)


def test_feature_maps_refuses_a_string_of_layers():
    from cnnlab.analysis.features import feature_maps

    with pytest.raises(TypeError, match=r"layers must be a list of layer names, e.g. \['0'\]"):
        feature_maps(small_model(), torch.rand(1, 3, 8, 8), "0")


@pytest.mark.parametrize("bad, match", [(dict(channel=-1), "channel"), (dict(steps=0), "steps"),
                                        (dict(jitter=-2), "jitter")])
def test_activation_maximization_refuses_bad_settings(bad, match):
    from cnnlab.analysis.features import activation_maximization

    options = dict(layer="0", channel=0, size=8, steps=1)
    options.update(bad)
    with pytest.raises(ValueError, match=match):
        activation_maximization(small_model(), **options)


def test_mixed_samples_refuses_bad_alpha_and_labels():
    from cnnlab.analysis.regularization import mixed_samples

    images, labels = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="alpha"):
        mixed_samples(images, labels, 4, alpha=0.0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        mixed_samples(images, labels, 3)


def test_widgets_refuse_bad_counts_names_shifts_and_image_layouts():
    from cnnlab.widgets.filters import filter_explorer
    from cnnlab.widgets.regularization import regularizer_explorer
    from cnnlab.widgets.shift import shift_explorer

    images = torch.rand(4, 3, 8, 8)
    with pytest.raises(ValueError, match="count"):
        regularizer_explorer(images, count=0)
    with pytest.raises(ValueError, match="class names"):
        regularizer_explorer(images, torch.tensor([0, 1, 2, 3]), classes=["a", "b"])
    model = small_model()
    with pytest.raises(ValueError, match="max_shift must be an integer >= 0"):
        shift_explorer(model, images[0], ["0"], max_shift=-2)
    with pytest.raises(ValueError, match="classes has 2 names but the model has 3 outputs"):
        shift_explorer(model, images[0], ["0"], max_shift=2, classes=["a", "b"])
    with pytest.raises(ValueError, match=r"channels-last .*permute\(2, 0, 1\)"):
        shift_explorer(model, images[0].permute(1, 2, 0), ["0"], max_shift=2)
    with pytest.raises(TypeError, match="torch tensor"):
        shift_explorer(model, images[0].numpy(), ["0"], max_shift=2)
    with pytest.raises(ValueError, match=r"channels-last .*permute\(0, 3, 1, 2\)"):
        filter_explorer(model, images.permute(0, 2, 3, 1))
    with pytest.raises(TypeError, match="torch tensor"):
        filter_explorer(model, np.zeros((1, 3, 8, 8), dtype=np.float32))


# --- 14. grey-scale models ------------------------------------------------------------------

def test_grey_scale_lenet5_can_be_analysed():
    from cnnlab.analysis.features import activation_maximization, feature_maps
    from cnnlab.models import create
    from cnnlab.widgets.filters import filter_explorer

    lenet = create("lenet5", num_classes=10, in_channels=1)  # the paper's grey-scale input
    images = torch.rand(2, 1, 32, 32)
    first_conv = next(name for name, m in lenet.named_modules() if isinstance(m, nn.Conv2d))
    maps = feature_maps(lenet, images, [first_conv])
    assert maps[first_conv].shape[0] == 2
    image, trace = activation_maximization(lenet, first_conv, 0, size=32, steps=2)
    assert image.shape == (1, 32, 32) and len(trace) == 2
    explorer = filter_explorer(lenet, images)
    assert len(explorer.figure().axes) == 3

