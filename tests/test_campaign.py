"""``nodesim campaign``'s worlds: what each kind of campaign draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sim
from sim.testing.campaign import _chunk
from sim.testing.options import WorldOptions


def _drawn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, liveness_within: float | None, *,
           examples: int = 3, **kinds: bool) -> list[Any]:
    """The scenarios a chunk of ``examples`` small worlds runs (each holding every invariant)."""
    seen: list[Any] = []
    real_run = sim.run

    def recording_run(scenario: Any, **kwargs: Any) -> Any:
        seen.append(scenario)
        return real_run(scenario, **kwargs)

    monkeypatch.setattr(sim, "run", recording_run)
    switches = dict.fromkeys(("evm", "pubsub", "watcher", "gas", "load"), False) | kinds
    findings = _chunk(7, examples, str(tmp_path), WorldOptions(validators=(4, 4)), liveness_within, switches)
    assert findings == [], findings
    return seen


def test_a_liveness_campaign_draws_healed_worlds_whose_events_must_resolve_in_time(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scenarios = _drawn(monkeypatch, tmp_path, 45.0)
    assert len(scenarios) == 3
    for scenario in scenarios:
        assert scenario.checks.liveness_within == 45.0
        # every fault is over, and every node back, 45 s and more before the end
        heals = [f for f in scenario.faults if f.kind == "heal"]
        assert heals, "a liveness world heals everything"
        assert scenario.duration >= heals[-1].at + 45.0
        # and nothing can expire before the end: a block takes timeout_commit at least
        blocks = scenario.duration / scenario.consensus.timeout_commit
        assert scenario.resolutions["note"].expiration_period > blocks
        assert scenario.consensus.vote_expiry > blocks


def test_a_default_campaign_draws_wide_worlds_without_a_liveness_bound(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scenarios = _drawn(monkeypatch, tmp_path, None)
    assert len(scenarios) == 3
    assert all(s.checks.liveness_within is None for s in scenarios)


LISTENER_OF = {"evm": "eth_deposits", "pubsub": "pubsub_events", "watcher": "watcher_events"}


@pytest.mark.parametrize("sources", [("evm",), ("evm", "pubsub"), ("pubsub", "watcher")])
def test_a_source_campaign_draws_worlds_with_its_sources_and_combines_with_liveness(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sources: tuple[str, ...]) -> None:
    """--evm, --pubsub and --watcher give every world their source, and every node that
    source's listener, alone or together, and with --liveness."""
    seen = _drawn(monkeypatch, tmp_path, 45.0, examples=2, **dict.fromkeys(sources, True))
    assert len(seen) == 2
    for scenario in seen:
        assert set(sources) <= set(scenario.sources) and scenario.checks.liveness_within == 45.0
        assert all({LISTENER_OF[k] for k in sources} <= set(node.extensions) for node in scenario.nodes)


def test_a_gas_and_load_campaign_draws_paying_worlds_with_users_and_combines_with_liveness(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--gas and --load switch gas on with a balance and bring users sending txs into every
    world; with --liveness the blocks keep their default size (small ones would keep votes
    out for good)."""
    options = WorldOptions()
    seen = _drawn(monkeypatch, tmp_path, 45.0, examples=2, gas=True, load=True)
    assert len(seen) == 2
    for scenario in seen:
        assert scenario.validators.gas and scenario.validators.balance in options.balances
        assert scenario.load is not None and scenario.checks.liveness_within == 45.0
        assert scenario.consensus.max_block_bytes == 6 * 2**20
