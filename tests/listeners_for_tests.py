"""User listeners for the tests (scenarios name them as "module:function")."""

from __future__ import annotations

from typing import Any

from node.behaviours import Behaviour, BehaviourContext


async def broadcast_unknown_type(service: Any, eventstore: Any) -> None:
    await eventstore.broadcast("no_such_type", b"x")


async def counting(service: Any, eventstore: Any) -> None:
    """Counts its own (re)starts in its KV, so a test can see the KV survive demotion."""
    count = int((await eventstore.get("starts")) or b"0") + 1
    await eventstore.set("starts", str(count).encode())
    service.log("counting.start", starts=count)
    import trio

    await trio.sleep_forever()


async def follow_blocks(service: Any, eventstore: Any) -> None:
    """Follows the node's committed blocks and traces each one."""
    async for block in service.blocks():
        service.log("follower.block", height=block.height, proposer=block.proposer,
                    block_time=block.time, txs=len(block.txs))


async def complains_when_cancelled(service: Any, eventstore: Any) -> None:
    """Waits; raises when its context is cancelled (as a Go listener returning ctx.Err())."""
    import trio

    try:
        await trio.sleep_forever()
    except trio.Cancelled:
        raise RuntimeError("context canceled") from None


class Contrarian(Behaviour):
    """A user's byzantine behaviour: rejects every proposal but its own, and traces it."""

    def process_proposal(self, ctx: BehaviourContext, proposer: str, txs: tuple[Any, ...],
                         accept: bool) -> bool:
        if proposer == ctx.node:
            return accept
        ctx.trace("reject", proposer=proposer)
        return False


def failing_resolve(ctx: Any) -> None:
    """A resolve function that always raises."""
    raise RuntimeError(f"cannot resolve {ctx.resolution_id}")


class BrokenVoter(Behaviour):
    """A user's behaviour with a bug: it raises when asked what to vote."""

    def vote_ids(self, ctx: BehaviourContext, votes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        raise ValueError("broken voter")
