"""What a fault kind is, and the table they register in: how a kind is read from a scenario,
what it does, how property tests draw it.

A ``FaultKind`` is registered once (``register_fault_kind``) by the module that implements
it; the loaded table is ``sim.faults.kinds``, where the scenario reader, the injector,
``nodesim kinds`` and the property-test generators look kinds up. Adding a fault kind is one
module plus one line there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

    from sim.faults.context import FaultWorld
    from sim.faults.readers import ReadContext
    from sim.faults.spec import FaultSpec
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
    # nodes a fault brought in (promote, join): in the set only once the validators approve
    # their join, perhaps blocks later, so none counts as a sure validator
    added: tuple[str, ...] = ()
    at: float = 0.0  # when the fault happens (virtual seconds)
    # when the schedule's faults must be over (everything is healed and restarted then), if
    # it has such an end: a timed fault that heal does not end is drawn to fit before it
    end: float | None = None
    evm: Any = None  # the world's EVM chain (a sim.testing.plan.EvmWorld), if it has one


@attrs.frozen
class FaultKind:
    """One kind of fault: its keys, its effect, and how to draw one."""

    name: str
    summary: str  # one line, for ``nodesim kinds`` and docs
    keys: str  # the keys it takes besides ``at`` and ``kind``: "a, b" both, "a | b" either, "a + b" together
    apply: Handler
    read: Reader | None = None  # reads its own keys (besides ``node``)
    targets_node: bool = False  # takes ``node``
    source: str | None = None  # the [sources.<kind>] it acts on
    generate: Generator | None = None  # None: property tests never draw it
    until_heal: bool = False  # without a ``duration`` it lasts until a ``heal`` (a network fault)


REGISTERED: dict[str, FaultKind] = {}
# Built-in kinds are listed (and named in errors) in this order; others follow as registered.
BUILTIN_ORDER = ("partition", "heal", "delay", "drop", "duplicate", "reorder", "crash", "restart",
                 "clock_skew", "listener_error", "promote", "demote", "join", "leave", "remove",
                 "evict_vote", "nonce_gap", "rpc_outage", "reorg_burst", "hub_outage")


def register_fault_kind(kind: FaultKind) -> FaultKind:
    if kind.name in REGISTERED:
        raise ValueError(f"fault kind {kind.name!r} is already registered")
    REGISTERED[kind.name] = kind
    return kind
