"""Maintain the course notebooks: their first cell, their execution, and the freshness of their outputs.

    python tools/notebooks.py header                       # print the install cell that follows every title
    python tools/notebooks.py run [--profile quick] NB...  # execute notebooks in place and stamp them
    python tools/notebooks.py check [NB...]                # table of every notebook: fresh or stale (exit 1 if any stale)

``run`` executes with nbclient in the notebook's own folder, saves the ipywidgets state (so the book
can render the widgets) and records in the notebook metadata which ``cnnlab`` produced the outputs::

    "cnnlab": {"version", "profile", "device", "executed" (UTC date), "seconds" (the run's wall time),
               "data" (the data sources cnnlab.data loaded), "modules" ({"cnnlab/...py": fingerprint})}

``modules`` lists the cnnlab modules whose code *ran* in the notebook (``cnnlab.provenance.CodeUsage``,
started by one extra cell run first and read by one run last; both are removed), each with the
fingerprint of its syntax tree (``cnnlab.provenance.source_digest``: docstrings, comments and layout do
not count). ``check`` calls a notebook stale when its cnnlab version differs, or when one of *its*
modules changed: a change to ``cnnlab/models/densenet.py`` leaves the chapters that never run it fresh.
``check`` also lists the stored longer runs (``python -m cnnlab.experiments list``).

``run`` waits for the machine's training lock (``cnnlab.experiments.runner.one_training_at_a_time``), so
a notebook is never timed while a stored run trains beside it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT_S = 3600
TRACER = "from cnnlab.provenance import CodeUsage as _CodeUsage\n_cnnlab_usage = _CodeUsage().start()"
PROBE = """\
import json as _json, sys as _sys
_cnnlab_usage.stop()
print("cnnlab-probe:" + _json.dumps({
    "modules": _cnnlab_usage.digests(),
    "data": list(getattr(_sys.modules.get("cnnlab.data"), "LOADED_SOURCES", [])),
}))"""


def repository_url() -> str:
    """The repository URL, from its one place: ``repository.url`` in ``_config.yml``."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not url:
        raise ValueError("_config.yml has no repository.url: expected e.g. https://github.com/<owner>/<repo>")
    return url.rstrip("/")


def colab_url(notebook: str) -> str:
    """The Colab link the book's launch button gives ``notebook`` (a path from the repository root)."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    owner_repo = repository_url().removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "master")
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    return f"{colab}/github/{owner_repo}/blob/{branch}/{notebook}"


def cnnlab_version() -> str:
    """``cnnlab.__version__`` as written in the source (no import of torch needed)."""
    for line in (ROOT / "cnnlab" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise ValueError("cnnlab/__init__.py defines no __version__")


def header() -> str:
    """The source of the install cell, which follows each notebook's title: installs cnnlab in Colab only,
    at this version's tag (and nothing Colab already has); lines short enough to read in the book."""
    return (
        "# Colab: install the cnnlab of this notebook (nothing else). Locally: nothing to do.\n"
        "import importlib.util, subprocess, sys\n"
        "\n"
        "if \"google.colab\" in sys.modules and importlib.util.find_spec(\"cnnlab\") is None:\n"
        f"    source = \"git+{repository_url()}@v{cnnlab_version()}\"\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"cnnlab @ \" + source],\n"
        "                   check=True)"
    )


def stamp(profile: str, modules: dict[str, str], data: list[str], seconds: float) -> dict:
    """The metadata a freshly executed notebook carries (``modules``: the cnnlab files whose code ran, each
    with its fingerprint when it first ran)."""
    from cnnlab.session import describe_device, get_device

    return {
        "version": cnnlab_version(),
        "profile": profile,
        "device": describe_device(get_device()),
        "executed": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "seconds": round(seconds, 1),
        "data": data,
        "modules": modules,
    }


def _probe(nb) -> dict:
    """What the probe cell printed (the kernel's cnnlab modules and data sources)."""
    for output in nb.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith("cnnlab-probe:"):
                return json.loads(line.removeprefix("cnnlab-probe:"))
    raise RuntimeError(f"the probe cell printed nothing readable: {nb.cells[-1].outputs}")


def run(paths: list[Path], profile: str) -> None:
    """Execute each notebook in place under ``profile`` and stamp it.

    The data cache (``$CNNLAB_DATA``, default ``<repository>/.data``) is handed to the kernel as a path
    relative to the notebook, so no output shows a path of this machine.
    """
    import nbformat
    from nbclient import NotebookClient

    from cnnlab.experiments.runner import one_training_at_a_time

    os.environ["CNNLAB_PROFILE"] = profile
    os.environ["CNNLAB_PROGRESS"] = "0"  # no progress bars in the stored outputs: the book would show them at 0%
    data = Path(os.environ.get("CNNLAB_DATA") or ROOT / ".data").expanduser().resolve()
    for path in paths:
        print(f"executing {path} (profile {profile}) ...", flush=True)
        os.environ["CNNLAB_DATA"] = str(data)  # the training lock is found from here, not from the kernel's folder
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(TRACER))
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", store_widget_state=True,
                                record_timing=False, resources={"metadata": {"path": str(path.parent)}})
        with one_training_at_a_time(path.name):
            os.environ["CNNLAB_DATA"] = os.path.relpath(data, path.parent)  # the kernel's path, relative to the notebook
            started = time.perf_counter()
            client.execute()
            seconds = time.perf_counter() - started
        probe = _probe(nb)
        nb.cells.pop()
        nb.cells.pop(0)
        _renumber(nb)
        nb.metadata["cnnlab"] = stamp(profile, probe["modules"], probe["data"], seconds)
        nbformat.write(nb, path)
        print(f"  {seconds:.0f} s, data: {'; '.join(probe['data']) or 'none'}", flush=True)


