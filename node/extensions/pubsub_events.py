"""The ``pubsub_events`` listener: a validator subscribes to the hub and votes on its events.

Config ``[app.extensions.pubsub_events]`` (all strings): ``address`` (default
"pubsub://hub"), ``event_name`` (default "price"), ``filter`` (optional filter expression).
Without that table the listener returns at once; an unknown key, or a filter the hub
rejects, raises (which shuts the node down: misconfiguration). Like the other listeners it
depends on nothing in ``sim``: the hub is whatever ``service.dial(address)`` returns.

On start it attaches its actor (so nothing pushed after subscribing is missed), registers its
node as a subscriber (the node is its own listener), subscribes, and asks for events it missed
since the KV "last_seen" time. Then for each pushed event: broadcast it as a votable
"pubsub_event", confirm it to the hub, and store "last_seen". Hub calls that fail with
``ConnectionError`` (an outage) are retried with jittered backoff during start; a failed
confirm is left to the hub, which resends the event later (the broadcast is idempotent).
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import trio

NAME = "pubsub_events"
EVENT_TYPE = "pubsub_event"
LAST_SEEN = "last_seen"
KEYS = ("address", "event_name", "filter")
BACKOFF_START = 1.0
BACKOFF_MAX = 60.0

T = TypeVar("T")
Pushed = tuple[float, int, str, str, Any]  # (received at, event id, publisher, name, payload)


class _Service(Protocol):
    name: str
    extension_configs: dict[str, dict[str, str]]
    rng: Any

    def dial(self, address: str) -> Any: ...

    def log(self, event: str, **fields: object) -> None: ...


class _EventStore(Protocol):
    async def broadcast(self, event_type: str, data: bytes) -> None: ...

    async def set(self, key: str, value: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...


class _Actor:
    """The hub pushes here; it only enqueues, so the hub never waits on this node."""

    def __init__(self, channel: trio.MemorySendChannel[Pushed]) -> None:
        self._channel = channel

    def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                     payload: Any) -> None:
        # Once the listener has stopped the push is lost, and the hub will resend it.
        with contextlib.suppress(trio.ClosedResourceError, trio.BrokenResourceError):
            self._channel.send_nowait((trio.current_time(), event_id, publisher_id, event_name,
                                       payload))


def event_body(event_id: int, publisher_id: str, event_name: str, payload: Any) -> bytes:
    """The votable event's data: canonical JSON, identical on every validator.

    A payload may hold typed candy values (objects with a ``to_json()`` method, such as
    ``Nat8(5)``) and bytes (a blob): they are written the way candy-utils' ``candyToJson``
    writes them (a number, a principal's text, a list of byte values).
    """
    record = {"id": event_id, "publisher": publisher_id, "name": event_name, "payload": payload}
    return json.dumps(record, sort_keys=True, separators=(",", ":"),
                      default=_candy_json).encode()


def _candy_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return list(value)
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    raise TypeError(f"a {type(value).__name__} in a pushed payload has no JSON form")


def encode_time(seconds: float) -> bytes:
    return struct.pack(">d", seconds)


def decode_time(data: bytes | None) -> float:
    """The stored "last_seen" time; 0 when absent or unreadable."""
    if data is None or len(data) != 8:
        return 0.0
    value = float(struct.unpack(">d", data)[0])
    return value if math.isfinite(value) and value >= 0 else 0.0


def read_config(config: dict[str, str]) -> tuple[str, str, str | None]:
    """(address, event_name, filter) from the extension config; bad values raise ValueError."""
    unknown = [k for k in config if k not in KEYS]
    if unknown:
        raise ValueError(f"app.extensions.{NAME}.{unknown[0]}: unknown key "
                         f"(known: {', '.join(KEYS)})")
    # The filter's syntax is checked by the hub at subscribe: its error names the position,
    # and raising it from the listener shuts the node down, as misconfiguration should.
    return (config.get("address", "pubsub://hub"), config.get("event_name", "price"),
            config.get("filter"))


async def _retry(service: _Service, what: str, call: Callable[[], Awaitable[T]]) -> T:
    delay = BACKOFF_START
    while True:
        try:
            return await call()
        except ConnectionError as exc:
            wait = delay * (0.5 + service.rng.random())
            service.log("pubsub.retry", call=what, error=str(exc), wait=round(wait, 6))
            await trio.sleep(wait)
            delay = min(delay * 2, BACKOFF_MAX)


async def pubsub_events(service: _Service, eventstore: _EventStore) -> None:
    """Subscribe this node to the hub and turn each pushed event into a votable event."""
    config = service.extension_configs.get(NAME)
    if config is None:
        return
    address, event_name, flt = read_config(config)
    send, receive = trio.open_memory_channel[Pushed](math.inf)
    actor = _Actor(send)
    endpoint: Any = None
    try:
        endpoint = await _retry(service, "dial", _async(lambda: service.dial(address)))
        endpoint.attach(actor)
        await _retry(service, "register_subscriber", lambda: endpoint.register_subscriber())
        await _retry(service, "subscribe",
                     lambda: endpoint.subscribe(event_name, stopped=False, filter=flt))
        last_seen = decode_time(await eventstore.get(LAST_SEEN))
        requested = await _retry(service, "request_missed_events",
                                 lambda: endpoint.request_missed_events(event_name,
                                                                        from_=last_seen))
        service.log("pubsub.subscribed", event_name=event_name, last_seen=last_seen,
                    requested=requested)
        async for received_at, event_id, publisher_id, name, payload in receive:
            await eventstore.broadcast(EVENT_TYPE,
                                       event_body(event_id, publisher_id, name, payload))
            try:
                await endpoint.confirm_event_processed(event_id)
            except ConnectionError as exc:
                service.log("pubsub.confirm_failed", event_id=event_id, error=str(exc))
                continue
            if received_at > last_seen:
                last_seen = received_at
                await eventstore.set(LAST_SEEN, encode_time(last_seen))
    finally:
        if endpoint is not None:
            endpoint.detach(actor)
        send.close()


def _async(call: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    async def run() -> T:
        await trio.lowlevel.checkpoint()
        return call()
    return run
