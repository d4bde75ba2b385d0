"""The nodesim command: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def nodesim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True,
                          cwd=cwd, check=False)


@pytest.mark.heavy
def test_run_writes_the_four_files_and_replays_to_the_same_hash(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = nodesim("run", "scenarios/quickstart.toml", "--seed", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv", "records", "scenario.toml", "summary.json",
                                                     "trace.jsonl"]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("seed", "trace_hash", "virtual_seconds", "wall_seconds", "blocks", "block_time_p50",
                "block_time_p99", "rounds_above_zero", "violations", "events_observed",
                "resolutions_passed", "resolutions_expired", "resolution_latency_p50",
                "resolution_latency_p99"):
        assert key in summary
    assert summary["seed"] == 3 and "seed = 3" in (out / "scenario.toml").read_text()
    replay = nodesim("replay", str(out), "--json")
    assert replay.returncode == 0
    assert json.loads(replay.stdout)["trace_hash"] == summary["trace_hash"]


@pytest.mark.heavy
def test_check_determinism_passes(tmp_path: Path) -> None:
    proc = nodesim("run", "scenarios/watcher-jobs.toml", "--check-determinism", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "determinism check passed" in proc.stdout


def test_bad_file_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nduration = "1m"\n\n[validators]\ncount = "four"\n')
    out = tmp_path / "out"
    proc = nodesim("run", str(bad), "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert 'validators.count: expected an integer >= 1, got "four"' in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_check_command(tmp_path: Path) -> None:
    assert nodesim("check", "scenarios/eth-churn.toml").returncode == 0
    missing = nodesim("check", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_a_violation_exits_1(tmp_path: Path) -> None:
    scenario = tmp_path / "bug.toml"
    scenario.write_text("""
[scenario]
name = "bug"
duration = "5m"
bug_compat = ["refund-first-expired"]

[network]
latency = { dist = "fixed", value = "50ms" }

[consensus]
timeout_commit = "1s"

[validators]
count = 4

[resolutions.note]
expiration_period = 5

[sources.script]

[[sources.script.events]]
at = "10s"
type = "note"
data = "only-v3"
seen_by = ["v3"]
""")
    proc = nodesim("run", str(scenario), "--out", str(tmp_path / "o"), "--json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["violations"][0]["invariant"] == "refunds-exact"
