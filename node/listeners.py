"""Listeners: kwil's ListenFunc actors, their registry, and the manager that runs them.

A listener is ``async def listen(service, eventstore) -> None``. It runs in its own task
inside a cancel scope owned by its node: the node cancels the scope when it stops being a
synced validator (demotion, leave, removal, crash, shutdown) and calls every listener again
on re-promotion. A listener that raises cancels its siblings and shuts its node down;
returning ends only that listener until the next promotion.
"""

from __future__ import annotations

import importlib
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

if TYPE_CHECKING:
    from node.eventstore import EventStore

ListenFunc = Callable[["ListenerService", "ListenerEventStore"], Awaitable[None]]


class ListenerNode(Protocol):
    """What listeners use of their node (``node.node.Node``)."""

    store: EventStore

    def trace(self, event: str, **fields: Any) -> None: ...
    def listener_service(self) -> ListenerService: ...
    def listener_failed(self, failure: BaseException) -> None: ...
    def broadcast_event(self, event_type: str, data: bytes, listener: str) -> None: ...


class ListenerNameError(ValueError):
    """A listener name breaks kwil's rules (spaces) or is registered twice."""


class ListenerRegistry:
    """Listener functions by name; each world gets its own copy."""

    def __init__(self) -> None:
        self._funcs: dict[str, ListenFunc] = {}

    def register(self, name: str, func: ListenFunc) -> None:
        """kwil's RegisterListener: the name is lower-cased, has no spaces, and is unique."""
        if " " in name:
            raise ListenerNameError(f"listener name {name!r} must not contain spaces")
        key = name.lower()
        if key in self._funcs:
            raise ListenerNameError(f"listener {key!r} is already registered")
        self._funcs[key] = func

    def copy(self) -> ListenerRegistry:
        clone = ListenerRegistry()
        clone._funcs = dict(self._funcs)
        return clone

    def items(self) -> Iterator[tuple[str, ListenFunc]]:
        return iter(sorted(self._funcs.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._funcs

    def __len__(self) -> int:
        return len(self._funcs)


# Listeners registered by imported modules (kwil's init-time RegisterListener). A world copies
# this registry when it is built, so registering later never changes a running world.
DEFAULT_REGISTRY = ListenerRegistry()


def register_listener(name: str, func: ListenFunc) -> None:
    """kwil's RegisterListener: make ``func`` run on every validator of worlds built later."""
    DEFAULT_REGISTRY.register(name, func)


def load_function(spec: str) -> Any:
    """Import ``"module:function"`` (how scenarios name user code)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f'expected "module:function", got {spec!r}')
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None


@attrs.frozen
class TxOutcomeInfo:
    """What one tx of a committed block did."""

    kind: str  # "ValidatorVoteIDs" style: the tx class name
    sender: str
    nonce: int
    ok: bool
    error: str | None


@attrs.frozen
class CommittedBlock:
    """A block as a listener following the chain sees it, once its node committed it."""

    height: int
    time: float  # the proposer's clock when it proposed the block
    proposer: str
    txs: tuple[TxOutcomeInfo, ...]


@attrs.define(eq=False)
class ListenerService:
    """What a listener gets besides its event store (kwil's ``common.Service``)."""

    name: str
    extension_configs: dict[str, dict[str, str]]
    rng: random.Random
    _dial: Callable[[str], Any]
    _log: Callable[..., None]
    _blocks: Callable[[], AsyncIterator[CommittedBlock]]

    def dial(self, address: str) -> Any:
        """This node's endpoint of the external system at ``address`` (e.g. "ws://evm")."""
        return self._dial(address)

    def log(self, event: str, **fields: object) -> None:
        self._log(event, **fields)

    def blocks(self) -> AsyncIterator[CommittedBlock]:
        """The blocks this node commits from now on, in height order, as they commit::

            async for block in service.blocks():
                ...  # block.height, block.time, block.txs
        """
        return self._blocks()


@attrs.define(eq=False)
class ListenerEventStore:
    """A listener's view of its node's event store: broadcast, and a KV scoped to its name."""

    _node: ListenerNode
    _listener: str

    async def broadcast(self, event_type: str, data: bytes) -> None:
        """Store an event for voting (idempotent; a no-op once it is processed on chain)."""
        await trio.lowlevel.checkpoint()
        self._node.broadcast_event(event_type, bytes(data), self._listener)

    async def set(self, key: str, value: bytes) -> None:
        await trio.lowlevel.checkpoint()
        self._node.store.kv(self._listener).set(key, value)

    async def get(self, key: str) -> bytes | None:
        await trio.lowlevel.checkpoint()
        return self._node.store.kv(self._listener).get(key)

    async def delete(self, key: str) -> None:
        await trio.lowlevel.checkpoint()
        self._node.store.kv(self._listener).delete(key)


class ListenerManager:
    """Starts a node's listeners when it is a synced validator and stops them when not."""

    def __init__(self, node: ListenerNode, registry: ListenerRegistry, *,
                 error_after_cancel_shuts_down: bool = False) -> None:
        self._node = node
        self._registry = registry
        # kwil 0.7.6 (listeners/mgr.go) shuts the node down when a listener returns an error
        # after its context was cancelled; 0.8.4 ignores such an error.
        self._error_after_cancel_shuts_down = error_after_cancel_shuts_down
        self._scope: trio.CancelScope | None = None
        self.starts = 0
        self.cancellations = 0
        self.running: set[str] = set()

    @property
    def active(self) -> bool:
        return self._scope is not None

    @property
    def registered(self) -> int:
        """How many listeners this node runs when it is a synced validator."""
        return len(self._registry)

    def start(self, nursery: trio.Nursery) -> None:
        if self._scope is not None or len(self._registry) == 0:
            return
        scope = trio.CancelScope()
        self._scope = scope
        self.starts += 1
        self._node.trace("listeners.start")
        nursery.start_soon(self._supervise, scope)

    def stop(self, reason: str) -> None:
        scope = self._scope
        if scope is None:
            return
        self._scope = None
        self.cancellations += 1
        self._node.trace("listeners.cancel", reason=reason)
        scope.cancel()

    async def _supervise(self, scope: trio.CancelScope) -> None:
        failure: BaseException | None = None
        with scope:
            try:
                async with trio.open_nursery() as nursery:
                    for name, func in self._registry.items():
                        nursery.start_soon(self._run_one, name, func)
            except Exception as exc:  # a listener raised: its siblings are already cancelled
                failure = exc
        self.running.clear()
        if failure is not None:
            if self._scope is scope:
                self._scope = None
            # The node itself going away (a crash, or the end of the run, which is no kwil
            # event) changes nothing; kwil 0.8.4 also ignores an error after its own cancel.
            node_ending = trio.current_effective_deadline() == -math.inf
            if node_ending or (scope.cancel_called and not self._error_after_cancel_shuts_down):
                self._node.trace("listener.error_ignored", error=str(failure))
                return
            self._node.listener_failed(failure)

    async def _run_one(self, name: str, func: ListenFunc) -> None:
        node = self._node
        service = node.listener_service()
        eventstore = ListenerEventStore(node, name)
        self.running.add(name)
        try:
            await func(service, eventstore)
        except trio.Cancelled:
            raise
        except Exception as exc:
            node.trace("listener.error", listener=name, error=f"{type(exc).__name__}: {exc}")
            raise ListenerFailed(name, exc) from exc
        finally:
            self.running.discard(name)
        node.trace("listener.return", listener=name)


class ListenerFailed(Exception):
    """A listener raised; its node shuts down."""

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"listener {name!r} failed: {type(cause).__name__}: {cause}")
        self.listener = name
        self.cause = cause
