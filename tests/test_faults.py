"""Each fault kind is schedulable from a scenario, is a trace record, and has its effect."""

from __future__ import annotations

import numpy as np
import pytest

from tests.worlds import run_text, trace_events, violations


def faults(*entries: str) -> str:
    return "".join(f"\n[[faults]]\n{e}\n" for e in entries)


def block_gaps(result: object, start: float, end: float) -> np.ndarray:
    times = np.array([b.time for b in result.records.blocks])  # type: ignore[attr-defined]
    inside = times[(times > start) & (times < end)]
    return np.diff(inside)


def test_delay_on_every_link_lengthens_blocks_then_goes_away() -> None:
    result = run_text(faults('at = "1m"\nkind = "delay"\nextra = "200ms"\nduration = "1m"'),
                      duration="3m", timeout_commit="1s")
    assert np.allclose(block_gaps(result, 62, 118), 1.15 + 3 * 0.2)
    assert np.allclose(block_gaps(result, 125, 180), 1.15)
    assert trace_events(result, "fault", kind="delay")


def test_drop_makes_gossip_retry_every_100ms() -> None:
    result = run_text(faults('at = "1m"\nkind = "drop"\nprobability = 0.5\nduration = "1m"'),
                      duration="3m", timeout_commit="1s")
    gaps = block_gaps(result, 62, 118)
    assert gaps.mean() > 1.2
    assert gaps.min() >= 1.15 - 1e-9  # a lost message only ever arrives later
    assert violations(result) == []


BUSY = """
[resolutions.note]
expiration_period = 100

[sources.script]
rate = "6/min"
type = "note"
"""


def test_duplicated_txs_reach_mempools_twice_and_are_rejected_as_duplicates() -> None:
    """A link that duplicates delivers a tx twice; the receiving mempool's CheckTx rejects the
    copy, so nothing executes twice and every invariant holds."""
    quiet = run_text(BUSY, duration="3m")
    noisy = run_text(BUSY + faults('at = "30s"\nkind = "duplicate"\nprobability = 1.0\nduration = "1m"'),
                     duration="3m")
    assert quiet.summary["gossip_duplicates_rejected"] == 0
    assert noisy.summary["gossip_duplicates_rejected"] > 5
    assert violations(noisy) == [] and noisy.summary["resolutions_passed"] > 5


def test_reorder_holds_messages_back_and_later_ones_overtake() -> None:
    """Reordering holds each message back with the given probability (up to 0.5 s), so blocks
    in the window take longer than the exact 1.15 s of a quiet network, never shorter."""
    result = run_text(BUSY + faults('at = "30s"\nkind = "reorder"\nprobability = 0.5\nduration = "1m"'),
                      duration="3m", timeout_commit="1s")
    inside, after = block_gaps(result, 32, 88), block_gaps(result, 95, 178)
    assert inside.mean() > 1.25 and inside.min() >= 1.15 - 1e-9
    assert np.allclose(after, 1.15)
    assert violations(result) == [] and result.summary["resolutions_passed"] > 5


def test_one_way_partition_blocks_only_one_direction() -> None:
    body = faults('at = "1m"\nkind = "partition"\nfrom = ["v0"]\nto = ["v1", "v2", "v3"]\nduration = "1m"')
    result = run_text(body, duration="3m", timeout_commit="1s")
    # v0 hears everyone but nobody hears v0: its rounds as proposer fail, the chain goes on
    late = [b for b in result.records.blocks if 62 < b.time < 118]
    assert late and all(b.proposer != "v0" for b in late)
    assert any(b.round > 0 for b in late)
    assert violations(result) == []


@pytest.mark.parametrize("offset", ["500ms", "5s", "-500ms", "-2s"])
def test_clock_skew_offsets_a_nodes_clock_not_consensus_timing(offset: str) -> None:
    """A constant clock offset changes what the node reads as the time, not the durations
    its timeouts measure: block times stay exactly timeout_commit + 3 latencies (a skew of
    +5 s once cut a minute to 19 blocks, and one of -timeout_commit looped forever)."""
    result = run_text(faults(f'at = "1m"\nkind = "clock_skew"\nnode = "v3"\noffset = "{offset}"'),
                      duration="2m", timeout_commit="1s")
    assert violations(result) == []
    assert trace_events(result, "fault", kind="clock_skew")
    assert np.allclose(block_gaps(result, 5, 118), 1.15)


def test_demote_with_override_sets_power_at_the_next_block() -> None:
    """simulator.md: with ``override = true`` the power is set directly at the next block,
    marked as an operator override in the trace (a demotion by remove txs is not)."""
    result = run_text(faults('at = "1m"\nkind = "demote"\nnode = "v3"\noverride = true'), duration="2m")
    update = trace_events(result, "validator.update", validator="v3")
    assert update and update[0]["power"] == 0 and 60 < update[0]["t"] < 62
    assert update[0].get("override") is True
    voted = run_text(faults('at = "1m"\nkind = "demote"\nnode = "v3"'), duration="2m")
    removal = trace_events(voted, "validator.update", validator="v3")
    assert removal and removal[0]["power"] == 0 and "override" not in removal[0]


def test_every_power_array_the_engine_plans_with_is_the_set_two_heights_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unchanged validator set reuses the height before's power array; across a demotion
    each height still plans with the powers of the set after height - 2."""
    from sim.consensus.chain import Chain

    asked: list[int] = []
    original = Chain.power_array

    def checked(self: Chain, height: int) -> tuple[np.ndarray, int]:
        array, total = original(self, height)
        expected = self.consensus_powers(height)
        assert array.tolist() == [expected.get(n, 0) for n in self.names] and total == sum(expected.values())
        asked.append(height)
        return array, total

    monkeypatch.setattr(Chain, "power_array", checked)
    result = run_text(faults('at = "1m"\nkind = "demote"\nnode = "v3"\noverride = true'), duration="2m")
    assert trace_events(result, "validator.update", validator="v3")
    assert max(asked) > 60  # heights after the demotion were planned too
