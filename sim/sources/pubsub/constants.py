"""The hub's constants, as in the Internet Computer events system (times in seconds)."""

from __future__ import annotations

from typing import Final

MINUTE: Final = 60.0

RESEND_DELAY: Final = 15 * MINUTE
"""The first gap between sends of an unconfirmed event; each later gap doubles."""

BROADCAST_DELAY: Final = 3 * MINUTE
"""The time from one broadcast cycle to the next (unless a publish or request restarts it)."""

HEARTBEAT_INTERVAL: Final = 1.0
"""How often the canister's heartbeat runs (once a round); cycles start on heartbeats."""

BROADCAST_BATCH_SIZE: Final = 100
"""Notifications per batch within one cycle."""

RESEND_ATTEMPTS_LIMIT: Final = 8
"""Sends of one event (1 send + 7 retries); at the next due time the event is deleted."""

EVENT_NAME_LENGTH_LIMIT: Final = 50
ACTIVE_SUBSCRIPTIONS_LIMIT: Final = 100
SUBSCRIPTIONS_LIMIT: Final = 500
ACTIVE_PUBLICATIONS_LIMIT: Final = 100
PUBLICATIONS_LIMIT: Final = 500
WHITELIST_LIMIT: Final = 500
LISTENERS_LIMIT: Final = 100

SKIP_MAX: Final = 2**8 - 1
"""A subscription's ``skip`` is a Nat8."""

TIME_MAX: Final = float(2**64 - 1)
"""The default upper bound of ``request_missed_events`` (the original's ``2**64 - 1``)."""
