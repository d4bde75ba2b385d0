"""``scenarios/pubsub-retries.toml``: what the hub's rules say must happen to validators that
are down for hours, checked on the run's trace.

The scenario: 4 validators, 6 events an hour from 2 publishers for 30 h; v1 crashes at 2 h
and restarts at 7 h, v2 crashes at 2.5 h and restarts at 9 h; the hub is out from 12 h to
15 h. From the rules (``broadcast.mo``, ``subscribe.mo``, the ``pubsub_events`` listener):

- a push to a node that is down is lost (one-way ``handleEvent``), and every try counts, so
  the events published while a node is down stay pending for it, retried on the schedule;
- the restarted listener asks for the events created since its last one; the hub sends
  exactly those, in the cycle of the next heartbeat after the request arrives;
- a hub outage makes publishes fail, so nothing is published (or pending) across it.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import sim
from sim.results import Result
from sim.sources.pubsub import constants as c
from tests.worlds import trace_events

LATENCY = 0.05  # [sources.pubsub] latency: one way, hub <-> listener
DOWN = {"v1": (2 * 3600.0, 7 * 3600.0), "v2": (2.5 * 3600.0, 9 * 3600.0)}
OUTAGE = (12 * 3600.0, 15 * 3600.0)


@pytest.fixture(scope="module")
def result() -> Result:
    return sim.run(sim.load_scenario("scenarios/pubsub-retries.toml"))


def published(result: Result) -> dict[int, float]:
    return {int(r["event_id"]): float(r["t"]) for r in trace_events(result, "pubsub.publish")
            if r["event_id"] is not None}


def sends(result: Result, **match: Any) -> list[dict[str, Any]]:
    return trace_events(result, "pubsub.send", **match)


def test_every_event_resolves_and_nothing_expires(result: Result) -> None:
    """All events published outside the outage resolve, none is left unconfirmed, the stats
    identities held after every cycle, and liveness holds after the last fault."""
    s = result.summary
    assert s["violations"] == []
    assert s["pubsub_published"] == len(published(result)) > 100
    assert s["resolutions_passed"] == s["pubsub_published"]
    assert s["pubsub_deleted_unconfirmed"] == 0 and s["pubsub_pending_events"] == 0
    assert s["pubsub_confirmations"] == 4 * s["pubsub_published"]


@pytest.mark.parametrize("node", ["v1", "v2"])
def test_a_restarted_node_requests_exactly_what_was_published_while_it_was_down(
        result: Result, node: str) -> None:
    """subscribe.mo ``requestMissedEvents`` from the listener's last event: the requested
    sends are the events published while the node was down, all in the cycle of the first
    heartbeat at or after the request reached the hub (``nextBroadcastTime := now``)."""
    crash, restart = DOWN[node]
    [subscribed] = [r for r in trace_events(result, "pubsub.subscribed", node=node)
                    if r["t"] > restart]
    asked_at = float(subscribed["t"]) - LATENCY  # the reply took one latency back
    while_down = sorted(e for e, t in published(result).items() if crash <= t < restart)
    requested = sends(result, subscriber=node, requested=True)
    assert sorted(r["event_id"] for r in requested) == while_down
    assert subscribed["requested"] == len(while_down)
    assert {r["t"] for r in requested} == {float(math.ceil(asked_at))}


def test_requested_notifications_are_the_events_published_during_downtimes(
        result: Result) -> None:
    """The summary's requested count is the sum over the restarted nodes."""
    times = published(result).values()
    expected = sum(1 for crash, restart in DOWN.values() for t in times if crash <= t < restart)
    assert result.summary["pubsub_notifications_requested"] == expected


@pytest.mark.parametrize("node", ["v1", "v2"])
def test_pushes_to_a_down_node_are_lost_and_retried_on_the_schedule(
        result: Result, node: str) -> None:
    """broadcast.mo ``broadcastEvent``: the first push goes at the heartbeat after the
    publish; each retry a falls on the first 3-minute grid cycle at or after the previous
    send + 15 min * 2**(a - 1); until the node is back every one of them is lost."""
    crash, restart = DOWN[node]
    created = published(result)
    for event_id, t in created.items():
        if not crash <= t < restart:
            continue
        times = [float(r["t"]) for r in sends(result, subscriber=node, event_id=event_id,
                                               requested=False)]
        assert 0 <= times[0] - t < c.HEARTBEAT_INTERVAL
        for attempt in range(1, len(times)):
            gap = times[attempt] - times[attempt - 1]
            due = c.RESEND_DELAY * 2 ** (attempt - 1)
            assert due <= gap < due + c.BROADCAST_DELAY
        assert all(time < restart for time in times)  # then the request answered it
    lost = sum(1 for down_node, (crash, restart) in DOWN.items()
               for r in sends(result, subscriber=down_node)
               if crash <= r["t"] < restart)
    assert result.summary["pubsub_missed"] == lost


def test_publishes_fail_during_the_hub_outage_and_only_then(result: Result) -> None:
    """The outage refuses calls: every publish attempt inside it fails, none outside it."""
    failed = [float(r["t"]) for r in trace_events(result, "pubsub.publish_failed")]
    assert failed and all(OUTAGE[0] <= t < OUTAGE[1] for t in failed)
    assert not any(OUTAGE[0] <= t < OUTAGE[1] for t in published(result).values())
    assert result.summary["pubsub_publish_failed"] == len(failed)
    assert result.summary["pubsub_dropped"] == 0  # nothing was pending across it
