"""Static checks of the course notebooks (notebooks/*.ipynb, book/*.ipynb) and of tools/notebooks.py.

Fast: nothing is executed here; `make test` runs the notebooks themselves under nbval.
"""
import importlib.util
import re
import sys
import types
from pathlib import Path

import nbformat
import pytest
import yaml

import cnnlab
from cnnlab.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BOOK_NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
ALL_NOTEBOOKS = CHAPTERS + BOOK_NOTEBOOKS
MACHINE_PATH = re.compile(r"(?<![\w./-])/(work|tmp|root|home)(/|\b)")
QUICK_BUDGET_S = 300  # every chapter's quick run, on a 2-core machine
YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")


def _load_tools():
    spec = importlib.util.spec_from_file_location("cnnlab_tools_notebooks", ROOT / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tools = _load_tools()


def _toc_files():
    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return {toc["root"], *walk(toc)}


def _ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(params=ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


@pytest.fixture(params=CHAPTERS, ids=_ids(CHAPTERS))
def chapter(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_every_notebook_is_in_the_toc(notebook):
    path, _ = notebook
    assert path.relative_to(ROOT).with_suffix("").as_posix() in _toc_files(), f"{path.name} is not listed in _toc.yml"


def test_chapter_name_is_number_and_topic(chapter):
    path, _ = chapter
    assert re.fullmatch(r"\d\d_[a-z0-9]+(_[a-z0-9]+)*\.ipynb", path.name), f"{path.name}: expected NN_topic.ipynb"


def test_the_install_cell_follows_the_title(notebook):
    """Issue 24: the Colab install cell sits below the title (not above it), with lines the book shows whole."""
    path, nb = notebook
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code cell"
    assert cells[0].source.strip() == tools.header().strip(), (
        f"{path.name}: the first code cell must be exactly the output of `python tools/notebooks.py header`")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith("# "), (
        f"{path.name}: the notebook must open with its title, above the install cell")
    assert nb.cells.index(cells[0]) == 1, f"{path.name}: the install cell must follow the title cell"
    assert max(len(line) for line in tools.header().splitlines()) <= 90


def test_every_code_cell_ran_without_error(notebook):
    path, nb = notebook
    for index, cell in enumerate(_code_cells(nb)):
        assert cell.execution_count is not None, f"{path.name}: code cell {index} was not executed"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: code cell {index} stored an error: {errors[0].get('ename')}"


def test_no_paths_of_this_machine(notebook):
    path, nb = notebook
    for index, cell in enumerate(nb.cells):
        texts = [cell.source]
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.extend(v for k, v in output.get("data", {}).items() if k.startswith("text/") and isinstance(v, str))
        for text in texts:
            match = MACHINE_PATH.search(text)
            assert not match, f"{path.name}: cell {index} shows a machine path near {text[max(0, match.start() - 30):match.end() + 30]!r}"


def test_stamp_names_version_and_profile(notebook):
    path, nb = notebook
    stamp = nb.metadata.get("cnnlab")
    assert stamp, f"{path.name} has no cnnlab stamp: execute it with `python tools/notebooks.py run`"
    assert stamp["version"] == cnnlab.__version__, f"{path.name} was made with cnnlab {stamp['version']}"
    assert stamp["profile"] in PROFILES
    assert stamp["device"] and re.fullmatch(r"\d{4}-\d\d-\d\d", stamp["executed"])
    assert {"seconds", "data", "modules"} <= set(stamp), (
        f"{path.name} was stamped by an older tools/notebooks.py: execute it with `python tools/notebooks.py run`")
    if stamp["profile"] == "quick":  # the budget (issue 10): the whole book re-executes in about an hour
        assert stamp["seconds"] <= QUICK_BUDGET_S, f"{path.name}: its quick run took {stamp['seconds']:.0f} s"


def test_chapter_opens_with_its_ilsvrc_year(chapter):
    path, nb = chapter
    if path.name.startswith("00_"):
        pytest.skip("the start chapter sits before the timeline")
    opening = " ".join(c.source for c in nb.cells[:3] if c.cell_type == "markdown")
    assert YEAR.search(opening), f"{path.name}: a markdown cell near the top must name the chapter's ILSVRC year"


def test_chapter_ends_with_exercises(chapter):
    path, nb = chapter
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if re.match(r"#{1,2} ", line)]  # subsections (### Open questions) may follow inside it
    assert headings and headings[-1].lstrip("#").strip() == "Exercises", (
        f"{path.name}: the last section must be '## Exercises', found {headings[-1:]}")


def test_colab_link_is_built_from_the_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    owner, repo = config["repository"]["url"].removeprefix("https://github.com/").split("/")
    assert config["repository"]["branch"] == "main" and config["repository"]["path_to_book"] == ""
    expected = f"https://colab.research.google.com/github/{owner}/{repo}/blob/main/notebooks/03_vgg_nin.ipynb"
    assert tools.colab_url("notebooks/03_vgg_nin.ipynb") == expected


def _run_header(monkeypatch, in_colab, installed):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *args, **kwargs: calls.append(args[0]))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object() if installed else None)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(tools.header(), {})
    return calls


def test_header_does_nothing_locally(monkeypatch):
    assert _run_header(monkeypatch, in_colab=False, installed=False) == []
    assert _run_header(monkeypatch, in_colab=True, installed=True) == []


