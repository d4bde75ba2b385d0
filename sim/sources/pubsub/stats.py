"""Counters kept per publication and per subscription, and the hub's own totals."""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class Stats:
    """A snapshot (or a sum) of the counters of publications or subscriptions."""

    number_of_events: int = 0
    number_of_notifications: int = 0
    number_of_resend_notifications: int = 0
    number_of_requested_notifications: int = 0
    number_of_confirmations: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(*(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other),
                                             strict=True)))

    @staticmethod
    def total(many: Iterable[Stats]) -> Stats:
        result = Stats()
        for stats in many:
            result = result + stats
        return result


@attrs.define
class Counters:
    """The live counters of one publication or subscription (see the spec's "Stats")."""

    events: int = 0
    notifications: int = 0
    resend_notifications: int = 0
    requested_notifications: int = 0
    confirmations: int = 0

    def count_send(self, *, requested: bool, resend: bool) -> None:
        """One ``handle_event`` send: requested sends are never counted as resends."""
        self.notifications += 1
        if requested:
            self.requested_notifications += 1
        elif resend:
            self.resend_notifications += 1

    def snapshot(self) -> Stats:
        return Stats(self.events, self.notifications, self.resend_notifications,
                     self.requested_notifications, self.confirmations)


@attrs.define
class HubTotals:
    """Counts over the hub's whole life, for the run summary and the trace."""

    publishes: int = 0
    events_stored: int = 0
    notifications: int = 0
    notifications_requested: int = 0
    confirmations: int = 0
    deleted_confirmed: int = 0
    deleted_expired: int = 0
    deleted_purged: int = 0
    cycles: int = 0

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


def sum_stats(records: Iterable[tuple[bool, str, Counters]], active: bool | None,
              event_names: Iterable[str] | None) -> Stats:
    """The sum over (active, event name, counters) records, keeping those that match."""
    names = None if event_names is None else set(event_names)  # membership only
    return Stats.total(c.snapshot() for is_active, name, c in records
                       if (active is None or is_active == active)
                       and (names is None or name in names))
