"""The runner of the stored experiments: ``make runs`` / ``python -m cnnlab.experiments``.

::

    python -m cnnlab.experiments list                   # every experiment: budget, stored tiers, fresh or stale
    python -m cnnlab.experiments run --chapter 05       # run chapter 05's missing or stale experiments (long)
    python -m cnnlab.experiments run 05/degradation --force
    python -m cnnlab.experiments check                  # exit 1 if a stored result is stale

A run checkpoints every training into ``<data dir>/runs/<chapter>/<name>/<profile>/`` and resumes from
there when it is started again; the folder is removed once the result is in the store. Only one training
job runs at a time on this machine (a lock file beside those folders), so two runs, or a run and
``tools/notebooks.py run``, wait for each other instead of sharing two cores.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from ..session import data_dir
from . import store
from .registry import Experiment, _sittings, get, list_experiments

__all__ = ["main", "one_training_at_a_time", "status", "status_table"]


@contextlib.contextmanager
def one_training_at_a_time(what: str):
    """Hold this machine's training lock while the block runs (waits, saying so, if another job holds it)."""
    lock = data_dir() / "runs" / ".training.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{what}: waiting for the training job that holds {lock} ...", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def status(experiment: Experiment, profile: str | None = None) -> str:
    """``fresh``, ``missing`` or ``STALE: <why>`` for an experiment's stored ``profile`` (default: best tier)."""
    tiers = store.tiers_stored(experiment.id)
    if not tiers or (profile is not None and profile not in tiers):
        return "missing"
    reason = store.stale_reason(experiment.stored(profile))
    return "fresh" if reason is None else f"STALE: {reason}"


def status_table(experiments=None) -> tuple[str, int]:
    """The table ``list`` prints, and how many stored results are stale or missing."""
    rows, bad = [("experiment", "budget", "stored", "minutes", "date", "status")], 0
    for experiment in experiments if experiments is not None else list_experiments():
        tiers = store.tiers_stored(experiment.id)
        state = status(experiment)
        bad += state != "fresh"
        provenance = experiment.stored().provenance if tiers else {}
        rows.append((experiment.id, f"{experiment.minutes} min", ",".join(tiers) or "-",
                     f"{provenance['wall_seconds'] / 60:.0f}" if provenance else "-",
                     provenance.get("date", "-")[:10], state))
    width = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(f"{c:<{w}}" for c, w in zip(r[:5], width)) + "  " + r[5] for r in rows), bad


CLOCK_INTERVAL_S = 60.0


@contextlib.contextmanager
def counting_killed_sittings(workdir: Path):
    """Keep the run's seconds in all sittings in its work folder, rewritten every ``CLOCK_INTERVAL_S``.

    ``Experiment.run`` adds a sitting's time there when it returns or raises; a sitting that is killed (a
    session that ends) never returns, and without this its time would be missing from the stored run's label.
    """
    earlier, started, stop = _sittings(workdir), time.perf_counter(), threading.Event()

    def keep_writing():
        while not stop.wait(CLOCK_INTERVAL_S):
            workdir.mkdir(parents=True, exist_ok=True)
            partial = workdir / "seconds.partial"
            partial.write_text(f"{earlier + time.perf_counter() - started:.1f}")
            os.replace(partial, workdir / "seconds")  # atomic: a kill mid-write leaves the previous total

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()


def run_one(experiment: Experiment, profile: str, fresh: bool) -> Path:
    workdir = data_dir() / "runs" / experiment.id / profile
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    with one_training_at_a_time(experiment.id):
        print(f"== {experiment.id} ({profile}; budget {experiment.minutes} min): {experiment.description}",
              flush=True)
        started = time.perf_counter()
        with counting_killed_sittings(workdir):
            result = experiment.run(profile, workdir=workdir)
        path = store.save(result)
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"== {experiment.id}: stored {path.relative_to(store.STORE.parent.parent)} "
          f"({(time.perf_counter() - started) / 60:.1f} min this sitting, "
          f"{result.provenance['wall_seconds'] / 60:.1f} min in all)", flush=True)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlab.experiments", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run missing or stale experiments and store their results")
    run.add_argument("ids", nargs="*", help="experiment ids such as 05/degradation (default: all, or --chapter's)")
    run.add_argument("--chapter", help="only this chapter's experiments, e.g. 05")
    run.add_argument("--profile", default="long", choices=store.TIERS)
    run.add_argument("--force", action="store_true", help="run even when a fresh result is stored")
    run.add_argument("--fresh", action="store_true", help="discard a partial run's checkpoints instead of resuming")
    listing = commands.add_parser("list", help="every experiment with its stored tiers, fresh or stale")
    listing.add_argument("--chapter")
    commands.add_parser("check", help="exit 1 if a stored result is stale or missing")
    args = parser.parse_args(argv)

    if args.command in ("list", "check"):
        table, bad = status_table(list_experiments(getattr(args, "chapter", None)))
        print(table)
        return 1 if args.command == "check" and bad else 0
    chosen = [get(i) for i in args.ids] if args.ids else list_experiments(args.chapter)
    if not chosen:
        parser.error(f"no experiment for chapter {args.chapter!r}")
    for experiment in chosen:
        if not args.force and status(experiment, args.profile) == "fresh":
            print(f"== {experiment.id}: a fresh {args.profile} result is stored (--force runs it again)")
            continue
        run_one(experiment, args.profile, args.fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
