"""Benchmark: the watcher library's EventStore on a file, against plain sqlite3.

Stores the same job events (same columns, same JSON) several ways on a WAL file, then
delivers them to a watcher, and prints throughput and the ratio to plain sqlite3 measured in
the same run. The target is storing >= 50% of raw sqlite3's rate when batched in one
transaction.

    .venv/bin/python bench/watcher.py [--events 20000] [--single 500]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import trio

from sim.sources.watcher import (
    Event,
    EventIterator,
    EventStore,
    JSONSerializer,
    Operation,
    Watcher,
)
from sim.sources.watcher.serializer import to_unix_nanos

SCHEMA = ("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, operation TEXT NOT NULL, "
          "object_type TEXT NOT NULL, ts_ns INTEGER NOT NULL, data BLOB NOT NULL)")
INSERT = "INSERT INTO events (operation, object_type, ts_ns, data) VALUES (?, ?, ?, ?)"
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


def payloads(n: int) -> list[tuple[Operation, str, dict[str, str]]]:
    ops = (Operation.CREATE, Operation.UPDATE, Operation.UPDATE, Operation.DELETE)
    return [(ops[i % 4], "Job" if i % 3 else "Execution", {"id": f"job-{i // 4}",
                                                          "state": "running"})
            for i in range(n)]


def open_raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # the store's default
    conn.execute(SCHEMA)
    return conn


def raw_row(i: int, op: Operation, kind: str, obj: object) -> tuple[str, str, int, bytes]:
    # The same JSON record the store writes, so both sides serialize the same bytes.
    ts = to_unix_nanos(STAMP)
    record = {"seqNum": i + 1, "operation": op.value, "objectType": kind, "object": obj,
              "timestamp": ts}
    return op.value, kind, ts, json.dumps(record, separators=(",", ":")).encode()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench_raw_loop(path: Path, items: list) -> float:
    conn = open_raw(path)

    def go() -> None:
        conn.execute("BEGIN IMMEDIATE")
        for i, (op, kind, obj) in enumerate(items):
            conn.execute(INSERT, raw_row(i, op, kind, obj))
        conn.execute("COMMIT")
    elapsed = timed(go)
    conn.close()
    return elapsed


def bench_raw_executemany(path: Path, items: list) -> float:
    conn = open_raw(path)

    def go() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, [raw_row(i, op, kind, obj)
                                  for i, (op, kind, obj) in enumerate(items)])
        conn.execute("COMMIT")
    elapsed = timed(go)
    conn.close()
    return elapsed


def new_store(path: Path, **options: object) -> EventStore:
    return EventStore(str(path), serializer=JSONSerializer({"Job": dict, "Execution": dict}),
                      clock=lambda: STAMP, **options)  # type: ignore[arg-type]


def bench_store_events(path: Path, items: list) -> float:
    with new_store(path) as store:
        return timed(lambda: store.store_events(items))


def bench_tx_loop(path: Path, items: list) -> float:
    with new_store(path) as store:
        def go() -> None:
            with store.transaction() as tx:
                for op, kind, obj in items:
                    tx.store_event(op, kind, obj)
        return timed(go)


def bench_single(path: Path, items: list) -> float:
    with new_store(path) as store:
        def go() -> None:
            for op, kind, obj in items:
                store.store_event(op, kind, obj)
        return timed(go)


def bench_raw_read(path: Path) -> float:
    conn = sqlite3.connect(path)

    def go() -> None:
        for _seq, data in conn.execute("SELECT seq, data FROM events ORDER BY seq"):
            json.loads(data)
    elapsed = timed(go)
    conn.close()
    return elapsed


def bench_watcher(path: Path, total: int, batch_size: int) -> float:
    """Seconds for a fresh watcher (cold cache) to deliver every stored event."""
    store = new_store(path)
    elapsed = 0.0

    async def main() -> None:
        nonlocal elapsed
        count = 0
        done = trio.Event()

        async def handler(event: Event) -> None:
            nonlocal count
            count += 1
            if count == total:
                done.set()

        async with trio.open_nursery() as nursery:
            watcher = Watcher(f"bench-{batch_size}", store, nursery, handler=handler,
                              batch_size=batch_size, initial_event_iterator=EventIterator.trim_horizon())
            start = time.perf_counter()
            watcher.start()
            await done.wait()
            elapsed = time.perf_counter() - start
            await watcher.stop()

    trio.run(main)
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--single", type=int, default=500,
                        help="events for the one-transaction-per-event case (fsync each)")
    args = parser.parse_args()
    items = payloads(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw_loop = bench_raw_loop(root / "raw_loop.db", items)
        raw_many = bench_raw_executemany(root / "raw_many.db", items)
        batched = bench_store_events(root / "batched.db", items)
        tx_loop = bench_tx_loop(root / "tx_loop.db", items)
        single_items = items[:args.single]
        raw_single_conn = open_raw(root / "raw_single.db")
        raw_single = timed(lambda: [raw_single_conn.execute(INSERT, raw_row(i, *it))
                                    for i, it in enumerate(single_items)])
        raw_single_conn.close()
        single = bench_single(root / "single.db", single_items)
        raw_read = bench_raw_read(root / "batched.db")
        watch_100 = bench_watcher(root / "batched.db", args.events, 100)
        watch_1000 = bench_watcher(root / "batched.db", args.events, 1000)

    n, s = args.events, args.single

    def rate(count: int, seconds: float) -> float:
        return count / seconds

    rows = [
        ("raw sqlite3: execute per row, one tx", rate(n, raw_loop), None),
        ("raw sqlite3: executemany, one tx", rate(n, raw_many), None),
        ("store.store_events (batch, one tx)", rate(n, batched), rate(n, raw_many)),
        ("tx.store_event loop (one tx)", rate(n, tx_loop), rate(n, raw_loop)),
        ("raw sqlite3: autocommit per row", rate(s, raw_single), None),
        ("store.store_event (tx per event)", rate(s, single), rate(s, raw_single)),
        ("raw sqlite3: SELECT + json.loads", rate(n, raw_read), None),
        ("watcher delivery, batch_size=100", rate(n, watch_100), rate(n, raw_read)),
        ("watcher delivery, batch_size=1000", rate(n, watch_1000), rate(n, raw_read)),
    ]
    print(f"watcher bench: {n} events (single-event case: {s}); file store, WAL, synchronous=FULL")
    print(f"{'case':<40} {'events/s':>12} {'vs raw':>8}")
    for name, value, baseline in rows:
        ratio = f"{value / baseline:7.0%}" if baseline else ""
        print(f"{name:<40} {value:>12,.0f} {ratio:>8}")
    target = rate(n, batched) / rate(n, raw_many)
    print(f"target: batched store >= 50% of raw sqlite3 batched insert -> {target:.0%} "
          f"({'met' if target >= 0.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
