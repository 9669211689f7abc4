"""Where a result came from: the cnnlab code that produced it, and the machine it ran on.

A stored run or an executed notebook goes stale when the code that made it changes. That code is not
every module that was imported (importing :mod:`cnnlab.models` imports every architecture) but the
modules whose functions *ran*: :class:`CodeUsage` records them with a trace function that looks at each
function call once and never at single lines. Each such module is fingerprinted by
:func:`source_digest`, a hash of its syntax tree without docstrings, so that an edit which cannot change
a result (a comment, a docstring, formatting) leaves the fingerprint as it was.

Known gap: a module whose constants are read but none of whose functions run is not recorded.
"""
from __future__ import annotations

import ast
import datetime
import hashlib
import inspect
import os
import platform
import sys
import threading
from pathlib import Path

__all__ = ["CodeUsage", "source_digest", "module_digests", "machine", "PACKAGE", "ROOT"]

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
_COMPREHENSIONS = {"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"}


class CodeUsage:
    """Records the cnnlab source files whose functions run while it is on (``with CodeUsage() as usage:``),
    each with its fingerprint at that moment.

    Module and class bodies (which run when a module is imported) do not count, so a module that was only
    imported is not recorded. ``start()``/``stop()`` do the same outside a ``with`` block (a notebook).
    """

    def __init__(self):
        self.files: dict[str, str | None] = {}  # file -> its fingerprint when its code first ran
        self._seen: dict = {}
        self._previous = None

    def _counts(self, code) -> bool:
        if not code.co_filename.startswith(str(PACKAGE)) or code.co_filename == __file__:
            return False  # another package, or this tracer
        if not code.co_flags & inspect.CO_OPTIMIZED:
            return False  # a module or class body: runs on import
        return not (code.co_name in _COMPREHENSIONS and "." not in code.co_qualname)  # module-level comprehension

    def _trace(self, frame, event, arg):
        code = frame.f_code
        counts = self._seen.get(code)
        if counts is None:
            counts = self._seen[code] = self._counts(code)
            if counts:
                name = Path(code.co_filename).relative_to(ROOT).as_posix()
                if name not in self.files:  # fingerprinted now: an edit during a long run must not count
                    self.files[name] = source_digest(code.co_filename)
        return self._previous(frame, event, arg) if self._previous is not None else None

    def start(self) -> "CodeUsage":
        self._previous = sys.gettrace()
        sys.settrace(self._trace)
        threading.settrace(self._trace)
        return self

    def stop(self) -> None:
        sys.settrace(self._previous)
        threading.settrace(self._previous)

    def __enter__(self) -> "CodeUsage":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def digests(self) -> dict[str, str | None]:
        """``{"cnnlab/train/loop.py": fingerprint}`` of every file recorded so far, taken when its code first
        ran, sorted by name."""
        return dict(sorted(self.files.items()))


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def source_digest(path) -> str | None:
    """sha256 of a Python file's syntax tree without docstrings (comments and layout never reach the tree);
    None when the file no longer exists."""
    path = Path(path)
    if not path.is_file():
        return None
    tree = _without_docstrings(ast.parse(path.read_text(encoding="utf-8")))
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def module_digests(files) -> dict[str, str | None]:
    """Fingerprints of repository-relative files such as ``cnnlab/train/loop.py``, sorted by name."""
    return {f: source_digest(ROOT / f) for f in sorted(files)}


def machine() -> dict:
    """The machine a run is on: device, processor, threads, versions, date (UTC)."""
    import torch

    from . import __version__
    from .session import describe_device, get_device

    device = get_device()
    return {
        "device": describe_device(device),
        "processor": _processor_name(),
        "cpu_cores": os.cpu_count(),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "cnnlab_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _processor_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
