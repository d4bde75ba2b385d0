"""The pubsub_events listener against a real hub source, with a stand-in node."""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from node.extensions.pubsub_events import decode_time, encode_time, event_body, pubsub_events
from sim.sources.pubsub.errors import FilterSyntaxError
from sim.sources.pubsub.source import PubSubSource, PubSubSourceConfig


class Ctx:
    def __init__(self) -> None:
        self.records: list[tuple[float, str, dict[str, object]]] = []

    def rng(self, name: str) -> random.Random:
        return random.Random(f"test/{name}")

    def trace(self, event: str, **fields: object) -> None:
        self.records.append((trio.current_time(), event, fields))


class Service:
    """The parts of a node's ListenerService the listener uses."""

    def __init__(self, name: str, source: PubSubSource, config: dict[str, str] | None) -> None:
        self.name = name
        self.extension_configs = {} if config is None else {"pubsub_events": config}
        self.rng = random.Random(name)
        self._source = source
        self.logs: list[tuple[float, str, dict[str, object]]] = []

    def dial(self, address: str) -> Any:
        if address != self._source.address:
            raise ConnectionError(f"no system at {address}")
        return self._source.endpoint(self.name)

    def log(self, event: str, **fields: object) -> None:
        self.logs.append((trio.current_time(), event, fields))


class Store:
    """A node's event store as the listener sees it; survives listener restarts."""

    def __init__(self) -> None:
        self.broadcasts: list[tuple[float, str, bytes]] = []
        self.kv: dict[str, bytes] = {}

    async def broadcast(self, event_type: str, data: bytes) -> None:
        await trio.lowlevel.checkpoint()
        self.broadcasts.append((trio.current_time(), event_type, data))

    async def set(self, key: str, value: bytes) -> None:
        await trio.lowlevel.checkpoint()
        self.kv[key] = value

    async def get(self, key: str) -> bytes | None:
        await trio.lowlevel.checkpoint()
        return self.kv.get(key)

    async def delete(self, key: str) -> None:
        await trio.lowlevel.checkpoint()
        self.kv.pop(key, None)


Body = Callable[[PubSubSource, trio.Nursery], Awaitable[None]]


def run_world(body: Body, rate: float = 1 / 60) -> PubSubSource:
    source = PubSubSource(PubSubSourceConfig(rate=rate), Ctx())

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            await body(source, nursery)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return source


def ids(store: Store) -> list[int]:
    return [json.loads(data)["id"] for _, _, data in store.broadcasts]


def test_received_events_are_broadcast_confirmed_and_remembered() -> None:
    store = Store()

    async def body(source: PubSubSource, nursery: trio.Nursery) -> None:
        nursery.start_soon(pubsub_events, Service("v0", source, {}), store)
        await trio.sleep(3600)

    source = run_world(body)
    assert len(store.broadcasts) >= 30
    assert {t for _, t, _ in store.broadcasts} == {"pubsub_event"}
    first = json.loads(store.broadcasts[0][2])
    assert first == {"id": 1, "publisher": "pub0", "name": "price",
                     "payload": {"seq": 1, "value": first["payload"]["value"]}}
    assert store.broadcasts[0][2] == event_body(1, "pub0", "price", first["payload"])
    summary = source.summary()
    assert summary["pubsub_confirmations"] == len(store.broadcasts)
    # Still stored: only events published in the last moments (the next heartbeat sends an
    # event within a second; the push and the confirm take 50 ms each way).
    assert all(e.created_at > 3600 - 1.2 for e in source.hub.state.events.values())
    assert decode_time(store.kv["last_seen"]) == pytest.approx(store.broadcasts[-1][0], abs=1)
    assert len(store.kv["last_seen"]) == 8
    assert source.check_stats() == []


def test_event_body_is_canonical_json() -> None:
    body = event_body(7, "pub1", "price", {"b": 1, "a": [1, 2]})
    assert body == b'{"id":7,"name":"price","payload":{"a":[1,2],"b":1},"publisher":"pub1"}'


def test_last_seen_encoding() -> None:
    assert encode_time(12.5) == struct.pack(">d", 12.5)
    assert decode_time(encode_time(12.5)) == 12.5
    assert decode_time(None) == 0.0
    assert decode_time(b"bad") == 0.0


def test_without_config_the_listener_returns_at_once() -> None:
    async def body(source: PubSubSource, nursery: trio.Nursery) -> None:
        with trio.fail_after(1):
            await pubsub_events(Service("v0", source, None), Store())
        assert "v0" not in source.hub.state.subscribers

    run_world(body)


