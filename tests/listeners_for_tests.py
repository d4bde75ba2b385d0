"""User listeners for the tests (scenarios name them as "module:function")."""

from __future__ import annotations

from typing import Any


async def broadcast_unknown_type(service: Any, eventstore: Any) -> None:
    await eventstore.broadcast("no_such_type", b"x")


async def counting(service: Any, eventstore: Any) -> None:
    """Counts its own (re)starts in its KV, so a test can see the KV survive demotion."""
    count = int((await eventstore.get("starts")) or b"0") + 1
    await eventstore.set("starts", str(count).encode())
    service.log("counting.start", starts=count)
    import trio

    await trio.sleep_forever()
