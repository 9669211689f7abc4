"""The store of longer runs (issue 19): an experiment defined once runs live or under the runner, resumes
after an interruption without redoing finished trainings, and is stored and read back with its provenance."""
import json

import pytest
import torch

from cnnlab.experiments import registry, runner, store
from cnnlab.experiments.registry import Experiment
from test_train import tiny_cnn, tiny_data

CALLS = {"steps": 0, "once": 0}


def toy(run):
    """Two tiny trainings and one cached measurement."""
    data, loaders = tiny_data()
    epochs = run.scaled(full=3, long=3, quick=2, smoke=1)

    def count(info):
        CALLS["steps"] += 1
        return CALLS.get("stop_at") == CALLS["steps"]  # True stops the run, as Ctrl-C would

    first = run.fit("first", tiny_cnn(seed=0), data, epochs=epochs, schedule="constant", on_step=count, **loaders)
    second = run.fit("second", tiny_cnn(seed=1), data, epochs=epochs, schedule="constant", on_step=count, **loaders)
    run.keep("first", tiny_cnn(seed=0))

    def measured():
        CALLS["once"] += 1
        return {"seed": 7}

    return {"accuracy": {0: first.test["accuracy"], 1: second.test["accuracy"]}, "measured": run.once("m", measured)}


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "STORE", tmp_path / "stored")
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(CALLS, "steps", 0)
    monkeypatch.setitem(CALLS, "once", 0)
    made = Experiment("99", "toy", toy, minutes=1)
    monkeypatch.setitem(registry.EXPERIMENTS, made.id, made)
    return made


def test_a_live_run_gives_values_as_the_store_will(experiment):
    result = experiment.run("smoke")
    assert set(result.values["accuracy"]) == {"0", "1"}  # JSON keys, as after a round trip through the store
    assert set(result.histories) == {"first", "second"} and not result.stored
    assert "cnnlab/train/loop.py" in result.provenance["code"]
    assert result.provenance["recipes"]["first"]["epochs"] == 1
    assert result.label().startswith("live run (smoke profile)")


def test_stored_and_read_back_with_weights_and_provenance(experiment):
    result = experiment.run("long")
    path = store.save(result)
    assert path == store.STORE / "99" / "toy" / "long.json"
    back = experiment.stored()
    assert back.stored and back.values == result.values and back.profile == "long"
    assert [r["val_acc" if "val_acc" in r else "test_acc"] for r in back.histories["first"].rows] == [
        r["val_acc" if "val_acc" in r else "test_acc"] for r in result.histories["first"].rows]
    model = back.load_weights("first", tiny_cnn(seed=5))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), tiny_cnn(seed=0).state_dict().values()))
    assert "re-run with `make runs CH=99`" in back.label() and "stored run (long profile)" in back.label()
    with pytest.raises(KeyError, match="kept no weights under 'second'"):
        back.load_weights("second", tiny_cnn())


def test_the_best_tier_is_read_and_a_missing_one_says_how_to_make_it(experiment):
    with pytest.raises(FileNotFoundError, match="make runs CH=99"):
        experiment.stored()
    store.save(experiment.run("long"))
    full = experiment.run("full")
    full.values["marker"] = "full"
    store.save(full)
    assert experiment.stored().values.get("marker") == "full"
    assert "marker" not in experiment.stored("long").values
    with pytest.raises(ValueError, match="only the full and long profiles"):
        store.save(experiment.run("smoke"))


def test_a_stored_result_goes_stale_when_a_module_it_ran_changes(experiment):
    result = experiment.run("long")
    assert store.stale_reason(result) is None
    result.provenance["code"]["cnnlab/train/loop.py"] = "0" * 64
    assert store.stale_reason(result) == "changed since it ran: cnnlab/train/loop.py"
    store.save(result)
    assert runner.status(experiment).startswith("STALE: changed since it ran: cnnlab/train/loop.py")


def test_an_interrupted_run_resumes_without_redoing_finished_work(experiment, tmp_path, monkeypatch):
    workdir = tmp_path / "work"
    steps_per_epoch = 4  # 64 images, batches of 16 (tiny_data's loader)
    monkeypatch.setitem(CALLS, "stop_at", 3 * steps_per_epoch + 1)  # first: 3 epochs; second stops in epoch 1
    with pytest.raises(KeyboardInterrupt):
        experiment.run("long", workdir=workdir)
    assert (workdir / "first.pt").exists() and not (workdir / "second.pt").exists()
    monkeypatch.setitem(CALLS, "stop_at", None)
    CALLS["steps"] = 0
    result = experiment.run("long", workdir=workdir)
    assert CALLS["steps"] == 3 * steps_per_epoch  # only the second training ran; the first was read back
    assert len(result.histories["first"].rows) == 3 and len(result.histories["second"].rows) == 3
    assert CALLS["once"] == 1 and result.values["measured"] == {"seed": 7}
    assert result.provenance["wall_seconds"] > 0
    assert not (workdir / "m.json").exists() or json.loads((workdir / "m.json").read_text())["value"] == {"seed": 7}


def test_the_runner_stores_then_skips_a_fresh_result(experiment, capsys):
    assert runner.main(["run", "99/toy"]) == 0
    assert (store.STORE / "99" / "toy" / "long.json").exists()
    assert "stored" in capsys.readouterr().out
    assert runner.main(["run", "--chapter", "99"]) == 0
    assert "a fresh long result is stored" in capsys.readouterr().out
    assert runner.main(["check"]) == 1  # the course's own experiments are not in this temporary store
    table = capsys.readouterr().out
    assert "99/toy" in table and "fresh" in table.split("99/toy")[1].splitlines()[0]



def test_a_sitting_that_is_killed_still_counts_its_time(tmp_path, monkeypatch):
    # A run killed without a chance to clean up (SIGKILL, a session that ends) leaves only what was written while
    # it ran: its seconds must be in the work folder then, so that the resumed run's wall time includes them.
    import time

    monkeypatch.setattr(runner, "CLOCK_INTERVAL_S", 0.05)
    workdir = tmp_path / "work"
    (workdir).mkdir()
    (workdir / "seconds").write_text("100.0")  # an earlier sitting
    with runner.counting_killed_sittings(workdir):
        time.sleep(0.5)
        written = float((workdir / "seconds").read_text())  # what a kill at this moment would leave
    assert 100.3 < written < 100.6
    result = Experiment("99", "quick", lambda run: {}, minutes=1).run("long", workdir=workdir)
    assert result.provenance["wall_seconds"] >= 100.3  # the killed sitting's time, read back
