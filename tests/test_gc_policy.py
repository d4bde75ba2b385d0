"""The collector policy of a run: tuned while the world runs, restored after, and never a
change in what the run does."""

from __future__ import annotations

import gc
from contextlib import nullcontext

import pytest

import sim.world.world as world_module
from sim.engine.gc_policy import RUN_THRESHOLDS, run_gc_policy
from sim.sweep_exec import run_chunk
from tests.worlds import one_note, run_text, scenario_text


def test_thresholds_are_tuned_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    with run_gc_policy():
        assert gc.get_threshold() == RUN_THRESHOLDS
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), run_gc_policy():
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before


def test_the_policy_does_not_change_the_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Collecting less often must not move a single trace record."""
    tuned = run_text(one_note(20), duration="2m").trace_hash
    monkeypatch.setattr(world_module, "run_gc_policy", nullcontext)
    plain = run_text(one_note(20), duration="2m").trace_hash
    assert tuned == plain


def test_a_sweep_worker_frees_each_world_when_its_run_is_over() -> None:
    """A worker keeps the run thresholds between runs; a finished world is one cyclic graph the
    thresholds would leave for dozens of runs, so the worker frees it right after its run."""
    before = gc.get_threshold()
    gc.collect()
    gc.set_threshold(*RUN_THRESHOLDS)  # as keep_run_thresholds() sets it in a worker
    try:
        outcomes = run_chunk(scenario_text(one_note(20), duration="1m"), "t.toml", [({}, 1), ({}, 2)])
        alive = sum(1 for obj in gc.get_objects() if type(obj) is world_module.World)
    finally:
        gc.set_threshold(*before)
    assert [error for *_, error in outcomes] == [None, None]
    assert alive == 0
