"""Result.frames() agrees with summary.json, and the plots draw what the records say."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim import timeline
from sim.plots import mean_ci, plot_latency, plot_sweep, plot_timeline, sweep_summary

ROOT = Path(__file__).resolve().parent.parent
CHANGE_TYPES = ("validator_join", "validator_remove")

FAULTY = """
[scenario]
name = "faulty"
duration = "20m"
[network]
latency = { dist = "fixed", value = "50ms" }
[consensus]
timeout_commit = "2s"
[validators]
count = 5
[resolutions.note]
expiration_period = 100
[sources.script]
rate = "4/min"
type = "note"
[[faults]]
at = "2m"
kind = "crash"
node = "v3"
[[faults]]
at = "4m"
kind = "restart"
node = "v3"
[[faults]]
at = "6m"
kind = "partition"
groups = [["v0", "v1"], ["v2", "v3", "v4"]]
duration = "1m"
[[faults]]
at = "8m"
kind = "leave"
node = "v4"
[[faults]]
at = "12m"
kind = "join"
node = "v4"
"""


@pytest.fixture(scope="module")
def quick() -> Any:
    return sim.run(sim.load_scenario(ROOT / "scenarios" / "quickstart.toml"), seed=7)


@pytest.fixture(scope="module")
def faulty() -> Any:
    return sim.run(sim.parse_scenario(FAULTY, file="faulty.toml"), seed=3)


def _percentile(values: Any, q: float) -> float | None:
    array = np.asarray(values, dtype=float)
    return None if array.size == 0 else round(float(np.percentile(array, q)), 9)


def test_frames_agree_with_the_summary(quick: Any) -> None:
    frames = quick.frames()
    summary = quick.summary
    assert sorted(frames) == ["blocks", "events", "faults", "resolutions", "validators", "votes"]
    assert len(frames["blocks"]) == summary["blocks"]
    assert frames["blocks"]["height"].tolist() == list(range(1, summary["blocks"] + 1))
    table = frames["resolutions"]
    user = table[~table["type"].isin(CHANGE_TYPES)]
    assert (user["status"] == "passed").sum() == summary["resolutions_passed"]
    assert (user["status"] == "expired").sum() == summary["resolutions_expired"]
    assert int(user["refunded"].sum()) == summary["resolutions_refunded"]
    assert table["first_seen"].notna().sum() == summary["events_observed"]
    latency = user["latency"].dropna()
    assert _percentile(latency, 50) == summary["resolution_latency_p50"]
    assert _percentile(latency, 99) == summary["resolution_latency_p99"]
    decided = user[user["status"].notna()]
    assert round(float(decided["votes"].mean()), 9) == summary["votes_per_resolution_mean"]


def test_votes_and_events_line_up_with_records(quick: Any) -> None:
    frames = quick.frames()
    votes, events, blocks = frames["votes"], frames["events"], frames["blocks"]
    assert len(votes) == len(quick.records.votes)
    block_time = dict(zip(blocks["height"], blocks["time"], strict=True))
    assert all(votes["time"] == votes["height"].map(block_time))
    pairs = {(node, rid) for node, rid, _t in quick.records.observations}
    assert len(events) == len(pairs)
    assert events["stores"].sum() == len(quick.records.observations)
    # Every step of an event happens no earlier than the one before it.
    voted = events.dropna(subset=["received_time"])
    assert len(voted) > 0
    assert (voted["received_time"] >= voted["stored_time"]).all()
    resolved = events.dropna(subset=["deleted_time"])
    assert (resolved["deleted_time"] >= resolved["stored_time"]).all()
    assert set(resolved["resolved"]) <= {"passed", "expired"}


def test_faults_and_validator_intervals(faulty: Any) -> None:
    frames = faulty.frames()
    faults = frames["faults"]
    assert faults["kind"].tolist() == ["crash", "restart", "partition", "leave", "join"]
    partition = faults[faults["kind"] == "partition"].iloc[0]
    assert partition["until"] == 420.0
    assert math.isnan(faults[faults["kind"] == "crash"].iloc[0]["until"])
    validators = frames["validators"]
    v4 = validators[validators["node"] == "v4"]
    assert len(v4) == 2  # left at ~8m, back at ~12m
    first, second = v4.iloc[0], v4.iloc[1]
    assert first["from"] == 0.0 and 480.0 < first["to"] < 540.0
    assert 720.0 < second["from"] < 780.0 and second["to"] == faulty.summary["virtual_seconds"]
    assert pd.isna(second["to_height"])
    changes = faulty.records.validator_changes
    assert [first["to"], second["from"]] == [changes[0][0], changes[1][0]]


def test_timeline_spans(faulty: Any) -> None:
    down = timeline.down_spans(faulty)
    assert down["v3"] == [(120.0, 240.0)] and down["v0"] == []
    parted = timeline.partition_spans(faulty)
    assert all(parted[n] == [(360.0, 420.0)] for n in ("v0", "v1", "v2", "v3", "v4"))
    runs = timeline.listener_runs(faulty)
    assert runs["v3"][0] == (0.0, 120.0)  # cancelled by the crash
    assert runs["v3"][1][0] >= 240.0  # restarted only after the restart (once synced)
    assert len(runs["v4"]) == 2
    end = faulty.summary["virtual_seconds"]
    assert runs["v0"] == [(0.0, end)]


def test_plots_draw_on_agg(quick: Any, faulty: Any) -> None:
    ax = plot_timeline(faulty)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["chain", "v0", "v1", "v2", "v3", "v4"]
    assert ax.figure.canvas.get_default_filetype() == "png"
    ax.figure.canvas.draw()
    ax = plot_latency(quick)
    patches = [p.get_height() for p in ax.patches]  # type: ignore[attr-defined]
    assert sum(patches) == quick.summary["resolutions_passed"]


def test_mean_ci_uses_student_t() -> None:
    mean, half, n = mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert (mean, n) == (2.0, 3)
    assert half == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    assert mean_ci([])[2] == 0


def test_plot_sweep_band_over_seeds() -> None:
    table = pd.DataFrame({
        "consensus.timeout_commit": ["1s", "1s", "6s", "6s", "250ms", "250ms"],
        "validators.count": [4, 7, 4, 7, 4, 7],
        "seed": [0, 1, 0, 1, 0, 1],
        "latency": [2.0, 4.0, 10.0, 12.0, 1.0, 1.0],
    })
    summary = sweep_summary(table, "latency", "consensus.timeout_commit")
    assert summary.set_index("consensus.timeout_commit")["mean"].to_dict() == {"1s": 3.0, "6s": 11.0,
                                                                            "250ms": 1.0}
    ax = plot_sweep(table, "latency", "consensus.timeout_commit")
    xs, ys = (np.asarray(a, dtype=float).tolist() for a in ax.lines[0].get_data())
    assert xs == [0.25, 1.0, 6.0] and ys == [1.0, 3.0, 11.0]  # durations at their seconds
    assert len(ax.collections) == 1  # the confidence band
    ax = plot_sweep(table, "latency", "validators.count", hue="consensus.timeout_commit")
    assert len(ax.lines) == 3
    with pytest.raises(sim.NodesimError, match="no column 'nope'"):
        plot_sweep(table, "nope", "validators.count")
