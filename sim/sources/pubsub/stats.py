"""Counters kept per publication and per subscription, and the hub's own totals."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from sim.sources.pubsub.errors import PubSubError, PubSubLimitError


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
    """Cycles run; grid cycles with nothing due are skipped (see ``schedule.py``)."""

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


def sum_records(records: dict[str, tuple[bool, Counters]], active: bool | None,
         event_names: Iterable[str] | None, limit: int) -> Stats:
    """The sum over ``records`` (event name -> (active, counters)) that match.

    Like the canister's ``stats.mo``, ``event_names`` is walked as given: a name listed
    twice is summed twice, and names without a record are skipped.
    """
    if event_names is None:
        names: list[str] = list(records)
    else:
        if isinstance(event_names, str):
            raise PubSubError("event_names must be a list of event names, not one string")
        names = list(event_names)
        if len(names) > limit:
            raise PubSubLimitError(f"EventNames option length limit reached: {len(names)} "
                                   f"names, at most {limit}")
    total = Stats()
    for name in names:
        record = records.get(name)
        if record is not None and (active is None or record[0] == active):
            total = total + record[1].snapshot()
    return total
