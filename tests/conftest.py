"""Suite-wide set-up: the project's bytecode is compiled once, before any test runs, and the
tests marked ``heavy`` run first.

Many tests start fresh Python processes (the CLI, replays across processes, notebook kernels,
the README's code blocks). Where ``PYTHONDONTWRITEBYTECODE`` is set, as on CI machines, no
process leaves its compiled modules behind, so each of them compiled every nodesim module
again (~0.3 s a process). Compiling once up front lets every later process load them.

The suite runs on every core (``--dist worksteal``). A worker keeps the next test or two of its
share, which no other worker can take, so a share that ended on tests of 10 s or more (the
notebooks are collected late) kept one worker busy for 10-19 s after the other had run out
of work. Starting the heavy tests first leaves short tests at the end of every share.
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # sorted() is stable: each group keeps its collection order, the same in every worker
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("heavy") is None)
