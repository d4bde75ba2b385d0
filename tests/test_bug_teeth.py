"""Proof that the property tests have teeth: with a kwil defect switched on (a known kwil defect, ``bug_compat``), the
world machine finds a violation, and the shrunk scenario file replays it exactly.

``rebroadcast-any-sender`` needs txs of one sender that overtake each other in gossip, which
the machine's narrow uniform latency never produces; its own property below draws gossip-heavy
worlds (lognormal latency, fast blocks, many events). ``broadcast-error-panics`` needs a vote
CometBFT's mempool refuses, which the machine's worlds (default blocks, no users) never send;
its property draws worlds of blocks too small for a burst's vote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import sim
from sim.cli_args import recorded_hash
from sim.testing import WorldFailure, WorldOptions, run_machine, world_machine
from sim.testing.machine import SHRINKING_PHASES

# Small worlds keep shrinking short (each attempt runs a whole world); the wide worlds are the
# property tests' job.
SMALL = WorldOptions(validators=(3, 5), timeout_commits=(1.0,), rebroadcast_after=(2, 8), expirations=(10, 25))

# switch -> (protocols, the actions that reach it, the invariant that must catch it, options)
TEETH = {
    "refund-first-expired": (("kwil-0.7", "kwil-0.8"), ("evict_vote",), "refunds-exact", {}),
    # a placeholder outlives its expiry only while no validator that saw the event proposes:
    # wide power ranges (1 to 8) give rarely-proposing observers (found in ~40 examples, not ~500)
    "placeholder-never-expires": (("kwil-0.7",), ("crash", "demote"), "expiry-exact",
                                  {"expirations": (8, 12), "validators": (6, 9), "powers": (1, 8)}),
    "lost-vote-stays-broadcasted": (("kwil-0.7", "kwil-0.8"), ("evict_vote",), "votes-sent", {}),
    # a user's resolve function that fails for some events halts a 0.7.6 chain
    "resolve-error-halts": (("kwil-0.7",), (), "chain-halted", {"resolve": "sim.testing.hooks:flaky_resolve"}),
    # with expiries as short as 0.8's vote timing, some event passes in its expiry block
    "pass-at-expiry-halts": (("kwil-0.8",), (), "chain-halted", {"expirations": (2, 3)}),
}


# Examples a search may take; the rarer defects need more (each example is one small world).
SEARCH_EXAMPLES = {"placeholder-never-expires": 1000}

PINNED = Path(__file__).resolve().parent / "data" / "teeth"


def search(switch: str) -> WorldFailure:
    """Let the machine find (and shrink) a world the switch breaks; the failure it raises."""
    protocols, actions, _invariant, options = TEETH[switch]
    machine = world_machine(options=attrs.evolve(SMALL, **options), protocols=protocols, bug_compat=[switch],
                            action_kinds=actions)
    try:
        # Few steps keep shrinking short (each attempt runs a whole world).
        run_machine(machine, max_examples=SEARCH_EXAMPLES.get(switch, 300), steps=6, derandomize=True, database=None,
                    report_multiple_bugs=False)
    except WorldFailure as failure:
        return failure
    raise AssertionError(f"the machine found no world that {switch} breaks")


# The search runs in a fresh interpreter, so that nothing a suite's worker ran before can
# change what it finds. Hypothesis draws constants from the local modules a process has
# imported, which made a worker that had run the report tests miss placeholder-never-expires;
# sim.testing.local_modules now makes that set the same in every process, and the fresh
# interpreter guards against any other such state.
_SEARCH = """
import json, sys
from tests.test_bug_teeth import search
failure = search(sys.argv[1])
print(json.dumps({"violations": list(failure.violations), "trace_hash": failure.trace_hash,
                  "path": None if failure.path is None else str(failure.path), "message": str(failure)}))
