"""The allocator policy of large worlds: taken where glibc's allocator runs, only for worlds
of ``LARGE_WORLD`` nodes or more."""

from __future__ import annotations

import platform

import pytest

import sim
import sim.world.world as world_module
from sim.engine.malloc_policy import LARGE_WORLD, keep_freed_memory
from sim.scenario import parse_scenario


def test_the_allocator_takes_the_settings_where_it_is_glibcs() -> None:
    assert keep_freed_memory() == (platform.libc_ver()[0] == "glibc")
    assert keep_freed_memory() == keep_freed_memory()  # once per process


@pytest.mark.parametrize("nodes", [LARGE_WORLD - 1, LARGE_WORLD])
def test_only_a_large_world_asks_for_it(monkeypatch: pytest.MonkeyPatch, nodes: int) -> None:
    """A world of fewer nodes leaves its process's allocator as it is (a property test or a
    notebook of small worlds); from ``LARGE_WORLD`` nodes on, the run keeps freed memory."""
    asked: list[bool] = []
    monkeypatch.setattr(world_module, "keep_freed_memory", lambda: asked.append(True) or True)
    text = f'[scenario]\nname = "big"\nduration = "2s"\n[validators]\ncount = {nodes}\n'
    result = sim.run(parse_scenario(text, allow_large=True))
    assert result.ok
    assert asked == ([True] if nodes >= LARGE_WORLD else [])
