"""The hub as a world source: its scenario table, publishers, delivery, outages, summary."""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio
import trio.testing

import sim.sources.pubsub as pubsub
from sim.errors import ScenarioError
from sim.sources.pubsub.config import format_rate
from sim.sources.pubsub.source import PubSubSource, PubSubSourceConfig
from sim.tables import TableReader


class Ctx:
    """A stand-in for the world's SourceContext: seeded streams and a trace list."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.records: list[tuple[float, str, dict[str, object]]] = []

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}/{name}")

    def trace(self, event: str, **fields: object) -> None:
        self.records.append((trio.current_time(), event, fields))


def read(table: dict[str, Any]) -> PubSubSourceConfig:
    return PubSubSourceConfig.from_table(TableReader(table, "sources.pubsub", "s.toml"))


# -- config --------------------------------------------------------------------------------


def test_config_defaults() -> None:
    assert read({}) == PubSubSourceConfig(rate=1 / 60, publishers=1, event_name="price",
                                          address="pubsub://hub", latency=0.05)
    assert read({}).to_table() == {"rate": "1/min", "publishers": 1, "event_name": "price",
                                   "address": "pubsub://hub", "latency": "50ms"}


@pytest.mark.parametrize("table", [
    {},
    {"rate": "3/h", "publishers": 4, "event_name": "eth", "address": "pubsub://x",
     "latency": "2s"},
    {"rate": "2.5/s", "latency": "0ms"},
    {"rate": "7/min", "latency": "125ms"},
])
def test_config_round_trips(table: dict[str, Any]) -> None:
    config = read(table)
    assert read(config.to_table()) == config


@pytest.mark.parametrize(("table", "message"), [
    ({"rate": "fast"}, 's.toml: sources.pubsub.rate: expected a rate like "1/s", "2/min" or '
                       '"3/h", got "fast"'),
    ({"publishers": 0}, "s.toml: sources.pubsub.publishers: expected an integer between 1 and "
                        "1000, got 0"),
    ({"event_name": "x" * 51}, "s.toml: sources.pubsub.event_name: expected a name of 1 to 50 "
                               f'characters, got "{"x" * 51}"'),
    ({"event_name": ""}, 's.toml: sources.pubsub.event_name: expected a name of 1 to 50 '
                         'characters, got ""'),
    ({"address": ""}, 's.toml: sources.pubsub.address: expected an address like '
                      '"pubsub://hub", got ""'),
    ({"latency": "fast"}, 's.toml: sources.pubsub.latency: expected a duration with a unit, '
                          'like "250ms", "6s", "10m" or "64h", got "fast"'),
    ({"rat": "1/s"}, "s.toml: sources.pubsub.rat: unknown key"),
])
def test_config_errors_name_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        read(table)
    assert str(info.value) == message


@pytest.mark.parametrize("rate", [1 / 60, 1.0, 2.5, 3 / 3600, 0.1, 1 / 7, 0.0])
def test_format_rate_reads_back_exactly(rate: float) -> None:
    from sim.units import parse_rate
    assert parse_rate(format_rate(rate)) == rate


# -- running -------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[float, int, dict[str, Any]]] = []

    def handle_event(self, event_id: int, publisher_id: str, event_name: str,
                     payload: Any) -> None:
        self.got.append((trio.current_time(), event_id, payload))


def run_source(config: PubSubSourceConfig, body: Any, seed: int = 1) -> tuple[PubSubSource, Ctx]:
    ctx = Ctx(seed)
    source = PubSubSource(config, ctx)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            await body(source)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return source, ctx


def test_publishers_publish_and_listeners_receive_after_latency() -> None:
    recorder = Recorder()
    confirmed = []

    async def body(source: PubSubSource) -> None:
        endpoint = source.endpoint("v0")
        assert source.endpoint("v0") is endpoint
        endpoint.attach(recorder)
        await endpoint.subscribe("price")
        await trio.sleep(3600)
        for event_id in dict.fromkeys(i for _, i, _ in recorder.got):
            confirmed.append(await endpoint.confirm_event_processed(event_id))

    config = PubSubSourceConfig(rate=1 / 60, publishers=3, latency=0.05)
    source, ctx = run_source(config, body)
    publishes = [(t, f) for t, e, f in ctx.records if e == "pubsub.publish"]
    sends: dict[object, list[float]] = {}
    for t, e, f in ctx.records:
        if e == "pubsub.send":
            sends.setdefault(f["event_id"], []).append(t)
    assert 30 <= len(publishes) <= 100  # about 60 in an hour
    assert {f["publisher"] for _, f in publishes} == {"pub0", "pub1", "pub2"}
    assert recorder.got
    # Each push arrives one latency after a send of that event (first sends and resends).
    assert all(any(t == pytest.approx(sent + 0.05) for sent in sends[i])
               for t, i, _ in recorder.got)
    assert len(recorder.got) == sum(len(times) for times in sends.values())
    assert all(confirmed)
    summary = source.summary()
    assert summary["pubsub_published"] == len(publishes)
    assert summary["pubsub_confirmations"] == len(confirmed)
    assert summary["pubsub_deleted_unconfirmed"] == 0
    assert source.check_stats() == []


def test_same_seed_same_trace_and_different_seed_differs() -> None:
    async def body(source: PubSubSource) -> None:
        await source.endpoint("v0").subscribe("price")
        await trio.sleep(7200)

    config = PubSubSourceConfig(rate=1 / 30)
    first = run_source(config, body, seed=5)[1].records
    again = run_source(config, body, seed=5)[1].records
    other = run_source(config, body, seed=6)[1].records
    assert first == again
    assert first != other


def test_outage_refuses_calls_drops_deliveries_and_fails_publishes() -> None:
    recorder = Recorder()
    errors: list[str] = []

    async def body(source: PubSubSource) -> None:
        endpoint = source.endpoint("v0")
        endpoint.attach(recorder)
        await endpoint.subscribe("price")
        await trio.sleep(600)  # events arrive and stay unconfirmed: resends fall in the outage
        received_before = len(recorder.got)
        source.set_outage(trio.current_time() + 1800)
        try:
            await endpoint.request_missed_events("price")
        except ConnectionError as exc:
            errors.append(str(exc))
        await trio.sleep(1800)
        assert len(recorder.got) == received_before
        assert not source.in_outage()
        assert await endpoint.request_missed_events("price") > 0
        await trio.sleep(600)
        assert any(e == "pubsub.send" and f["requested"] for _, e, f in source_records(source))

    source, ctx = run_source(PubSubSourceConfig(rate=1 / 60), body)
    assert errors == ["pubsub://hub is unreachable (hub outage): request_missed_events"]
    summary = source.summary()
    assert summary["pubsub_publish_failed"] > 0
    assert summary["pubsub_dropped"] > 0
    assert summary["pubsub_delivered"] == len(recorder.got) > 0
    with pytest.raises(ValueError, match="set_outage: until must be a time in seconds"):
        source.set_outage("soon")  # type: ignore[arg-type]


def source_records(source: PubSubSource) -> list[tuple[float, str, dict[str, object]]]:
    ctx = source._ctx
    assert isinstance(ctx, Ctx)
    return ctx.records


def test_an_unattached_listener_misses_deliveries() -> None:
    async def body(source: PubSubSource) -> None:
        await source.endpoint("v0").subscribe("price")
        await trio.sleep(600)

    source, _ = run_source(PubSubSourceConfig(rate=1 / 60), body)
    summary = source.summary()
    assert summary["pubsub_missed"] == summary["pubsub_notifications"] > 0
    assert summary["pubsub_delivered"] == 0


def test_zero_rate_publishes_nothing() -> None:
    async def body(source: PubSubSource) -> None:
        await trio.sleep(3600)

    source, _ = run_source(PubSubSourceConfig(rate=0.0), body)
    assert source.summary()["pubsub_published"] == 0


def test_every_public_name_is_exported_once() -> None:
    """``__all__`` lists each public class and function once (submodules are not names)."""
    import types

    names = pubsub.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(pubsub, name) is not None
    public = {n for n, v in vars(pubsub).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public == set(names)