def test_header_installs_this_version_in_colab(monkeypatch):
    (command,) = _run_header(monkeypatch, in_colab=True, installed=False)
    url = tools.repository_url()
    assert command[-1] == f"cnnlab @ git+{url}@v{cnnlab.__version__}"
    assert command[1:4] == ["-m", "pip", "install"]
    assert not any(name in " ".join(command) for name in ("torch", "numpy"))


def _stamped(tmp_path, **stamp):
    nb = nbformat.v4.new_notebook()
    if stamp:
        nb.metadata["cnnlab"] = stamp
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    return path


def _digest(relative):
    from cnnlab.provenance import source_digest  # its own tests: tests/test_provenance.py

    return source_digest(ROOT / relative)


def test_freshness_is_per_notebook(tmp_path):
    """Stale only when a module whose code ran in the notebook changed."""
    mine = {f: _digest(f) for f in ("cnnlab/__init__.py", "cnnlab/profiles.py")}
    version = cnnlab.__version__
    assert "never stamped" in tools.stale_reason(_stamped(tmp_path))
    assert "0.0.0" in tools.stale_reason(_stamped(tmp_path, version="0.0.0", modules=mine))
    assert "no record of the cnnlab modules" in tools.stale_reason(_stamped(tmp_path, version=version,
                                                                            source_hash="0" * 64))
    assert tools.stale_reason(_stamped(tmp_path, version=version, modules=mine)) is None  # other files may change
    assert tools.stale_reason(_stamped(tmp_path, version=version, modules={})) is None  # imports no cnnlab module
    changed = {**mine, "cnnlab/profiles.py": "0" * 64}
    assert tools.stale_reason(_stamped(tmp_path, version=version, modules=changed)) == (
        "changed since it ran: cnnlab/profiles.py")
    gone = {**mine, "cnnlab/no_such_module.py": "0" * 64}
    assert "cnnlab/no_such_module.py" in tools.stale_reason(_stamped(tmp_path, version=version, modules=gone))


def test_check_prints_the_table(tmp_path, capsys):
    mine = {"cnnlab/profiles.py": _digest("cnnlab/profiles.py")}
    fresh = _stamped(tmp_path, version=cnnlab.__version__, profile="quick", seconds=83.4,
                     data=["CIFAR-10 (JPEG copy, image folder cifar10-jpeg)"], modules=mine)
    assert tools.main(["check", str(fresh)]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["notebook", "profile", "seconds", "data", "status"]
    assert row.split()[1:3] == ["quick", "83"] and row.endswith("cifar10-jpeg)  fresh")
    stale = tmp_path / "y.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), stale)
    assert tools.main(["check", str(fresh), str(stale)]) == 1
    assert "STALE: never stamped" in capsys.readouterr().out.splitlines()[2]


def test_chapter_minutes_add_up_and_name_the_chapters_over_the_cap(monkeypatch):
    from cnnlab.experiments import registry, store

    def stored(minutes):
        return types.SimpleNamespace(provenance={"wall_seconds": 60 * minutes})

    experiments = [types.SimpleNamespace(id=i, chapter=i[:2], stored=lambda m=m: stored(m)) for i, m in
                   (("03/a", 40), ("03/b", 25), ("05/deep", 89), ("07/c", 59), ("08/never_run", None))]
    monkeypatch.setattr(registry, "list_experiments", lambda: experiments)
    monkeypatch.setattr(store, "tiers_stored", lambda i: [] if i == "08/never_run" else ["long"])
    line = tools.chapter_minutes_table()
    assert "03 65 (over 60)" in line and "05 89," in line and line.endswith("07 59; 1 over the cap")
    assert "08" not in line.split("): ", 1)[1]  # a chapter without a stored run has no minutes yet


@pytest.mark.slow
def test_run_records_the_modules_data_and_time_of_a_notebook(tmp_path, monkeypatch):
    """A real kernel runs a two-cell notebook; the tracer and probe cells are gone afterwards. It imports
    every model (cnnlab.models) but runs none, so no model file is recorded."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"),
                nbformat.v4.new_code_cell('import cnnlab.data, cnnlab.models\n'
                                          'data = cnnlab.data.load("cifar10", source="standin", train_size=10, '
                                          'val_size=0, test_size=10)\nprint(len(data.train))')]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CNNLAB_PROFILE", "smoke")  # run() sets it for the kernel; restored afterwards
    tools.run([path], "smoke")
    ran = nbformat.read(path, as_version=4)
    assert len(ran.cells) == 2 and ran.cells[1].outputs[0]["text"] == "10\n"
    assert ran.cells[1].execution_count == 1
    stamp = ran.metadata["cnnlab"]
    assert stamp["profile"] == "smoke" and stamp["seconds"] > 0
    assert stamp["data"] == ["stand-in: procedural CIFAR-shaped shapes (10 classes, seed 0) -- NOT CIFAR"]
    assert {"cnnlab/data/__init__.py", "cnnlab/data/standin.py"} <= set(stamp["modules"])
    assert not any(f.startswith("cnnlab/models/") for f in stamp["modules"])  # imported, never run
    assert stamp["modules"]["cnnlab/data/standin.py"] == _digest("cnnlab/data/standin.py")
    assert tools.stale_reason(path) is None
