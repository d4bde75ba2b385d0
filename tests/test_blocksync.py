"""Block sync's record of every node's committed height (``BlockSync.node_committed``) must
answer what asking every node would: the best height among reachable peers, and whether one
of them has a block."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import sim
from sim.consensus.blocksync import BlockSync
from sim.scenario_model import Scenario
from sim.testing import scenarios
from tests.test_worlds_under_faults import fault
from tests.worlds import scenario_text


def _asked_best(sync: BlockSync, i: int) -> int | None:
    """The answer from every node's own height (the way block sync asked before)."""
    heights = [sync._nodes[j].height for j in sync._network.both_ways(i).tolist() if sync._nodes[j].online]
    return max(heights, default=None)


def _asked_has(sync: BlockSync, i: int, height: int) -> bool:
    return any(sync._nodes[j].online and sync._nodes[j].height >= height
               for j in sync._network.both_ways(i).tolist())


@pytest.fixture
def cross_checked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every question block sync answers during the test is asked of the nodes too; returns
    how many were compared."""
    asked = [0]
    best, has = BlockSync.best_peer_height, BlockSync.peer_has

    def checked_best(self: BlockSync, i: int) -> Any:
        asked[0] += 1
        answer = best(self, i)
        assert answer == _asked_best(self, i), f"best peer height of node {i}"
        return answer

    def checked_has(self: BlockSync, i: int, height: int) -> bool:
        asked[0] += 1
        answer = has(self, i, height)
        assert answer == _asked_has(self, i, height), f"whether a peer of node {i} has {height}"
        return answer

    monkeypatch.setattr(BlockSync, "best_peer_height", checked_best)
    monkeypatch.setattr(BlockSync, "peer_has", checked_has)
    return asked


def test_kept_heights_answer_as_the_nodes_do_through_partitions_and_crashes(cross_checked: list[int]) -> None:
    """Seven validators: two cut off for 20 s, one crashed and restarted, one restarted at the
    instant another commits; every answer matches the nodes' own heights."""
    faults = (fault("5s", "partition", groups=[["v5", "v6"], ["v0", "v1", "v2", "v3", "v4"]], duration="20s")
              + fault("8s", "crash", "v1") + fault("14s", "restart", "v1")
              + fault("30s", "crash", "v4") + fault("31s", "restart", "v4"))
    result = sim.run(sim.parse_scenario(scenario_text(faults, duration="60s", count=7), file="t.toml"))
    assert result.summary["blocks"] > 20
    assert cross_checked[0] > 10


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@pytest.mark.heavy
@given(scenario=scenarios())
def test_kept_heights_answer_as_the_nodes_do_in_wide_worlds(scenario: Scenario, cross_checked: list[int]) -> None:
    """Invariant: in any generated world (every fault kind, joins, leaves, byzantine nodes),
    the best committed height among the peers a node reaches, and whether one of them has a
    given block, are the same from block sync's kept heights as from asking each node."""
    sim.run(scenario)
