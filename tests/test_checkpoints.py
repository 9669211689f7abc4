"""Runs and checkpoints never lose or corrupt a run (issue 11, items 1-7): resume with other settings,
NaN losses, folder or unwritable checkpoint paths, interrupted saves, damaged checkpoints and History files."""
import json
import math
import os
import subprocess
import sys
import zipfile

import pytest
import torch

from cnnlab.train import CheckpointError, History, fit, load_checkpoint, save_checkpoint
from test_train import QUIET, tiny_cnn, tiny_data


def _lrs(history):
    return [row["lr"] for row in history.rows]


# --- 1. resume with other settings ----------------------------------------------------------

@pytest.mark.parametrize("changed, named", [
    (dict(lr=0.05), "lr: checkpoint 0.1, now 0.05"), (dict(optimizer="adamw"), "optimizer"),
    (dict(schedule="cosine"), "schedule"), (dict(weight_decay=0.0), "weight_decay"),
    (dict(batch_size=64), "batch_size"),
])
def test_resume_with_other_settings_is_refused_listing_them(tmp_path, changed, named):
    data, loaders = tiny_data()
    ckpt = tmp_path / "run.pt"
    options = dict(lr=0.1, schedule="constant", checkpoint=ckpt, **loaders, **QUIET)
    fit(tiny_cnn(), data, 1, **options)
    with pytest.raises(ValueError, match="other settings") as err:
        fit(tiny_cnn(), data, 2, **{**options, **changed}, resume=True)
    assert named in str(err.value)
    assert load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1  # untouched


def test_a_constant_run_can_be_extended_and_equals_the_longer_run(tmp_path):
    data, loaders = tiny_data()
    options = dict(lr=0.05, schedule="constant", **loaders, **QUIET)
    straight = tiny_cnn()
    h_straight = fit(straight, data, 3, **options)
    ckpt = tmp_path / "run.pt"
    fit(tiny_cnn(), data, 2, checkpoint=ckpt, **options)
    extended = tiny_cnn(seed=4)
    h_extended = fit(extended, data, 3, checkpoint=ckpt, resume=True, **options)
    assert [r["epoch"] for r in h_extended.rows] == [1, 2, 3] and h_extended.meta["options"]["epochs"] == 3
    assert _lrs(h_extended) == pytest.approx([0.05] * 3)
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(extended.state_dict()[key], value, atol=1e-6, rtol=0)
    assert h_extended.rows[-1]["test_acc"] == pytest.approx(h_straight.rows[-1]["test_acc"])


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "step"])
def test_changing_the_length_of_a_shaped_schedule_is_refused(tmp_path, schedule):
    data, loaders = tiny_data()
    ckpt = tmp_path / "run.pt"
    fit(tiny_cnn(), data, 2, schedule=schedule, checkpoint=ckpt, **loaders, **QUIET)
    with pytest.raises(ValueError, match=f"run of 2 epochs with schedule='{schedule}'.*epochs=2"):
        fit(tiny_cnn(), data, 4, schedule=schedule, checkpoint=ckpt, resume=True, **loaders, **QUIET)


def test_asking_for_fewer_epochs_than_done_is_refused(tmp_path):
    data, loaders = tiny_data()
    ckpt = tmp_path / "run.pt"
    fit(tiny_cnn(), data, 3, schedule="constant", checkpoint=ckpt, **loaders, **QUIET)
    with pytest.raises(ValueError, match="already holds 3 epochs, more than epochs=2"):
        fit(tiny_cnn(), data, 2, schedule="constant", checkpoint=ckpt, resume=True, **loaders, **QUIET)


def test_a_checkpoint_without_settings_is_not_resumed(tmp_path):
    data, loaders = tiny_data()
    ckpt = tmp_path / "old.pt"
    save_checkpoint(ckpt, tiny_cnn(), epoch=1)
    with pytest.raises(ValueError, match="does not record its settings"):
        fit(tiny_cnn(), data, 2, checkpoint=ckpt, resume=True, **loaders, **QUIET)


# --- 2. NaN or infinite loss ----------------------------------------------------------------

def test_a_nan_loss_stops_keeps_the_checkpoint_and_returns_the_history(tmp_path, capsys):
    data, loaders = tiny_data()
    steps = len(loaders["train_loader"])
    ckpt = tmp_path / "run.pt"
    calls = {"n": 0}

    def loss_fn(outputs, targets):  # finite for one epoch and one step, then NaN
        calls["n"] += 1
        loss = torch.nn.functional.cross_entropy(outputs, targets)
        return loss * float("nan") if calls["n"] > steps + 1 else loss

    model = tiny_cnn()
    history = fit(model, data, 3, loss_fn=loss_fn, checkpoint=ckpt, **loaders, **QUIET)
    out = capsys.readouterr().out
    assert "loss became nan at epoch 2, step 2" in out and "learning rate" in out and "Hint" in out
    assert f"checkpoint {ckpt} holds epoch 1" in out
    assert len(history.rows) == 1 and history.meta["stopped"].startswith("loss nan at epoch 2, step 2")
    assert load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the NaN step was not taken
    saved = History.load(history.save(tmp_path / "h.json"))
    assert saved.meta["stopped"] == history.meta["stopped"]


def test_a_huge_learning_rate_stops_instead_of_training_on_nan(tmp_path):
    data, loaders = tiny_data()
    history = fit(tiny_cnn(), data, 3, lr=1e6, schedule="constant", checkpoint=tmp_path / "run.pt",
                  **loaders, **QUIET)
    assert history.meta["stopped"] and len(history.rows) < 3
    assert all(math.isfinite(row["train_loss"]) for row in history.rows)


