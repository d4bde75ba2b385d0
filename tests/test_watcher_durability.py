"""A file store survives its process being killed with SIGKILL (real child processes)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import trio

from sim.sources.watcher import (
    Event,
    EventIterator,
    EventStore,
    GetEventsRequest,
    JSONSerializer,
    Operation,
    Watcher,
)
from tests.watcher_harness import run, virtual_now

WRITER = """
import sys, time
from sim.sources.watcher import EventStore, Operation
store = EventStore(sys.argv[1])
for i in range(20):
    store.store_event(Operation.CREATE, "Job", {"id": f"job-{i + 1}"})
store.store_checkpoint("consumer", 12)
tx = store.transaction()
open_tx = tx.__enter__()
for i in range(5):
    open_tx.store_event(Operation.UPDATE, "Job", {"id": "never-committed"})
print("ready", flush=True)
time.sleep(60)
"""

CONSUMER = """
import sys, trio
from sim.sources.watcher import EventStore, JSONSerializer, Watcher
store = EventStore(sys.argv[1], serializer=JSONSerializer({"Job": dict}))

async def main():
    async with trio.open_nursery() as nursery:
        watcher = Watcher("consumer", store, nursery)

        async def handle(event):
            if event.seq_num == 7:
                print("handling 7", flush=True)
                await trio.sleep_forever()  # killed here, before checkpointing 7
            watcher.checkpoint(event.seq_num)

        watcher.set_handler(handle)
        watcher.start()

trio.run(main)
"""


def kill_when_ready(script: str, path: Path, line: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", script, str(path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == line
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_committed_events_and_checkpoints_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    kill_when_ready(WRITER, path, "ready")

    async def main() -> None:
        store = EventStore(str(path), serializer=JSONSerializer({"Job": dict}), clock=virtual_now)
        assert store.get_latest_event_num() == 20  # the open transaction was rolled back
        response = await store.get_events(GetEventsRequest(EventIterator.trim_horizon()))
        assert [e.seq_num for e in response.events] == list(range(1, 21))
        assert response.events[-1].object == {"id": "job-20"}
        assert store.get_checkpoint("consumer") == 12
        assert store.store_event(Operation.DELETE, "Job", {"id": "job-1"}).seq_num == 21
        store.close()
    run(main)


def test_a_killed_watcher_process_resumes_after_its_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with EventStore(str(path)) as store:
        store.store_events([(Operation.CREATE, "Job", {"id": f"job-{i}"}) for i in range(10)])
    kill_when_ready(CONSUMER, path, "handling 7")

    async def main() -> None:
        store = EventStore(str(path), serializer=JSONSerializer({"Job": dict}), clock=virtual_now)
        assert store.get_checkpoint("consumer") == 6
        seen: list[int] = []

        async def handler(event: Event) -> None:
            seen.append(event.seq_num)

        async with trio.open_nursery() as nursery:
            watcher = Watcher("consumer", store, nursery, handler=handler)
            watcher.start()
            while watcher.stats().next_event_iterator != EventIterator.after(10):
                await trio.sleep(0.01)
            await watcher.stop()
        assert seen == [7, 8, 9, 10]
        store.close()
    run(main)
