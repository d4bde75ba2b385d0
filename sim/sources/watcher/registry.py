"""Registry: creates, finds and stops the watchers of one event store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from sim.sources.watcher.errors import WatcherAlreadyExists, WatcherError, WatcherNotFound
from sim.sources.watcher.types import State, WatchableStore
from sim.sources.watcher.watcher import HandlerLike, Watcher

DEFAULT_STOP_TIMEOUT = 30.0


class Registry:
    """All watchers of one store; their loops run in ``nursery``."""

    def __init__(self, store: WatchableStore, nursery: trio.Nursery) -> None:
        self.store = store
        self._nursery = nursery
        self._watchers: dict[str, Watcher] = {}

    def watch(self, watcher_id: str, handler: HandlerLike, **options: Any) -> Watcher:
        """Create and start a watcher. A live watcher with this id already exists →
        ``WatcherError`` caused by ``WatcherAlreadyExists``; a stopped one is replaced."""
        existing = self._watchers.get(watcher_id)
        if existing is not None and existing.state is not State.STOPPED:
            raise WatcherError(watcher_id, WatcherAlreadyExists())
        watcher = Watcher(watcher_id, self.store, self._nursery, handler=handler, **options)
        self._watchers[watcher_id] = watcher
        watcher.start()
        return watcher

    def get_watcher(self, watcher_id: str) -> Watcher:
        watcher = self._watchers.get(watcher_id)
        if watcher is None:
            raise WatcherError(watcher_id, WatcherNotFound())
        return watcher

    def watchers(self) -> list[Watcher]:
        """Every watcher, in the order they were first created."""
        return list(self._watchers.values())

    async def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
        """Stop every watcher concurrently; False if they had not all stopped within
        ``timeout`` seconds. Idempotent."""
        with trio.move_on_after(timeout) as scope:
            async with trio.open_nursery() as nursery:
                for watcher in self._watchers.values():
                    nursery.start_soon(watcher.stop)
        return not scope.cancelled_caught


@asynccontextmanager
async def open_registry(store: WatchableStore, *,
                        stop_timeout: float = DEFAULT_STOP_TIMEOUT) -> AsyncIterator[Registry]:
    """A registry whose watchers are stopped (within ``stop_timeout``) when the block ends."""
    async with trio.open_nursery() as nursery:
        registry = Registry(store, nursery)
        try:
            yield registry
        finally:
            with trio.CancelScope(shield=True):
                await registry.stop(stop_timeout)
            nursery.cancel_scope.cancel()
