"""The watcher source in the world ([sources.watcher]) and the watcher_events listener."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import trio

from node.extensions.watcher_events import (
    EVENT_TYPE,
    WatcherEventsConfigError,
    watcher_events,
)
from sim.errors import ScenarioError
from sim.sources.watcher import EventIterator, GetEventsRequest
from sim.sources.watcher.source import WORLD_EPOCH, WatcherSource, WatcherSourceConfig
from sim.tables import TableReader
from tests.watcher_harness import run


def read_config(table: dict[str, Any]) -> WatcherSourceConfig:
    return WatcherSourceConfig.from_table(TableReader(table, "sources.watcher", "test.toml"))


class FakeContext:
    """The world's SourceContext: seeded named streams and a trace list."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.records: list[tuple[float, str, dict[str, object]]] = []

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}/{name}")

    def trace(self, event: str, **fields: object) -> None:
        self.records.append((trio.current_time(), event, fields))


class FakeService:
    def __init__(self, name: str, source: WatcherSource | None,
                 config: dict[str, str] | None) -> None:
        self.name = name
        self.extension_configs = {} if config is None else {"watcher_events": config}
        self.rng = random.Random(0)
        self.source = source
        self.dialed: list[str] = []
        self.logs: list[str] = []

    def dial(self, address: str) -> Any:
        self.dialed.append(address)
        if self.source is None or address != self.source.address:
            raise ConnectionError(f"nothing listens at {address}")
        return self.source.endpoint(self.name)

    def log(self, event: str, **fields: object) -> None:
        self.logs.append(event)


class FakeEventStore:
    """Records broadcasts; ``seen`` deduplicates them as the node's event store does."""

    def __init__(self) -> None:
        self.broadcasts: list[tuple[str, bytes]] = []
        self.seen: set[bytes] = set()
        self.block_at: int | None = None
        self.blocked = trio.Event()

    async def broadcast(self, event_type: str, data: bytes) -> None:
        await trio.lowlevel.checkpoint()
        self.broadcasts.append((event_type, data))
        self.seen.add(data)
        if self.block_at is not None and json.loads(data)["seq"] == self.block_at:
            self.blocked.set()
            await trio.sleep_forever()

    def seqs(self) -> list[int]:
        return [json.loads(body)["seq"] for _, body in self.broadcasts]


# -- config -------------------------------------------------------------------------------
def test_config_defaults() -> None:
    config = read_config({})
    assert config == WatcherSourceConfig()
    assert config.rate == pytest.approx(1 / 60)
    assert config.object_types == ("Job", "Execution")
    assert (config.gc_age_threshold, config.gc_cadence) == (86400.0, 600.0)
    assert (config.address, config.long_polling_timeout) == ("watcher://jobs", 10.0)


@pytest.mark.parametrize("table", [
    {},
    {"rate": "3/s", "object_types": ["Job"], "gc_age_threshold": "0s", "gc_cadence": "30s",
     "address": "watcher://other", "long_polling_timeout": "250ms"},
    {"rate": "7/h", "gc_age_threshold": "90m"},
])
def test_config_round_trips_through_to_table(table: dict[str, Any]) -> None:
    config = read_config(table)
    assert read_config(config.to_table()) == config


@pytest.mark.parametrize(("table", "message"), [
    ({"rte": "1/s"}, "test.toml: sources.watcher.rte: unknown key"),
    ({"rate": "fast"}, 'sources.watcher.rate: expected a rate like "1/s"'),
    ({"object_types": []}, "object_types: expected a non-empty array of distinct"),
    ({"object_types": ["Job", "Job"]}, "object_types: expected a non-empty array of distinct"),
    ({"gc_cadence": "0s"}, "sources.watcher.gc_cadence: expected a duration > 0"),
    ({"long_polling_timeout": 10}, "long_polling_timeout: expected a duration with a unit"),
])
def test_bad_config_names_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        read_config(table)
    assert message in str(info.value)


# -- the source ---------------------------------------------------------------------------
def run_source(seed: int, seconds: float, **config: Any) -> tuple[WatcherSource, FakeContext]:
    ctx = FakeContext(seed)
    source = WatcherSource(WatcherSourceConfig(**config), ctx)

    async def main() -> None:
        with trio.move_on_after(seconds):
            await source.run()
    run(main)
    return source, ctx


def test_source_stores_job_events_at_its_rate_and_traces_each() -> None:
    source, ctx = run_source(3, 600, rate=1.0)
    stores = [f for _, e, f in ctx.records if e == "watcher.store"]
    assert 500 < source.stored < 700  # Poisson at 1/s over 600 s
    assert [f["seq"] for f in stores] == list(range(1, source.stored + 1))
    assert {f["type"] for f in stores} == {"Job", "Execution"}
    assert {f["op"] for f in stores} == {"CREATE", "UPDATE", "DELETE"}
    assert source.summary() == {"watcher_events_stored": source.stored}
    assert source.endpoint("v0") is source.endpoint("v1") is source.store


