"""Hooks generated worlds can name, for properties that need a user's code in the world."""

from __future__ import annotations

from node.resolutions import ResolveContext


def flaky_resolve(ctx: ResolveContext) -> None:
    """A resolve function that fails for about half the events (those whose id ends in an even
    hex digit) and records the body otherwise: a user's hook with a bug in it."""
    if int(ctx.resolution_id[-1], 16) % 2 == 0:
        raise RuntimeError(f"flaky_resolve refuses {ctx.resolution_id}")
    ctx.state.put(f"resolved/{ctx.event_type}/{ctx.resolution_id}", ctx.body)
