"""Proof that the property tests have teeth: with a kwil defect switched on (a known kwil defect, ``bug_compat``), the
world machine finds a violation, and the shrunk scenario file replays it exactly.

``rebroadcast-any-sender`` needs txs of one sender that overtake each other in gossip, which
the machine's narrow uniform latency never produces; its own property below draws gossip-heavy
worlds (lognormal latency, fast blocks, many events).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.testing import WorldFailure, WorldOptions, run_machine, world_machine

# switch -> (protocols, the actions that reach it, the invariant that must catch it, options)
TEETH = {
    "refund-first-expired": (("kwil-0.7", "kwil-0.8"), ("evict_vote",), "refunds-exact", {}),
    "placeholder-never-expires": (("kwil-0.7",), ("crash", "demote"), "expiry-exact", {}),
    "lost-vote-stays-broadcasted": (("kwil-0.7", "kwil-0.8"), ("evict_vote",), "votes-sent", {}),
    # a user's resolve function that fails for some events halts a 0.7.6 chain
    "resolve-error-halts": (("kwil-0.7",), (), "chain-halted", {"resolve": "sim.testing.hooks:flaky_resolve"}),
    # with expiries as short as 0.8's vote timing, some event passes in its expiry block
    "pass-at-expiry-halts": (("kwil-0.8",), (), "chain-halted", {"expirations": (2, 3)}),
}


@pytest.mark.slow
@pytest.mark.parametrize("switch", sorted(TEETH))
def test_switch_is_caught_and_the_shrunk_file_replays(switch: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    protocols, actions, invariant, options = TEETH[switch]
    monkeypatch.setenv("NODESIM_FAILURES_DIR", str(tmp_path))
    machine = world_machine(options=WorldOptions(**options), protocols=protocols, bug_compat=[switch],
                            action_kinds=actions)
    with pytest.raises(WorldFailure) as caught:
        # Few steps keep shrinking short (each attempt runs a whole world).
        run_machine(machine, max_examples=100, steps=6, derandomize=True, database=None,
                    report_multiple_bugs=False)
    failure = caught.value
    assert invariant in {v["invariant"] for v in failure.violations}
    assert failure.path is not None and failure.path.parent == tmp_path
    assert str(failure.path) in str(failure)  # the message says where the example is
    scenario = sim.load_scenario(failure.path)
    assert switch in scenario.bug_compat
    replayed = sim.run(scenario)
    assert replayed.summary["trace_hash"] == failure.trace_hash
    assert [v["invariant"] for v in replayed.summary["violations"]] == \
        [v["invariant"] for v in failure.violations]


def gossip_heavy(seed: int, bugs: list[str]) -> dict:  # type: ignore[type-arg]
    """A world where a validator's consecutive vote txs can reach others out of order."""
    return {
        "scenario": {"name": "gossip-heavy", "seed": seed, "duration": "3m", "bug_compat": bugs},
        "network": {"latency": {"dist": "lognormal", "median": "150ms", "sigma": 1.0}},
        "consensus": {"timeout_commit": "200ms"},
        "validators": {"count": 4},
        "resolutions": {"note": {"expiration_period": 100}},
        "sources": {"script": {"rate": "30/min", "type": "note"}},
    }


@pytest.mark.slow
def test_rebroadcast_any_sender_is_caught_and_replays(tmp_path: Path) -> None:
    """Property: in any gossip-heavy world, no validator's vote on an id executes twice.
    With ``rebroadcast-any-sender`` on, hypothesis must find a seed that breaks it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sim.testing.failures import run_world

    @settings(max_examples=30, deadline=None, database=None, derandomize=True)
    @given(st.integers(0, 10_000))
    def prop(seed: int) -> None:
        run_world(gossip_heavy(seed, ["rebroadcast-any-sender"]), directory=tmp_path, write=True)

    with pytest.raises(WorldFailure) as caught:
        prop()
    failure = caught.value
    assert "one-vote-per-validator" in {v["invariant"] for v in failure.violations}
    assert failure.path is not None
    replayed = sim.run(sim.load_scenario(failure.path))
    assert replayed.summary["trace_hash"] == failure.trace_hash


def test_gossip_heavy_worlds_hold_without_the_switch() -> None:
    from sim.testing.failures import run_world

    for seed in range(3):
        run_world(gossip_heavy(seed, []), write=False)
