"""Suite-wide set-up: the project's bytecode is compiled once, before any test runs.

Many tests start fresh Python processes (the CLI, replays across processes, notebook kernels,
the README's code blocks). Where ``PYTHONDONTWRITEBYTECODE`` is set, as on CI machines, no
process leaves its compiled modules behind, so each of them compiled every nodesim module
again (~0.3 s a process). Compiling once up front lets every later process load them.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sim", "node")


def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller compiled before starting it
    for package in PACKAGES:
        # A read-only checkout just keeps compiling per process: nothing to report.
        compileall.compile_dir(ROOT / package, quiet=2)