"""


def search_in_a_fresh_process(switch: str) -> dict[str, Any]:
    """``search(switch)`` in a new interpreter: the failure's violations, trace hash, file, message."""
    proc = subprocess.run([sys.executable, "-c", _SEARCH, switch], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.slow
@pytest.mark.parametrize("switch", sorted(TEETH))
def test_switch_is_caught_and_the_shrunk_file_replays(switch: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    invariant = TEETH[switch][2]
    monkeypatch.setenv("NODESIM_FAILURES_DIR", str(tmp_path))
    failure = search_in_a_fresh_process(switch)
    assert invariant in {v["invariant"] for v in failure["violations"]}
    path = Path(failure["path"])
    assert path.parent == tmp_path
    assert str(path) in failure["message"]  # the message says where the example is
    scenario = sim.load_scenario(path)
    assert switch in scenario.bug_compat
    replayed = sim.run(scenario)
    assert replayed.summary["trace_hash"] == failure["trace_hash"]
    assert [v["invariant"] for v in replayed.summary["violations"]] == \
        [v["invariant"] for v in failure["violations"]]


@pytest.mark.parametrize("switch", sorted(TEETH))
def test_the_pinned_example_is_caught_and_clean_without_its_switch(switch: str) -> None:
    """The world the search found for each switch (kept in tests/data/teeth/, rewritten by
    ``python -m tests.test_bug_teeth``) breaks its invariant with the switch on and holds
    every invariant with it off: the defect, not the world, is what the checkers catch. It
    replays to the trace hash the file records (else ``nodesim replay`` of it says DIFFERS:
    a change of the trace must pin the examples again)."""
    path = PINNED / f"{switch}.toml"
    scenario = sim.load_scenario(path)
    assert switch in scenario.bug_compat
    caught = sim.run(scenario)
    assert caught.summary["trace_hash"] == recorded_hash(path)
    assert TEETH[switch][2] in {v["invariant"] for v in caught.summary["violations"]}
    fixed = sim.run(attrs.evolve(scenario, bug_compat=tuple(b for b in scenario.bug_compat if b != switch)))
    assert fixed.summary["violations"] == []


def pin_examples() -> None:
    """Search every switch again and keep the shrunk worlds as the pinned examples."""
    import os
    import shutil
    import tempfile

    PINNED.mkdir(parents=True, exist_ok=True)
    for switch in sorted(TEETH):
        with tempfile.TemporaryDirectory() as directory:
            os.environ["NODESIM_FAILURES_DIR"] = directory
            failure = search(switch)
            assert failure.path is not None
            target = PINNED / f"{switch}.toml"
            shutil.copyfile(failure.path, target)
            text = target.read_text().replace(str(failure.path), f"tests/data/teeth/{switch}.toml")
            target.write_text(text)
            print(f"{switch}: {', '.join(v['invariant'] for v in failure.violations)}")


def gossip_heavy(seed: int, bugs: list[str]) -> dict[str, Any]:
    """A world where a validator's consecutive vote txs can reach others out of order."""
    return {
        "scenario": {"name": "gossip-heavy", "seed": seed, "duration": "3m", "bug_compat": bugs},
        "network": {"latency": {"dist": "lognormal", "median": "150ms", "sigma": 1.0}},
        "consensus": {"timeout_commit": "200ms"},
        "validators": {"count": 4},
        "resolutions": {"note": {"expiration_period": 100}},
        "sources": {"script": {"rate": "30/min", "type": "note"}},
    }


def caught_over_seeds(world: Callable[[int, list[str]], dict[str, Any]], switch: str, examples: int,
                      directory: Path) -> WorldFailure:
    """The failure hypothesis finds (and shrinks) over the seeds of ``world`` with ``switch``
    on; its file replays to the same trace."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sim.testing.failures import run_world

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, phases=SHRINKING_PHASES)
    @given(st.integers(0, 10_000))
    def prop(seed: int) -> None:
        run_world(world(seed, [switch]), directory=directory, write=True)

    with pytest.raises(WorldFailure) as caught:
        prop()
    failure = caught.value
    assert failure.path is not None
    replayed = sim.run(sim.load_scenario(failure.path))
    assert replayed.summary["trace_hash"] == failure.trace_hash
    return failure


@pytest.mark.slow
def test_rebroadcast_any_sender_is_caught_and_replays(tmp_path: Path) -> None:
    """Property: in any gossip-heavy world, no validator's vote on an id executes twice.
    With ``rebroadcast-any-sender`` on, hypothesis must find a seed that breaks it."""
    failure = caught_over_seeds(gossip_heavy, "rebroadcast-any-sender", 30, tmp_path)
    assert "one-vote-per-validator" in {v["invariant"] for v in failure.violations}


def test_gossip_heavy_worlds_hold_without_the_switch() -> None:
    from sim.testing.failures import run_world

    for seed in range(3):
        run_world(gossip_heavy(seed, []), write=False)


def small_blocks(seed: int, bugs: list[str]) -> dict[str, Any]:
    """A world whose blocks hold a burst's 12 vote bodies but not a vote on all 12 ids."""
    return {
        "scenario": {"name": "small-blocks", "seed": seed, "duration": "1m", "bug_compat": bugs},
        "consensus": {"timeout_commit": "1s", "max_block_bytes": 350},
        "validators": {"count": 4},
        "resolutions": {"note": {"expiration_period": 100}},
        "sources": {"script": {"type": "note", "events": [
            {"at": "10s", "type": "note", "data": f"e{i}"} for i in range(12)]}},
    }


def test_broadcast_error_panics_is_caught_and_replays(tmp_path: Path) -> None:
    """Property: in any small-block world, no node's software fails (no-node-panic). With
    ``broadcast-error-panics`` on, hypothesis must find a world that breaks it, and its file
    replays to the same trace."""
    failure = caught_over_seeds(small_blocks, "broadcast-error-panics", 10, tmp_path)
    assert {v["invariant"] for v in failure.violations} == {"no-node-panic"}


def test_small_block_worlds_hold_without_the_switch() -> None:
    from sim.testing.failures import run_world

    for seed in range(3):
        run_world(small_blocks(seed, []), write=False)


if __name__ == "__main__":
    pin_examples()