def test_source_objects_follow_a_lifecycle_and_deletes_name_created_objects() -> None:
    source, _ = run_source(5, 300, rate=2.0)

    async def main() -> None:
        response = await source.store.get_events(GetEventsRequest(EventIterator.trim_horizon()))
        created: set[str] = set()
        for event in response.events:
            assert event.object["state"] in ("pending", "running", "completed")
            assert event.object["id"].startswith(event.object_type.lower() + "-")
            if event.operation.value == "CREATE":
                assert event.object["id"] not in created
                created.add(event.object["id"])
            else:
                assert event.object["id"] in created
        assert response.events[0].timestamp > WORLD_EPOCH
    run(main)


def test_source_is_deterministic_per_seed() -> None:
    _, first = run_source(11, 120, rate=0.5)
    _, again = run_source(11, 120, rate=0.5)
    _, other = run_source(12, 120, rate=0.5)
    assert first.records == again.records
    assert first.records != other.records


def test_source_runs_gc_at_its_cadence() -> None:
    ctx = FakeContext(2)
    source = WatcherSource(WatcherSourceConfig(rate=1.0, gc_age_threshold=3600.0,
                                               gc_cadence=600.0), ctx)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            await trio.sleep(100)
            source.store.store_checkpoint("v0", 50)
            await trio.sleep(4200)
            nursery.cancel_scope.cancel()
    run(main)
    gcs = [f for _, e, f in ctx.records if e == "watcher.gc"]
    assert len(gcs) == 7
    assert sum(int(str(f["deleted"])) for f in gcs) == 50  # 1..50, once older than an hour


# -- the listener -------------------------------------------------------------------------
def test_listener_without_config_returns_at_once() -> None:
    async def main() -> None:
        service = FakeService("v0", None, None)
        await watcher_events(service, FakeEventStore())
        assert service.dialed == []
    run(main)


@pytest.mark.parametrize(("config", "message"), [
    ({"batch_size": "0"}, "batch_size: expected an integer > 0, got '0'"),
    ({"operations": "create,move"}, "operations: expected CREATE, UPDATE or DELETE, got 'move'"),
    ({"adress": "watcher://jobs"}, "app.extensions.watcher_events.adress: unknown key"),
])
def test_listener_bad_config_raises(config: dict[str, str], message: str) -> None:
    async def main() -> None:
        with pytest.raises(WatcherEventsConfigError, match=message):
            await watcher_events(FakeService("v0", None, config), FakeEventStore())
    run(main)


def test_listener_broadcasts_matching_events_and_checkpoints_them() -> None:
    ctx = FakeContext(4)
    source = WatcherSource(WatcherSourceConfig(rate=1.0), ctx)
    service = FakeService("v0", source, {"object_types": "Job", "operations": "create, update"})
    eventstore = FakeEventStore()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            nursery.start_soon(watcher_events, service, eventstore)
            await trio.sleep(120)
            nursery.cancel_scope.cancel()
    run(main)
    expected = [f["seq"] for _, e, f in ctx.records if e == "watcher.store"
                and f["type"] == "Job" and f["op"] in ("CREATE", "UPDATE")]
    assert eventstore.seqs() == expected and expected
    event_type, body = eventstore.broadcasts[0]
    assert event_type == EVENT_TYPE
    record = json.loads(body)
    assert body == json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    assert set(record) == {"seq", "op", "type", "object"}
    assert source.store.get_checkpoint("v0") == expected[-1]
    assert service.logs == ["watcher_events.start"] + ["watcher_events.handled"] * len(expected)


def test_listener_crash_resumes_after_checkpoint_and_rebroadcasts_the_gap() -> None:
    ctx = FakeContext(9)
    source = WatcherSource(WatcherSourceConfig(rate=1.0), ctx)
    service = FakeService("v1", source, {})
    eventstore = FakeEventStore()
    eventstore.block_at = 5  # broadcast of 5 happens, then the node crashes before checkpointing

    async def main() -> None:
        for _ in range(10):
            source.store_next_event()
        with trio.CancelScope() as crash:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watcher_events, service, eventstore)
                await eventstore.blocked.wait()
                crash.cancel()
        assert source.store.get_checkpoint("v1") == 4
        eventstore.block_at = None
        with trio.move_on_after(30):
            await watcher_events(service, eventstore)
    run(main)
    assert eventstore.seqs() == [1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10]
    assert len(eventstore.seen) == 10  # the repeat is the same body: deduplicated
    assert source.store.get_checkpoint("v1") == 10


def test_every_validator_sees_every_event_under_its_own_checkpoint() -> None:
    ctx = FakeContext(6)
    source = WatcherSource(WatcherSourceConfig(rate=0.5), ctx)
    stores = {name: FakeEventStore() for name in ("v0", "v1", "v2")}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(source.run)
            for name, eventstore in stores.items():
                nursery.start_soon(watcher_events, FakeService(name, source, {"batch_size": "3"}),
                                   eventstore)
            await trio.sleep(600)
            nursery.cancel_scope.cancel()
    run(main)
    # Events stored in the last instant may still be in flight; everything before is in.
    for name, eventstore in stores.items():
        seqs = eventstore.seqs()
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) >= source.stored - 1
        assert source.store.get_checkpoint(name) == seqs[-1]
