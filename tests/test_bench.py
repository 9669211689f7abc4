"""The speed benchmark runs end to end on a tiny model (1 timed step) and prints both paths."""
import json

import pytest
from torch import nn

from cnnlab import bench


def tiny():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 10))


def test_benchmark_measures_both_paths():
    result = bench.benchmark({"tiny": tiny}, batch_size=4, steps=1, warmup=1, device="cpu")
    assert [(r["model"], r["path"]) for r in result["rows"]] == [("tiny", "cnnlab"), ("tiny", "textbook")]
    for row in result["rows"]:
        assert row["train_images_per_s"] > 0 and row["infer_images_per_s"] > 0 and row["peak_mb"] > 0
        assert row["epoch_seconds"] == pytest.approx(50_000 / row["train_images_per_s"])
    table = bench.markdown_table(result)
    assert table.startswith("Device: cpu") and "| tiny | cnnlab |" in table and "| tiny | textbook |" in table


def test_command_line_skips_unregistered_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    result = bench.main(["--models", "no_such_model", "--steps", "1", "--warmup", "0", "--batch-size", "2",
                         "--device", "cpu", "--json", str(out)])
    assert result["skipped"] == ["no_such_model"] and result["rows"] == []
    assert "skipped: no_such_model" in capsys.readouterr().out
    assert json.loads(out.read_text())["skipped"] == ["no_such_model"]


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="steps"):
        bench.benchmark({"tiny": tiny}, steps=0, device="cpu")


def test_rounds_alternate_which_path_goes_first_and_report_medians(monkeypatch):
    calls, speeds = [], iter([10, 1, 30, 3, 20, 2])

    def fake_measure(path, *_args):
        calls.append(path)
        speed = next(speeds)
        return dict(path=path, train_images_per_s=speed, infer_images_per_s=speed, epoch_seconds=0, peak_mb=speed)

    monkeypatch.setattr(bench, "_measure", fake_measure)
    result = bench.benchmark({"tiny": tiny}, rounds=3, device="cpu")
    assert calls == ["cnnlab", "textbook", "textbook", "cnnlab", "cnnlab", "textbook"]
    cnnlab_row, textbook_row = result["rows"]
    assert (cnnlab_row["train_images_per_s"], textbook_row["train_images_per_s"]) == (10, 2)  # medians
    assert (cnnlab_row["peak_mb"], textbook_row["peak_mb"]) == (20, 30)
    assert cnnlab_row["epoch_seconds"] == 50_000 / 10
    with pytest.raises(ValueError, match="rounds"):
        bench.benchmark({"tiny": tiny}, rounds=0, device="cpu")
