"""The ``script`` listener: broadcasts what the scripted source shows its node.

On every (re)start it first broadcasts everything its node was shown so far (the event
store ignores what is already stored or processed), then follows new events.
"""

from __future__ import annotations

from typing import Any

ADDRESS = "script://events"


async def script(service: Any, eventstore: Any) -> None:
    config = service.extension_configs.get("script", {})
    feed = service.dial(config.get("address", ADDRESS))
    done = 0
    while True:
        for event_type, data in feed.shown[done:]:  # what arrives meanwhile: next time round
            await eventstore.broadcast(event_type, data)
            done += 1
        await feed.wait_beyond(done)
