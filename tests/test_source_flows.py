"""The watcher and pub/sub sources driving validators through whole scenarios."""

from __future__ import annotations

import sim
from tests.worlds import trace_events


def test_watcher_jobs_every_matching_event_resolves_and_the_crashed_node_resumes() -> None:
    result = sim.run(sim.load_scenario("scenarios/watcher-jobs.toml"))
    s = result.summary
    assert s["violations"] == []
    assert s["events_observed"] > 50
    assert s["resolutions_passed"] == s["events_observed"]
    starts = trace_events(result, "watcher_events.start", node="v2")
    assert len(starts) == 2 and starts[1]["start"].startswith("after(")  # resumed after its checkpoint
    handled = [r["seq"] for r in trace_events(result, "watcher_events.handled", node="v2")]
    assert handled == sorted(handled) or len(set(handled)) < len(handled)  # replays only repeat


def test_pubsub_retries_validators_down_for_hours_still_resolve_everything() -> None:
    result = sim.run(sim.load_scenario("scenarios/pubsub-retries.toml"))
    s = result.summary
    assert s["violations"] == []
    assert s["pubsub_published"] > 100
    assert s["resolutions_passed"] == s["pubsub_published"]
    assert s["pubsub_deleted_unconfirmed"] == 0
    assert s["pubsub_notifications_requested"] > 0  # restarted listeners asked for missed events
