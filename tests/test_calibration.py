"""Reliability bins and the expected calibration error (cnnlab.analysis.calibration).

Oracle: a hand computation of Guo et al.'s (2017) definitions, Sec. 2, on six images and 5 bins
((0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1]), written out below; and a network that is calibrated by
construction (every image given confidence 0.7, right on 7 of 10).
"""
import pytest
import torch
from torch import nn

from cnnlab.analysis.calibration import Reliability, reliability, softmax_outputs


def _rows(confidences_and_predictions, classes=3):
    """Probability rows whose largest entry is ``confidence`` on class ``predicted`` (rest shared equally)."""
    rows = []
    for confidence, predicted in confidences_and_predictions:
        row = torch.full((classes,), (1 - confidence) / (classes - 1), dtype=torch.float64)
        row[predicted] = confidence
        rows.append(row)
    return torch.stack(rows)


def test_bins_and_ece_worked_by_hand():
    # image: (confidence, predicted class), true class
    images = [((0.9, 0), 0), ((0.85, 1), 1), ((0.95, 2), 0),   # bin (.8, 1]: 3 images, 2 right
              ((0.5, 1), 1), ((0.6, 0), 2),                    # bin (.4, .6]: 0.6 belongs here (right-closed), 1 right
              ((0.7, 2), 2)]                                   # bin (.6, .8]: 1 image, right
    probs = _rows([i for i, _ in images])
    labels = torch.tensor([y for _, y in images])
    r = reliability(probs, labels, bins=5)
    assert r.counts == (0, 0, 2, 1, 3)
    assert r.confidence[:2] == (None, None) and r.accuracy[:2] == (None, None)
    assert r.confidence[2:] == pytest.approx((0.55, 0.7, 0.9))
    assert r.accuracy[2:] == pytest.approx((0.5, 1.0, 2 / 3))
    # ECE = 2/6 |0.5 - 0.55| + 1/6 |1 - 0.7| + 3/6 |2/3 - 0.9| = 0.016667 + 0.05 + 0.116667 = 0.183333
    assert r.ece == pytest.approx(0.183333, abs=1e-6)
    assert r.mean_confidence == pytest.approx((0.9 + 0.85 + 0.95 + 0.5 + 0.6 + 0.7) / 6)
    assert r.overall_accuracy == pytest.approx(4 / 6)
    assert Reliability.from_dict(r.to_dict()) == r


def test_a_calibrated_classifier_has_zero_ece_and_an_overconfident_one_does_not():
    probs = _rows([(0.7, 0)] * 10)
    right_on_seven = torch.tensor([0] * 7 + [1] * 3)
    assert reliability(probs, right_on_seven).ece == pytest.approx(0.0, abs=1e-6)  # float32 confidences
    right_on_four = torch.tensor([0] * 4 + [1] * 6)
    assert reliability(probs, right_on_four).ece == pytest.approx(0.3)


def test_softmax_outputs_of_a_model():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    images = torch.randn(6, 3, 4, 4)
    probs, labels = softmax_outputs(model, [(images[:4], torch.arange(4)), (images[4:], torch.arange(2))])
    assert torch.allclose(probs, torch.softmax(model(images), 1)) and labels.tolist() == [0, 1, 2, 3, 0, 1]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        reliability(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        reliability(torch.full((4, 2), 0.5), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="bins"):
        reliability(torch.full((4, 2), 0.5), torch.zeros(4, dtype=torch.long), bins=0)


def test_the_reliability_diagram_draws_each_non_empty_bin():
    from cnnlab.viz import plot_reliability

    calibrated = reliability(_rows([(0.7, 0)] * 10), torch.tensor([0] * 7 + [1] * 3))
    worked = reliability(_rows([(0.9, 0), (0.5, 1), (0.6, 0)]), torch.tensor([0, 1, 2]), bins=5)
    fig = plot_reliability({"calibrated": calibrated, "worked": worked})
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    # bins (.4, .6]: 0.5 right, 0.6 wrong; (.8, 1]: 0.9 right. ECE = (2 |0.5 - 0.55| + |1 - 0.9|) / 3 = 6.7%
    assert set(lines) == {"calibrated", "calibrated: ECE 0.0%", "worked: ECE 6.7%"}
    assert list(lines["worked: ECE 6.7%"].get_xdata()) == pytest.approx([0.55, 0.9])
    assert list(lines["worked: ECE 6.7%"].get_ydata()) == pytest.approx([0.5, 1.0])
    with pytest.raises(ValueError, match="at least one"):
        plot_reliability({})
