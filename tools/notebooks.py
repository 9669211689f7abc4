"""Maintain the course notebooks: their first cell, their execution, and the freshness of their outputs.

    python tools/notebooks.py header                       # print the first code cell every notebook starts with
    python tools/notebooks.py run [--profile quick] NB...  # execute notebooks in place and stamp them
    python tools/notebooks.py check [NB...]                # list notebooks whose outputs are stale (exit 1 if any)

``run`` executes with nbclient in the notebook's own folder, saves the ipywidgets state (so the book
can render the widgets) and records in the notebook metadata which ``cnnlab`` produced the outputs::

    "cnnlab": {"version", "profile", "device", "executed" (UTC date), "source_hash"}

``source_hash`` is the sha256 of every ``cnnlab/**/*.py`` file (path and content, sorted by path);
``check`` calls a notebook stale when its version or source hash differs from the code's.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT_S = 3600


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
    """The source of the first code cell: installs cnnlab in Colab only, at this version's tag."""
    requirement = f"cnnlab @ git+{repository_url()}@v{cnnlab_version()}"
    return (
        "# In Colab, install the cnnlab this notebook was made with (and nothing else); locally, nothing to do.\n"
        "import importlib.util, subprocess, sys\n"
        "\n"
        "if \"google.colab\" in sys.modules and importlib.util.find_spec(\"cnnlab\") is None:\n"
        f"    CNNLAB = \"{requirement}\"\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", CNNLAB], check=True)"
    )


def source_hash() -> str:
    """sha256 over the path and content of every cnnlab/**/*.py file, sorted by path."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "cnnlab").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def stamp(profile: str) -> dict:
    """The metadata a freshly executed notebook carries."""
    from cnnlab.session import describe_device, get_device

    return {
        "version": cnnlab_version(),
        "profile": profile,
        "device": describe_device(get_device()),
        "executed": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "source_hash": source_hash(),
    }


def run(paths: list[Path], profile: str) -> None:
    """Execute each notebook in place under ``profile`` and stamp it.

    The data cache (``$CNNLAB_DATA``, default ``<repository>/.data``) is handed to the kernel as a path
    relative to the notebook, so no output shows a path of this machine.
    """
    import nbformat
    from nbclient import NotebookClient

    os.environ["CNNLAB_PROFILE"] = profile
    data = Path(os.environ.get("CNNLAB_DATA") or ROOT / ".data").expanduser().resolve()
    for path in paths:
        print(f"executing {path} (profile {profile}) ...", flush=True)
        os.environ["CNNLAB_DATA"] = os.path.relpath(data, path.parent)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", store_widget_state=True,
                                record_timing=False, resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        nb.metadata["cnnlab"] = stamp(profile)
        nbformat.write(nb, path)


def stale_reason(path: Path) -> str | None:
    """Why the outputs of ``path`` are stale, or None when they match the code."""
    import nbformat

    recorded = nbformat.read(path, as_version=4).metadata.get("cnnlab")
    if not recorded:
        return "never stamped (run tools/notebooks.py run)"
    if recorded.get("version") != cnnlab_version():
        return f"made with cnnlab {recorded.get('version')}, code is {cnnlab_version()}"
    if recorded.get("source_hash") != source_hash():
        return "cnnlab sources changed since it was executed"
    return None


def course_notebooks() -> list[Path]:
    """The chapter notebooks and the book's notebook pages."""
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("header", help="print the first code cell of every notebook")
    run_parser = commands.add_parser("run", help="execute notebooks in place and stamp them")
    run_parser.add_argument("--profile", default="quick", choices=["smoke", "quick", "full"])
    run_parser.add_argument("notebooks", nargs="+", type=Path)
    check_parser = commands.add_parser("check", help="list stale notebooks; exit 1 if any")
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
    stale = [(p, reason) for p in (args.notebooks or course_notebooks()) if (reason := stale_reason(p))]
    for path, reason in stale:
        print(f"stale: {path}: {reason}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
