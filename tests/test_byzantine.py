"""Byzantine validators against the oracle's security model (no-fake-resolution)."""

from __future__ import annotations

import sim
from sim.checks.resolution_checks import NoFakeResolution
from sim.results import Result
from sim.world.world import World
from tests.worlds import run_text, scenario_text, violations

BODY = """
[resolutions.note]
expiration_period = 30

[sources.script]
rate = "2/min"
type = "note"
seen_by = "all"
"""


def byzantine(nodes: list[str], kind: str) -> str:
    return "".join(f'\n[nodes.{n}]\nbyzantine = "{kind}"\n' for n in nodes)


def fake_passed(result: Result, byzantine_nodes: list[str]) -> int:
    """Resolutions of type note that passed although no honest node observed them."""
    records = result.records
    seen = {rid for node, rid, _t in records.observations if node not in byzantine_nodes}
    return sum(1 for r in records.resolutions.values()
               if r.status == "passed" and r.type == "note" and r.id not in seen)


def run_with(nodes: list[str], kind: str, count: int = 4) -> Result:
    return run_text(BODY + byzantine(nodes, kind), duration="10m", count=count)


def test_fabricators_below_the_threshold_never_pass_a_fake_event() -> None:
    result = run_with(["v3"], "fabricate")
    assert violations(result) == []
    assert fake_passed(result, ["v3"]) == 0 == result.summary["fabricated_passed"]
    assert result.summary["resolutions_passed"] > 5  # honest events still pass


def test_fabricators_at_the_threshold_pass_a_fake_event_and_the_run_says_so() -> None:
    """With byzantine power >= 2/3 the fake gets through by design: the model lets byzantine
    power act, and no-fake-resolution reports it (naming the power and the threshold) instead
    of staying silent; the summary counts it."""
    result = run_with(["v1", "v2", "v3"], "fabricate")
    assert fake_passed(result, ["v1", "v2", "v3"]) == 1  # the run stops at the report
    assert violations(result) == ["no-fake-resolution"]
    explanation = result.summary["violations"][0]["explanation"]
    assert "byzantine power 3 of 4 against 3 required (2/3)" in explanation and "by design" in explanation
    assert result.summary["fabricated_passed"] == 1


def test_silent_validators_never_vote() -> None:
    result = run_with(["v3"], "silent")
    assert all("v3" not in r.voters for r in result.records.resolutions.values() if r.status)
    assert result.summary["resolutions_passed"] > 5


def test_withholding_proposer_leaves_others_votes_out() -> None:
    result = run_with(["v0"], "withhold")
    by_v0 = {b.height for b in result.records.blocks if b.proposer == "v0"}
    voters_in_v0_blocks = {voter for _rid, voter, _p, h in result.records.votes if h in by_v0}
    assert by_v0 and voters_in_v0_blocks <= {"v0"}
    assert any(h not in by_v0 for _rid, _v, _p, h in result.records.votes)
    assert violations(result) == []


def test_the_fake_check_forgets_an_honestly_seen_id_once_it_passed() -> None:
    """no-fake-resolution remembers which ids an honest validator observed only until they
    pass (a run of many events kept every id): at the end it holds the unresolved ones only,
    and the run's verdict is unchanged."""
    scenario = sim.parse_scenario(scenario_text(BODY + byzantine(["v3"], "fabricate"), duration="10m"))
    world = World(scenario, seed=1)
    try:
        world.run()
    finally:
        world.close()
    checker = next(c for c in world.checks.checkers if isinstance(c, NoFakeResolution))
    passed = [r for r in world.records.resolutions.values() if r.status == "passed" and r.type == "note"]
    assert len(passed) > 5 and not world.violations
    assert not any(r.id in checker._honestly_seen for r in passed)
    assert len(checker._honestly_seen) <= len(world.records.resolutions) - len(passed)
