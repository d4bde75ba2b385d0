"""Every fault kind in one table: how it is read from a scenario, what it does, how property
tests draw it.

A ``FaultKind`` is registered once (``register_fault_kind``) by the module that implements
it; the scenario reader, the injector, ``nodesim kinds`` and the property-test generators
all look kinds up here. Adding a fault kind is one module plus one registration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

    from sim.faults.injector import FaultWorld
    from sim.faults.spec import FaultSpec, ReadContext
    from sim.tables import TableReader

Reader = Callable[["TableReader", "ReadContext", dict[str, Any]], None]
Handler = Callable[["FaultWorld", "FaultSpec"], None]
Generator = Callable[["DrawFn", "GenContext"], "dict[str, Any] | None"]


@attrs.frozen
class GenContext:
    """What a property-test generator knows of the world it draws a fault for."""

    nodes: tuple[str, ...]  # every node, in address order
    targets: tuple[str, ...]  # nodes a fault may hit (the rest stay correct and connected)
    options: Any  # sim.testing.options.WorldOptions: the limits the test lifted
    crashed: tuple[str, ...] = ()  # nodes crashed and not restarted so far
    outside: tuple[str, ...] = ()  # nodes outside the validator set so far (demoted, left, never in)
    demotions: int = 0  # demotions drawn so far


@attrs.frozen
class FaultKind:
    """One kind of fault: its keys, its effect, and how to draw one."""

    name: str
    summary: str  # one line, for ``nodesim kinds`` and docs
    keys: tuple[str, ...]  # the keys it takes besides ``at`` and ``kind``
    apply: Handler
    read: Reader | None = None  # reads its own keys (besides ``node``)
    targets_node: bool = False  # takes ``node``
    source: str | None = None  # the [sources.<kind>] it acts on
    generate: Generator | None = None  # None: property tests never draw it


_KINDS: dict[str, FaultKind] = {}
# Built-in kinds are listed (and named in errors) in this order; others follow as registered.
BUILTIN_ORDER = ("partition", "heal", "delay", "drop", "duplicate", "reorder", "crash", "restart",
                 "clock_skew", "listener_error", "promote", "demote", "join", "leave", "remove",
                 "evict_vote", "nonce_gap", "rpc_outage", "reorg_burst", "hub_outage")


def register_fault_kind(kind: FaultKind) -> FaultKind:
    if kind.name in _KINDS:
        raise ValueError(f"fault kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def fault_kinds() -> dict[str, FaultKind]:
    """Every registered fault kind, by name (importing the modules that define them)."""
    _load_builtin()
    rank = {name: i for i, name in enumerate(BUILTIN_ORDER)}
    names = sorted(_KINDS, key=lambda n: (rank.get(n, len(rank)), list(_KINDS).index(n)))
    return {name: _KINDS[name] for name in names}


def fault_kind(name: str) -> FaultKind:
    _load_builtin()
    return _KINDS[name]


def _load_builtin() -> None:
    # The built-in kinds register themselves when their modules are imported.
    from sim.faults import network, nodes, sources, validators  # noqa: F401
