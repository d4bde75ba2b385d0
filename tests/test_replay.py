"""A failing example, written as a scenario file, replays with the identical trace hash in a
fresh process (``nodesim replay``), and lands where ``NODESIM_FAILURES_DIR`` says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sim.testing import WorldConfig, WorldFailure, WorldPlan, run_machine, run_world, world_machine
from sim.testing.failures import DEFAULT_FAILURES_DIR, failures_dir


def _replay_in_fresh_process(path: Path, out: Path) -> tuple[int, dict[str, Any]]:
    env = dict(os.environ, PYTHONHASHSEED="4242")
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "replay", str(path), "--json", "--out", str(out)],
                          env=env, capture_output=True, text=True, check=False)
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.slow
def test_shrunk_failure_replays_with_identical_trace_hash(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODESIM_FAILURES_DIR", str(tmp_path / "failures"))
    machine = world_machine(protocols=["kwil-0.8"], bug_compat=["refund-first-expired"],
                            action_kinds=("evict_vote",))
    with pytest.raises(WorldFailure) as caught:
        run_machine(machine, max_examples=100, steps=6, derandomize=True, database=None,
                    report_multiple_bugs=False)
    failure = caught.value
    assert failure.path is not None and failure.path.exists()
    status, summary = _replay_in_fresh_process(failure.path, tmp_path / "replay")
    assert status == 1
    assert summary["trace_hash"] == failure.trace_hash
    assert [v["invariant"] for v in summary["violations"]] == [v["invariant"] for v in failure.violations]


def _refunded_expiry_plan() -> WorldPlan:
    """An event seen by one node of four expires; refund-first-expired refunds it anyway."""
    plan = WorldPlan(WorldConfig(seed=3, protocol="kwil-0.7", bug_compat=("refund-first-expired",),
                                 expiration_period=10, rebroadcast_after=12), tail=60.0)
    plan.advance(5.0)
    plan.emit(["v1"])
    return plan


def test_a_plain_failure_is_written_to_the_configured_folder(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODESIM_FAILURES_DIR", str(tmp_path))
    assert failures_dir() == tmp_path
    with pytest.raises(WorldFailure) as caught:
        run_world(_refunded_expiry_plan().to_dict())
    failure = caught.value
    assert failure.path is not None and failure.path.parent == tmp_path
    assert failure.violations[0]["invariant"] == "refunds-exact"
    text = failure.path.read_text()
    assert f"nodesim replay {failure.path}" in text and failure.trace_hash in text
    assert f"replay: nodesim replay {failure.path}" in str(failure)


def test_default_failures_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NODESIM_FAILURES_DIR", raising=False)
    assert failures_dir() == DEFAULT_FAILURES_DIR == Path(".hypothesis") / "nodesim-failures"


def test_a_failure_not_kept_names_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODESIM_FAILURES_DIR", str(tmp_path))
    with pytest.raises(WorldFailure) as caught:
        run_world(_refunded_expiry_plan().to_dict(), write=False)
    assert caught.value.path is None
    assert list(tmp_path.iterdir()) == []
