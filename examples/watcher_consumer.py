"""Watch a watcher event store file, checkpointing after each event; resumes after a kill.

    .venv/bin/python examples/watcher_consumer.py /tmp/jobs.db --id consumer-1

Kill it with ``kill -9`` and start it again: it continues after its last checkpoint (the
event being handled at the kill, if any, is handled again).
"""

from __future__ import annotations

import argparse

import trio

from sim.sources.watcher import Event, EventStore, JSONSerializer, Watcher


async def consume(path: str, watcher_id: str, stop_after: int | None) -> None:
    store = EventStore(path, serializer=JSONSerializer({"Job": dict}))
    async with trio.open_nursery() as nursery:
        watcher = Watcher(watcher_id, store, nursery)
        print(f"{watcher_id} starting at {watcher.stats().next_event_iterator}", flush=True)

        async def handle(event: Event) -> None:
            print(f"handled {event.seq_num} {event.operation.value} {event.object}", flush=True)
            watcher.checkpoint(event.seq_num)  # durable: a restart resumes after this
            if stop_after is not None and event.seq_num >= stop_after:
                nursery.cancel_scope.cancel()

        watcher.set_handler(handle)
        watcher.start()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Watch a watcher store file.")
    parser.add_argument("path", help="the SQLite file the producer writes")
    parser.add_argument("--id", default="consumer", help="watcher id (its checkpoint key)")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="exit once this seq has been handled")
    args = parser.parse_args()
    trio.run(consume, args.path, args.id, args.stop_after)


if __name__ == "__main__":
    main()