def test_history_json_stays_strict_json(tmp_path):
    row = dict(epoch=1, train_loss=float("nan"), train_acc=0.1, test_loss=float("inf"), test_acc=0.1, lr=0.1,
               seconds=1.0, images_per_s=1.0)
    path = History([row], dict(name="x")).save(tmp_path / "h.json")

    def refuse(constant):
        raise ValueError(f"bare {constant} in JSON")

    state = json.loads(path.read_text(), parse_constant=refuse)
    assert state["rows"][0]["train_loss"] is None and state["rows"][0]["test_loss"] is None


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0.0, -0.1])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused(lr):
    data, loaders = tiny_data()
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        fit(tiny_cnn(), data, 1, lr=lr, **loaders, **QUIET)


# --- 3, 4. checkpoint paths -----------------------------------------------------------------

def test_a_folder_as_checkpoint_is_refused(tmp_path):
    data, loaders = tiny_data()
    folder = tmp_path / "runs"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        fit(tiny_cnn(), data, 1, checkpoint=folder, **loaders, **QUIET)
    assert folder.is_dir() and not (tmp_path / "runs.previous").exists()


def test_an_unwritable_checkpoint_path_is_refused_before_training(tmp_path, monkeypatch):
    data, loaders = tiny_data()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    trained = []
    import cnnlab.train.loop as loop
    monkeypatch.setattr(loop, "TrainStep", lambda *a, **k: trained.append(1))
    with pytest.raises(ValueError, match="cannot be written"):
        fit(tiny_cnn(), data, 1, checkpoint=blocker / "run.pt", **loaders, **QUIET)
    assert not trained


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_a_read_only_folder_is_refused_before_training(tmp_path):
    data, loaders = tiny_data()
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="cannot be written"):
            fit(tiny_cnn(), data, 1, checkpoint=folder / "run.pt", **loaders, **QUIET)
    finally:
        folder.chmod(0o700)


# --- 5. Ctrl-C during a save; stale temporary files -----------------------------------------

def test_ctrl_c_during_a_save_reports_what_the_file_holds(tmp_path, monkeypatch, capsys):
    data, loaders = tiny_data()
    ckpt = tmp_path / "run.pt"
    real_save = torch.save
    saves = {"n": 0}

    def save_then_ctrl_c(obj, path, *args, **kwargs):
        saves["n"] += 1
        if saves["n"] == 2:  # Ctrl-C while epoch 2 is written
            raise KeyboardInterrupt
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_then_ctrl_c)
    history = fit(tiny_cnn(), data, 3, checkpoint=ckpt, **loaders, **QUIET)
    monkeypatch.undo()
    assert len(history.rows) == 2 and history.meta["interrupted"]
    assert f"checkpoint {ckpt} holds epoch 1" in capsys.readouterr().out
    assert load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


@pytest.mark.skipif(os.name != "posix", reason="stale temporary files are recognized by process id on POSIX")
def test_temporary_files_of_a_killed_save_are_removed(tmp_path):
    ckpt = tmp_path / "run.pt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"run.pt.{int(dead.stdout)}.140245.tmp"
    stale.write_bytes(b"half a checkpoint")
    save_checkpoint(ckpt, tiny_cnn(), epoch=1)
    assert not stale.exists() and load_checkpoint(ckpt, tiny_cnn())["epoch"] == 1


# --- 6. corrupt or foreign checkpoints ------------------------------------------------------

def _zip_without_data(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/readme", "nothing")


@pytest.mark.parametrize("make", [
    lambda p: p.write_bytes(b""),
    lambda p: p.write_bytes(b"\x00garbage\xff" * 10),
    lambda p: (torch.save({"model": tiny_cnn().state_dict(), "architecture": "Sequential", "epoch": 1}, p),
               p.write_bytes(p.read_bytes()[:200])),
    lambda p: torch.save([1, 2, 3], p),
    lambda p: torch.save({"weights": torch.zeros(2)}, p),
    _zip_without_data,
    lambda p: torch.save({"model": torch.nn.Linear(2, 2)}, p),  # a pickled module: code, not tensors
], ids=["empty", "garbage", "truncated", "list", "dict_without_model", "foreign_zip", "pickled_module"])
def test_a_damaged_or_foreign_checkpoint_gets_one_clear_error(tmp_path, make):
    path = tmp_path / "bad.pt"
    make(path)
    with pytest.raises(CheckpointError, match="bad.pt is not a cnnlab checkpoint") as err:
        load_checkpoint(path, tiny_cnn())
    assert "weights_only=False" not in str(err.value)
    data, loaders = tiny_data()
    with pytest.raises(CheckpointError, match="bad.pt"):
        fit(tiny_cnn(), data, 1, checkpoint=path, resume=True, **loaders, **QUIET)


# --- 7. History files -----------------------------------------------------------------------

@pytest.mark.parametrize("content, field", [
    (b"", "not a History file"), (b'{"rows": [{"epoch": 1', "not a History file"),
    (b"\x89PNG\x00\xff\xfe", "not a History file"), (b"[1, 2]", "'rows' and 'meta'"),
    (b'{"rows": [{"epoch": 1, "train_loss": 1.0}], "meta": {}}', "row 0 .*train_acc"),
    (b'{"rows": "abc", "meta": {}}', "'rows' must be a list"),
])
def test_a_bad_history_file_is_refused_at_load_naming_file_and_field(tmp_path, content, field):
    path = tmp_path / "h.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=field) as err:
        History.load(path)
    assert "h.json" in str(err.value)