def test_unknown_config_key_raises() -> None:
    async def body(source: PubSubSource, nursery: trio.Nursery) -> None:
        with pytest.raises(ValueError, match=r"app.extensions.pubsub_events.filtr: unknown key"):
            await pubsub_events(Service("v0", source, {"filtr": "$.v"}), Store())

    run_world(body)


def test_filter_is_passed_to_the_hub_and_a_bad_one_raises() -> None:
    async def body(source: PubSubSource, nursery: trio.Nursery) -> None:
        store = Store()
        nursery.start_soon(pubsub_events,
                           Service("v0", source, {"filter": "$.value < 500000"}), store)
        await trio.sleep(3600)
        flt = source.hub.state.subscriptions[("v0", "price")].filter
        assert flt is not None and flt.text == "$.value < 500000"
        assert store.broadcasts
        assert all(json.loads(d)["payload"]["value"] < 500000 for _, _, d in store.broadcasts)
        with pytest.raises(FilterSyntaxError, match="at position 9"):
            await pubsub_events(Service("v1", source, {"filter": "$.value <"}), Store())

    run_world(body)


def test_restart_requests_missed_events_from_last_seen() -> None:
    store = Store()
    service = Service("v0", source=None, config={})  # type: ignore[arg-type]
    down_at: list[float] = []

    async def body(source: PubSubSource, nursery: trio.Nursery) -> None:
        service._source = source
        scope = trio.CancelScope()
        nursery.start_soon(_run_in, scope, service, store)
        await trio.sleep(1800)
        scope.cancel()  # the node crashes: its listener is cancelled
        await trio.sleep(1)
        assert source.hub.actor("v0") is None  # detached on exit
        down_at.append(trio.current_time())
        await trio.sleep(600)  # events published now are pushed to nobody
        nursery.start_soon(pubsub_events, service, store)
        await trio.sleep(300)

    source = run_world(body)
    subscribed = [f for _, e, f in service.logs if e == "pubsub.subscribed"]
    assert len(subscribed) == 2
    assert subscribed[0]["last_seen"] == 0.0
    assert 0 < float(subscribed[1]["last_seen"]) <= down_at[0]  # type: ignore[arg-type]
    assert int(subscribed[1]["requested"]) > 0  # type: ignore[call-overload]
    requested = [f for _, e, f in source._ctx.records  # type: ignore[attr-defined]
                 if e == "pubsub.send" and f["requested"]]
    assert requested
    # Everything published before the end of the downtime was voted on within 5 minutes of
    # the restart, not at the 15-minute resend.
    published = [f["event_id"] for t, e, f in source._ctx.records  # type: ignore[attr-defined]
                 if e == "pubsub.publish" and t <= down_at[0] + 600]
    assert set(published) <= set(ids(store))


async def _run_in(scope: trio.CancelScope, service: Service, store: Store) -> None:
    with scope:
        await pubsub_events(service, store)


def test_hub_outage_at_start_is_retried() -> None:
    store = Store()
    service = Service("v0", source=None, config={})  # type: ignore[arg-type]

    async def body(source: PubSubSource, nursery: trio.Nursery) -> None:
        service._source = source
        source.set_outage(120)
        nursery.start_soon(pubsub_events, service, store)
        await trio.sleep(1800)

    source = run_world(body)
    retries = [f for _, e, f in service.logs if e == "pubsub.retry"]
    assert retries and all(f["call"] == "register_subscriber" for f in retries)
    assert ("v0", "price") in source.hub.state.subscriptions
    assert store.broadcasts


def test_a_failed_confirm_is_left_to_the_hub_resend() -> None:
    store = Store()
    service = Service("v0", source=None, config={})  # type: ignore[arg-type]

    async def body(source: PubSubSource, nursery: trio.Nursery) -> None:
        service._source = source
        nursery.start_soon(pubsub_events, service, store)
        await trio.sleep(1)
        source.hub.publish("pub9", "price", {"x": 1})
        # The push arrives 50 ms after the cycle; the confirm call arrives 50 ms later still.
        await trio.sleep(0.075)
        source.set_outage(trio.current_time() + 60)
        await trio.sleep(3600)

    source = run_world(body, rate=0.0)
    assert [e for _, e, _ in service.logs].count("pubsub.confirm_failed") == 1
    assert ids(store) == [1, 1]  # broadcast again when the hub resent it (idempotent)
    assert source.hub.state.events == {}
    assert source.summary()["pubsub_confirmations"] == 1
