"""The public surface: exports, code-level faults, user listeners, gas."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from node.listeners import ListenerNameError, ListenerRegistry
from tests.worlds import scenario_text, trace_events


def test_every_public_name_is_exported_once() -> None:
    """``sim.__all__`` lists each public name once, and every public class or function the
    package offers is in it (submodules are not names of the API)."""
    import types

    assert len(sim.__all__) == len(set(sim.__all__))
    offered = {name for name in dir(sim) if not name.startswith("_")
               and not isinstance(getattr(sim, name), types.ModuleType)}
    assert offered == set(sim.__all__)
    namespace: dict[str, object] = {}
    exec(f"from sim import {', '.join(sim.__all__)}", namespace)  # each one imports by name
    assert all(namespace[name] is getattr(sim, name) for name in sim.__all__)


def test_with_faults_injects_from_code_and_validates() -> None:
    scenario = sim.parse_scenario(scenario_text(duration="3m"))
    crashed = sim.with_faults(scenario, {"at": "1m", "kind": "crash", "node": "v1"})
    result = sim.run(crashed)
    assert trace_events(result, "fault", kind="crash")
    with pytest.raises(sim.ScenarioError, match=r"faults\[0\]\.node"):
        sim.with_faults(scenario, {"at": "1m", "kind": "crash", "node": "v9"})


def test_listener_names_follow_kwils_rules() -> None:
    registry = ListenerRegistry()
    with pytest.raises(ListenerNameError, match="must not contain spaces"):
        registry.register("my listener", lambda s, e: None)  # type: ignore[arg-type,return-value]
    registry.register("Mine", lambda s, e: None)  # type: ignore[arg-type,return-value]
    assert "mine" in registry
    with pytest.raises(ListenerNameError, match="already registered"):
        registry.register("MINE", lambda s, e: None)  # type: ignore[arg-type,return-value]


def test_user_listener_keeps_its_kv_across_demotion_and_promotion() -> None:
    body = """
[app.listeners]
counting = "tests.listeners_for_tests:counting"

[[faults]]
at = "1m"
kind = "demote"
node = "v3"

[[faults]]
at = "2m"
kind = "promote"
node = "v3"
"""
    result = sim.run(sim.parse_scenario(scenario_text(body, duration="4m")))
    starts = [r["starts"] for r in trace_events(result, "counting.start", node="v3")]
    assert starts == [1, 2]


def test_gas_charges_vote_fees_and_refunds_on_pass() -> None:
    body = """
[resolutions.note]
expiration_period = 50

[sources.script]

[[sources.script.events]]
at = "10s"
type = "note"
data = "x"
seen_by = ["v0", "v1", "v2", "v3"]
"""
    """With gas on, each vote-ids tx costs 16,000 per id and the body 1,000 per byte; when the
    resolution passes every voter but the body proposer gets 16,000 back and the proposer
    its body fee, so all balances are whole again (with gas off nobody has a balance)."""
    from sim.world.world import World

    text = scenario_text(body, duration="1m").replace("power = 1\n", "power = 1\ngas = true\nbalance = 100000\n")
    world = World(sim.parse_scenario(text), seed=1)
    try:
        world.run()
    finally:
        world.close()
    assert not world.violations
    passed = next(r for r in world.records.resolutions.values() if r.status == "passed")
    assert passed.height is not None
    voted = {h for _rid, _voter, _power, h in world.records.votes}
    charged = world.chain.state_after(min(voted))
    assert any(charged.balance_of(n) < 100_000 for n in ("v0", "v1", "v2", "v3"))
    final = world.chain.state_after(world.chain.height)
    assert {n: final.balance_of(n) for n in ("v0", "v1", "v2", "v3")} == dict.fromkeys(
        ("v0", "v1", "v2", "v3"), 100_000)


def test_importing_sim_leaves_the_test_libraries_unloaded() -> None:
    """Fault kinds draw their keys with hypothesis only in property tests; a run, a sweep
    worker or the CLI must not pay for importing it (or pandas, needed only by frames), nor
    for pytest (which trio.testing imports wherever it is installed)."""
    import subprocess
    import sys

    code = ("import sys, sim, sim.cli\n"
            "sim.run(sim.load_scenario('scenarios/quickstart.toml', overrides={'scenario.duration': '1m'}))\n"
            "print(sorted(m for m in ('hypothesis', 'pandas', 'pytest') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert out.strip() == "[]"
