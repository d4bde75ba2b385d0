"""Plots people can read: h:mm time, both sides of a one-way partition, outages and node
faults drawn, grouped lanes at 100 validators, heavy tails on a log axis, clipped bands."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim import timeline
from sim.plots import plot_latency, plot_sweep, plot_timeline, value_range

# every test shares a fixture of seconds: the module runs whole, among the first (conftest.py)
pytestmark = pytest.mark.heavy

SCRIPT = """
[scenario]
name = "lanes"
duration = "{duration}"
[consensus]
timeout_commit = "{timeout_commit}"
[validators]
count = {count}
[resolutions.note]
[sources.script]
rate = "2/min"
type = "note"
"""


@pytest.fixture(scope="module")
def hundred() -> Any:
    # long enough for an hour tick; slow blocks keep a 100-validator run short to compute
    scenario = sim.parse_scenario(SCRIPT.format(duration="80m", count=100, timeout_commit="10s"))
    scenario = sim.with_faults(scenario, {"at": "10m", "kind": "crash", "node": "v5"},
                               {"at": "20m", "kind": "restart", "node": "v5"},
                               {"at": "30m", "kind": "demote", "node": "v9", "override": True},
                               {"at": "40m", "kind": "partition", "from": ["v1"], "to": ["v2", "v3"],
                                "duration": "5m"})
    return sim.run(scenario)


def test_a_100_validator_timeline_groups_alike_nodes_into_few_lanes(hundred: Any) -> None:
    ax = plot_timeline(hundred)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "chain"
    assert {"v5", "v9", "v1"} <= set(labels)  # the nodes something happened to keep their own lane
    assert any(label.endswith("alike") for label in labels)
    assert len(labels) <= 12
    assert ax.figure.get_size_inches()[1] < 7  # inches: a screen, not a 4,600-pixel column


def test_time_axis_reads_h_mm(hundred: Any) -> None:
    ax = plot_timeline(hundred)
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ax.get_xlabel() == "virtual time (h:mm)"
    assert "1:00" in ticks and all(":" in t for t in ticks)


def test_both_sides_of_a_one_way_partition_are_spans(hundred: Any) -> None:
    sending, receiving = timeline.one_way_sides(hundred)
    assert sending["v1"] == [(2400.0, 2700.0)] and sending["v2"] == []
    assert receiving["v2"] == receiving["v3"] == [(2400.0, 2700.0)] and receiving["v1"] == []
    parted = timeline.partition_spans(hundred)
    assert parted["v1"] == parted["v2"] == [(2400.0, 2700.0)]


def test_node_faults_and_outages_are_drawn() -> None:
    text = SCRIPT.format(duration="30m", count=4, timeout_commit="1s").replace("[resolutions.note]", "")
    text = text.replace('[sources.script]\nrate = "2/min"\ntype = "note"\n', "")
    text += ('[app.extensions.pubsub_events]\nevent_name = "price"\n[sources.pubsub]\n'
             '[[faults]]\nat = "5m"\nkind = "hub_outage"\nduration = "5m"\n'
             '[[faults]]\nat = "12m"\nkind = "leave"\nnode = "v3"\n')
    result = sim.run(sim.parse_scenario(text))
    assert timeline.outage_spans(result)["chain"] == [(300.0, 600.0)]
    assert (720.0, "v3", "leave") in timeline.fault_marks(result)
    ax = plot_timeline(result)
    assert "leave" in [t.get_text() for t in ax.texts]


class _Latencies:
    """Just enough of a Result for plot_latency."""

    def __init__(self, values: list[float]) -> None:
        self._table = pd.DataFrame({"type": ["note"] * len(values), "latency": values})

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"resolutions": self._table}


def test_a_heavy_tail_gets_a_log_axis_and_a_light_one_does_not() -> None:
    heavy = [1.0] * 90 + [float(x) for x in np.geomspace(50, 5000, 10)]
    ax = plot_latency(_Latencies(heavy))
    assert ax.get_xscale() == "log"
    assert sum(p.get_height() for p in ax.patches) == len(heavy)  # type: ignore[attr-defined]
    assert plot_latency(_Latencies([1.0, 1.5, 2.0, 2.5] * 10)).get_xscale() == "linear"


def test_sweep_bands_are_clipped_to_what_the_metric_can_take() -> None:
    table = pd.DataFrame({"x": [1, 1, 1, 2, 2, 2], "seed": [0, 1, 2, 0, 1, 2],
                          "latency": [0.1, 0.1, 9.0, 0.2, 0.2, 8.0], "ok": [1, 0, 0, 1, 1, 0]})
    assert value_range(table["latency"]) == (0.0, None)
    assert value_range(table["ok"]) == (0.0, 1.0)
    assert value_range(pd.Series([-1.0, 2.0])) == (None, None)
    for metric, low, high in (("latency", 0.0, np.inf), ("ok", 0.0, 1.0)):
        ax = plot_sweep(table, metric, "x")
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        assert band.min() >= low and band.max() <= high
