"""Every kind of external system a scenario can name under ``[sources.<kind>]``, in one table.

A ``SourceKind`` says all the world needs to know about one kind: the class that reads its
table, the class that runs it, the listener it enables on every validator (and the
``[app.extensions]`` table that listener needs), the summary fields it adds, and the fault
kinds and invariants it brings. Adding a source is one new package plus one
``register_source`` call here. Classes are named as ``"module:attr"`` and imported only when
a scenario uses that kind.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs


@attrs.frozen
class SourceKind:
    """One kind of external system and what it brings to a world."""

    name: str  # the [sources.<name>] table
    summary: str  # one line: what it is (``nodesim kinds``)
    config: str  # "module:Class" with from_table(reader) / to_table()
    source: str  # "module:Class"(config, SourceContext): run(), endpoint(node), summary(), address
    listener: str  # the built-in listener it enables on every validator
    listen: str  # "module:function" of that listener
    extension: str | None = None  # the [app.extensions.<name>] table the listener reads
    summary_fields: str | None = None  # "module:function"(view) -> extra summary fields
    faults: tuple[str, ...] = ()  # fault kinds that act on this source
    checkers: tuple[str, ...] = ()  # invariants that only mean something with this source


_KINDS: dict[str, SourceKind] = {}


def register_source(kind: SourceKind) -> None:
    if kind.name in _KINDS:
        raise ValueError(f"source kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind


def source_kinds() -> dict[str, SourceKind]:
    """Every registered kind, by name."""
    return dict(_KINDS)


def source_kind(name: str) -> SourceKind:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise KeyError(f"unknown source kind {name!r} (known: {known})") from None


def load(spec: str) -> Any:
    """Import what ``"module:attr"`` names."""
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


register_source(SourceKind(
    name="script", summary="scripted and Poisson events shown to chosen validators (listener: script)",
    config="sim.sources.script_config:ScriptConfig",
    source="sim.sources.script:ScriptSource",
    listener="script", listen="node.extensions.script:script"))
register_source(SourceKind(
    name="evm", summary="an EVM chain with deposits, reorgs and flaky RPC (listener: eth_deposits, "
                        "needs [app.extensions.eth_deposits])",
    config="sim.sources.evm:EvmConfig", source="sim.sources.evm:EvmSource",
    listener="eth_deposits", listen="node.extensions.eth_deposits:eth_deposits",
    extension="eth_deposits", summary_fields="sim.checks.deposits:deposit_summary",
    faults=("rpc_outage", "reorg_burst"), checkers=("deposits-exact",)))
register_source(SourceKind(
    name="watcher", summary="an orchestrator's job-event log, Bacalhau's watcher library "
                            "(listener: watcher_events)",
    config="sim.sources.watcher.source:WatcherSourceConfig",
    source="sim.sources.watcher.source:WatcherSource",
    listener="watcher_events", listen="node.extensions.watcher_events:watcher_events",
    checkers=("watcher-order",)))
register_source(SourceKind(
    name="pubsub", summary="the Internet Computer events hub with publishers (listener: pubsub_events, "
                           "needs [app.extensions.pubsub_events])",
    config="sim.sources.pubsub.source:PubSubSourceConfig",
    source="sim.sources.pubsub.source:PubSubSource",
    listener="pubsub_events", listen="node.extensions.pubsub_events:pubsub_events",
    extension="pubsub_events", faults=("hub_outage",), checkers=("pubsub-stats",)))
