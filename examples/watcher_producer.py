"""Store job events into a watcher event store file, in real time.

    .venv/bin/python examples/watcher_producer.py /tmp/jobs.db --count 50 --interval 0.2

Run ``examples/watcher_consumer.py`` on the same file in another terminal to watch them.
"""

from __future__ import annotations

import argparse

import trio

from sim.sources.watcher import EventStore, Operation


async def produce(path: str, count: int, interval: float) -> None:
    # The real library: trio's ordinary clock and the default wall-clock timestamps.
    with EventStore(path) as store:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.run_gc_loop)  # keep the file from growing forever
            for i in range(count):
                job = {"id": f"job-{i // 3}", "state": ("pending", "running", "completed")[i % 3]}
                operation = Operation.CREATE if i % 3 == 0 else Operation.UPDATE
                event = store.store_event(operation, "Job", job)
                print(f"stored {event.seq_num} {operation.value} {job}", flush=True)
                await trio.sleep(interval)
            nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description="Store job events into a watcher store file.")
    parser.add_argument("path", help="the SQLite file (created if missing)")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between events")
    args = parser.parse_args()
    trio.run(produce, args.path, args.count, args.interval)


if __name__ == "__main__":
    main()
