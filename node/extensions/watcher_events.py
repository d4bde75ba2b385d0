"""The watcher_events listener: job events from a watcher store become votable events.

Config comes from ``[app.extensions.watcher_events]`` (all values strings); without that
section the listener returns at once. It dials ``address``, watches the store under the
node's name (so its checkpoint is the node's own), and for every event matching its filter
broadcasts a ``watcher_event`` whose body is canonical JSON of seq, op, type and object,
then checkpoints that seq. After a crash it resumes after its checkpoint: events between the
checkpoint and the crash are broadcast again, and the node's event store drops duplicates.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import trio

from sim.sources.watcher import Event, EventFilter, Operation, Watcher

LISTENER_NAME = "watcher_events"
EVENT_TYPE = "watcher_event"
DEFAULT_ADDRESS = "watcher://jobs"
_KEYS = ("address", "object_types", "operations", "batch_size")


class WatcherEventsConfigError(ValueError):
    """The ``[app.extensions.watcher_events]`` table has an unknown key or a bad value."""


class Service(Protocol):
    name: str
    extension_configs: dict[str, dict[str, str]]
    rng: random.Random

    def dial(self, address: str) -> Any: ...
    def log(self, event: str, **fields: object) -> None: ...


class EventStoreLike(Protocol):
    async def broadcast(self, event_type: str, data: bytes) -> None: ...


def _names(section: Mapping[str, str], key: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in section.get(key, "").split(",") if part.strip())


@attrs.frozen
class WatcherEventsConfig:
    """The listener's settings; empty filter lists mean "everything"."""

    address: str = DEFAULT_ADDRESS
    object_types: tuple[str, ...] = ()
    operations: tuple[Operation, ...] = ()
    batch_size: int = 100

    @classmethod
    def from_extension_config(cls, section: Mapping[str, str]) -> WatcherEventsConfig:
        prefix = f"app.extensions.{LISTENER_NAME}"
        for key in section:
            if key not in _KEYS:
                raise WatcherEventsConfigError(
                    f"{prefix}.{key}: unknown key (known: {', '.join(_KEYS)})")
        operations = []
        for name in _names(section, "operations"):
            try:
                operations.append(Operation(name.upper()))
            except ValueError:
                raise WatcherEventsConfigError(
                    f"{prefix}.operations: expected CREATE, UPDATE or DELETE, got {name!r}") from None
        raw_batch = section.get("batch_size", "100").strip()
        if not raw_batch.isdigit() or int(raw_batch) <= 0:
            raise WatcherEventsConfigError(
                f"{prefix}.batch_size: expected an integer > 0, got {raw_batch!r}")
        address = section.get("address", DEFAULT_ADDRESS).strip()
        if not address:
            raise WatcherEventsConfigError(f"{prefix}.address: expected an address, got ''")
        return cls(address, _names(section, "object_types"), tuple(operations), int(raw_batch))

    @property
    def filter(self) -> EventFilter:
        return EventFilter(object_types=self.object_types, operations=self.operations)


def event_body(event: Event) -> bytes:
    """The votable body: canonical JSON (sorted keys, no spaces), equal on every node."""
    record = {"seq": event.seq_num, "op": event.operation.value, "type": event.object_type,
              "object": event.object}
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


class _Broadcaster:
    """Broadcasts each event, then checkpoints it: a crash in between only repeats a broadcast."""

    def __init__(self, watcher: Watcher, eventstore: EventStoreLike, service: Service) -> None:
        self._watcher = watcher
        self._eventstore = eventstore
        self._service = service

    async def handle_event(self, event: Event) -> None:
        await self._eventstore.broadcast(EVENT_TYPE, event_body(event))
        self._watcher.checkpoint(event.seq_num)
        # one record per handled event: the world's watcher-order check reads them
        self._service.log("watcher_events.handled", seq=event.seq_num)


async def watcher_events(service: Service, eventstore: EventStoreLike) -> None:
    """kwil ListenFunc: watch the job store and broadcast what matches, until cancelled."""
    section = service.extension_configs.get(LISTENER_NAME)
    if section is None:
        return
    config = WatcherEventsConfig.from_extension_config(section)
    store = service.dial(config.address)
    async with trio.open_nursery() as nursery:
        watcher = Watcher(service.name, store, nursery, filter=config.filter,
                          batch_size=config.batch_size)
        watcher.set_handler(_Broadcaster(watcher, eventstore, service))
        service.log("watcher_events.start", start=str(watcher.stats().next_event_iterator))
        watcher.start()
        try:
            await watcher.wait_stopped()
        finally:
            # Cancellation (demotion, crash) must still leave the watcher STOPPED.
            with trio.CancelScope(shield=True):
                await watcher.stop()
