"""What a result depends on (issue 19): the cnnlab files whose code ran, fingerprinted so that docstrings,
comments and layout do not count."""
import shutil

import pytest
import torch

from cnnlab import provenance
from cnnlab.provenance import CodeUsage, source_digest

CODE = '''"""Module docstring."""
import math


def area(r):
    """Area of a circle."""
    return math.pi * r ** 2  # pi r squared
'''


def test_docstrings_comments_and_layout_do_not_count(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(CODE)
    before = source_digest(path)
    path.write_text(CODE.replace('"""Area of a circle."""', '"""The area."""').replace("# pi r squared", "")
                    .replace("r ** 2", "r**2").replace("\n\n\ndef", "\n\ndef"))
    assert source_digest(path) == before
    path.write_text(CODE.replace('"""Area of a circle."""\n', ""))  # a function without its docstring
    assert source_digest(path) == before
    path.write_text(CODE.replace("r ** 2", "r ** 3"))
    assert source_digest(path) != before
    assert source_digest(tmp_path / "gone.py") is None


def test_only_modules_whose_code_runs_are_recorded():
    import cnnlab.models  # imports every architecture: none of their code runs here

    with CodeUsage() as usage:
        model = cnnlab.models.create("resnet20", num_classes=10)
        model(torch.zeros(1, 3, 32, 32))
    assert "cnnlab/models/resnet.py" in usage.files and "cnnlab/layers/residual.py" in usage.files
    assert not any("densenet" in f or "googlenet" in f for f in usage.files)
    assert "cnnlab/provenance.py" not in usage.files


CODE_EXTRA = "TABLE = [x * x for x in range(3)]\n\ndef used():\n    return 1\n"


def source_digest_of(text):
    import ast
    import hashlib

    return hashlib.sha256(ast.dump(ast.parse(text), include_attributes=False).encode()).hexdigest()


def test_a_module_imported_inside_the_block_counts_only_if_its_functions_run(tmp_path, monkeypatch):
    """Module and class bodies do not count; the fingerprint is the file's when its code first ran."""
    package = tmp_path / "pkg"
    shutil.copytree(provenance.PACKAGE.parent / "cnnlab", package / "cnnlab",
                    ignore=shutil.ignore_patterns("stored", "__pycache__"))
    (package / "cnnlab" / "extra.py").write_text(CODE_EXTRA)
    (package / "cnnlab" / "idle.py").write_text("class Idle:\n    size = 3\n\n    def never(self):\n        return 0\n")
    monkeypatch.setattr(provenance, "PACKAGE", package / "cnnlab")
    monkeypatch.setattr(provenance, "ROOT", package)
    monkeypatch.syspath_prepend(str(package))
    import importlib.util

    def load(name):
        spec = importlib.util.spec_from_file_location(f"probe_{name}", package / "cnnlab" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    with CodeUsage() as usage:
        extra, _ = load("extra"), load("idle")  # module bodies, a class body, a module-level comprehension
        assert usage.files == {}
        extra.used()
        first = usage.digests()["cnnlab/extra.py"]
        (package / "cnnlab" / "extra.py").write_text("def used():\n    return 2\n")  # edited while it runs
        extra.used()
    assert set(usage.files) == {"cnnlab/extra.py"}
    assert usage.digests()["cnnlab/extra.py"] == first == source_digest_of(CODE_EXTRA)


def test_the_previous_trace_function_keeps_running():
    import sys

    calls = []

    def previous(frame, event, arg):
        calls.append(frame.f_code.co_name)

    sys.settrace(previous)
    try:
        with CodeUsage():
            def probe():
                return 1
            probe()
    finally:
        sys.settrace(None)
    assert "probe" in calls