def _renumber(nb) -> None:
    """Execution counts from 1 again, as if the removed tracer cell had never run."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.execution_count is not None:
            cell.execution_count -= 1
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] -= 1


def stale_reason(path: Path) -> str | None:
    """Why the outputs of ``path`` are stale, or None when they match the code."""
    return _stale_reason(_recorded(path))


def _recorded(path: Path) -> dict:
    """The stamp ``run`` left in a notebook's metadata ({} when it has none)."""
    import nbformat

    return nbformat.read(path, as_version=4).metadata.get("cnnlab") or {}


def _stale_reason(recorded: dict) -> str | None:
    if not recorded:
        return "never stamped (run tools/notebooks.py run)"
    if recorded.get("version") != cnnlab_version():
        return f"made with cnnlab {recorded.get('version')}, code is {cnnlab_version()}"
    modules = recorded.get("modules")
    if modules is None:  # {} is a record too: a notebook that imports no cnnlab module
        return "no record of the cnnlab modules it loaded (executed by an older tools/notebooks.py)"
    from cnnlab.provenance import module_digests

    changed = [f for f, digest in module_digests(modules).items() if digest != modules[f]]
    if changed:
        return f"changed since it ran: {', '.join(changed)}"
    return None


def freshness_table(paths: list[Path]) -> tuple[str, int]:
    """The table ``check`` prints (notebook, profile, seconds, data, fresh/stale) and the stale count."""
    rows, stale = [], 0
    for path in paths:
        recorded = _recorded(path)
        reason = _stale_reason(recorded)
        stale += reason is not None
        seconds = recorded.get("seconds")
        rows.append((path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path),
                     recorded.get("profile", "-"), f"{seconds:.0f}" if seconds is not None else "-",
                     "; ".join(recorded.get("data") or []) or "-",
                     "fresh" if reason is None else f"STALE: {reason}"))
    rows.insert(0, ("notebook", "profile", "seconds", "data", "status"))
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    line = f"{{:<{width[0]}}}  {{:<{width[1]}}}  {{:>{width[2]}}}  {{:<{width[3]}}}  {{}}"
    return "\n".join(line.format(*row) for row in rows), stale


CAP_MINUTES, CAP_EXCEPTIONS = 60, {"05": 90}
"""Each chapter's stored runs may take at most 60 minutes of the 2-core CPU; chapter 05 90 (four deep nets)."""


def chapter_minutes_table() -> str:
    """One line: each chapter's stored minutes (all its experiments' stored runs) against its cap."""
    from cnnlab.experiments import store
    from cnnlab.experiments.registry import list_experiments

    minutes: dict[str, float] = {}
    for experiment in list_experiments():
        if store.tiers_stored(experiment.id):
            seconds = experiment.stored().provenance["wall_seconds"]
            minutes[experiment.chapter] = minutes.get(experiment.chapter, 0.0) + seconds / 60
    caps = {chapter: CAP_EXCEPTIONS.get(chapter, CAP_MINUTES) for chapter in minutes}
    over = [chapter for chapter, m in minutes.items() if m > caps[chapter]]
    cells = [f"{c} {m:.0f}" + (f" (over {caps[c]})" if c in over else "") for c, m in sorted(minutes.items())]
    exceptions = ", ".join(f"{chapter}: {cap}" for chapter, cap in CAP_EXCEPTIONS.items())
    return (f"Stored minutes per chapter (cap {CAP_MINUTES}, {exceptions}): " + ", ".join(cells)
            + (f"; {len(over)} over the cap" if over else "; all within the cap"))


def course_notebooks() -> list[Path]:
    """The chapter notebooks and the book's notebook pages."""
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("header", help="print the install cell that follows every notebook's title")
    run_parser = commands.add_parser("run", help="execute notebooks in place and stamp them")
    run_parser.add_argument("--profile", default="quick", choices=["smoke", "quick", "full"])
    run_parser.add_argument("notebooks", nargs="+", type=Path)
    check_parser = commands.add_parser("check", help="table of the notebooks: fresh or stale; exit 1 if any stale")
    check_parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)

    if args.command == "header":
        print(header())
        return 0
    if args.command == "run":
        missing = [str(p) for p in args.notebooks if not p.is_file() or p.suffix != ".ipynb"]
        if missing:
            parser.error(f"expected existing .ipynb files, got: {', '.join(missing)}")
        run([p.resolve() for p in args.notebooks], args.profile)
        return 0
    table, stale = freshness_table([p.resolve() for p in args.notebooks] or course_notebooks())
    print(table)
    if not args.notebooks:
        from cnnlab.experiments.runner import status_table

        runs, bad = status_table()
        print("\nStored runs (make runs CH=NN runs a chapter's missing or stale ones):\n" + runs)
        print("\n" + chapter_minutes_table())
        stale += bad
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
