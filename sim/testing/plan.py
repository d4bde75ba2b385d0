"""A world under construction: the scenario a property test is building, one action at a time.

Every world action a property test can take has a TOML form, and ``WorldPlan`` is where that
form is written: an event becomes a ``[[sources.script.events]]`` entry, a fault a
``[[faults]]`` entry, a byzantine turn a ``[nodes.vN] byzantine`` key, all at the plan's
current virtual time ``now``. ``to_dict()`` gives the raw scenario dict that
``sim.scenario.scenario_from_dict`` reads, so whatever a test did can be written out as a file
and replayed. The plan also remembers what it did (crashed nodes, demoted nodes, an open
partition) so that rules can stay meaningful (restart only what crashed).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import attrs

from node.extensions.pubsub_events import EVENT_TYPE as PUBSUB_EVENT_TYPE  # what its listener broadcasts
from node.extensions.watcher_events import EVENT_TYPE as WATCHER_EVENT_TYPE  # what its listener broadcasts
from sim.scenario_model import duration_text
from sim.testing.source_worlds import EvmWorld, LoadWorld, PubSubWorld, WatcherWorld
from sim.units import format_fraction, parse_duration

EVENT_TYPE = "note"  # the resolution type every scripted event of a property test has
REMOVALS = ("demote", "remove", "leave")  # fault kinds that take a validator out
ADDITIONS = ("promote", "join")  # fault kinds that bring a node in


@attrs.frozen(kw_only=True)
class WorldConfig:
    """The fixed part of a property-test world: its nodes, protocol, timing and resolution type.

    ``expiration_period`` and ``rebroadcast_after`` are in blocks; times in seconds.
    """

    seed: int = 0
    protocol: str = "kwil-0.7"
    bug_compat: tuple[str, ...] = ()
    powers: tuple[int, ...] = (1, 1, 1, 1)
    timeout_commit: float = 1.0
    latency_low: float = 0.02
    latency_high: float = 0.12
    observe_delay: float = 2.0  # each node sees a scripted event up to this long after it happens
    expiration_period: int = 30
    vote_expiry: int = 30  # blocks: a 0.7 placeholder's lifetime (the genesis parameter)
    confirmation_threshold: Fraction = Fraction(2, 3)
    refund_threshold: Fraction = Fraction(1, 3)
    rebroadcast_after: int = 10
    non_validators: tuple[str, ...] = ()  # nodes that start outside the validator set
    resolve: str | None = None  # "module:function" resolving the events (None: record the body)
    name: str = "property"
    evm: EvmWorld | None = None  # an EVM deposit chain besides the script source
    pubsub: PubSubWorld | None = None  # the pub/sub hub besides the script source
    watcher: WatcherWorld | None = None  # the watcher source besides the script source
    balance: int | None = None  # gas on, and every account's starting balance (None: gas off)
    load: LoadWorld | None = None  # users sending txs

    @property
    def sources(self) -> tuple[str, ...]:
        """The ``[sources]`` kinds of the world (what source fault kinds may act on)."""
        return ("script", *(("evm",) if self.evm is not None else ()),
                *(("pubsub",) if self.pubsub is not None else ()),
                *(("watcher",) if self.watcher is not None else ()))

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(f"v{i}" for i in range(len(self.powers)))

    def power_of(self, names: Sequence[str]) -> int:
        return sum(self.powers[int(name[1:])] for name in names)

    def base_dict(self, duration: float) -> dict[str, Any]:
        """The scenario dict without events, faults or byzantine nodes."""
        uniform = len(set(self.powers)) == 1
        data: dict[str, Any] = {
            "scenario": {"name": self.name, "seed": self.seed, "duration": duration_text(duration),
                         "protocol": self.protocol, "bug_compat": list(self.bug_compat)},
            "network": {"latency": {"dist": "uniform", "low": duration_text(self.latency_low),
                                    "high": duration_text(self.latency_high)}},
            "consensus": {"timeout_commit": duration_text(self.timeout_commit), "vote_expiry": self.vote_expiry},
            "validators": {"count": len(self.powers),
                           "power": self.powers[0] if uniform else list(self.powers),
                           "rebroadcast_after": self.rebroadcast_after},
            "resolutions": {EVENT_TYPE: {
                "confirmation_threshold": format_fraction(self.confirmation_threshold),
                "refund_threshold": format_fraction(self.refund_threshold),
                "expiration_period": self.expiration_period,
                **({"resolve": self.resolve} if self.resolve else {})}},
            "sources": {"script": {"type": EVENT_TYPE, "delay": {
                "dist": "uniform", "low": "0s", "high": duration_text(self.observe_delay)}}},
        }
        if self.non_validators:
            data["nodes"] = {name: {"start": "non-validator"} for name in self.non_validators}
        if self.evm is not None:
            extension, source = self.evm.tables()
            data["app"] = {"extensions": {"eth_deposits": extension}}
            data["sources"]["evm"] = source
        if self.pubsub is not None:
            _add_listened_source(data, "pubsub", "pubsub_events", PUBSUB_EVENT_TYPE, self.pubsub.tables())
        if self.watcher is not None:
            _add_listened_source(data, "watcher", "watcher_events", WATCHER_EVENT_TYPE, self.watcher.tables())
        if self.balance is not None:
            data["validators"].update(gas=True, balance=self.balance)
        if self.load is not None:
            data["load"], consensus = self.load.tables()
            data["consensus"].update(consensus)
        return data


def _add_listened_source(data: dict[str, Any], kind: str, extension_name: str, event_type: str,
                         tables: tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, str]]]) -> None:
    """Put a source and its listener's tables into a scenario dict: the common listener
    table, ``[sources.<kind>]``, the nodes' own listener tables (beside any other of theirs),
    and the resolution type its events take, resolved as the scripted ones are (no resolve
    function: theirs is written for scripted bodies)."""
    extension, source, own = tables
    data.setdefault("app", {}).setdefault("extensions", {})[extension_name] = extension
    data["sources"][kind] = source
    data["resolutions"][event_type] = {k: v for k, v in data["resolutions"][EVENT_TYPE].items() if k != "resolve"}
    for node, table in own.items():
        data.setdefault("nodes", {}).setdefault(node, {}).setdefault("extensions", {})[extension_name] = table


@attrs.define(eq=False)
class WorldPlan:
    """The scenario being built: actions are appended at ``now``, which only moves forward.

    ``tail`` is how long the world runs after the last action (so expiries and repairs are
    reached); ``liveness_within`` turns on the liveness check with that bound.
    """

    config: WorldConfig
    tail: float = 120.0
    liveness_within: float | None = None
    now: float = 0.0
    events: list[dict[str, Any]] = attrs.field(factory=list)
    faults: list[dict[str, Any]] = attrs.field(factory=list)
    byzantine: dict[str, str] = attrs.field(factory=dict)
    crashed: list[str] = attrs.field(factory=list)
    outside: list[str] = attrs.field(factory=list)  # nodes outside the validator set
    partitioned: bool = False
    demotions: int = 0
    removed: list[str] = attrs.field(factory=list)  # validators a fault takes out, ever
    added: list[str] = attrs.field(factory=list)  # nodes a fault brings in, ever
    # Nodes an rpc_outage hit: their eth_deposits listener gives up after max_retries + 2
    # failed calls (11 to 85 s of backoff by default), which shuts the node down as kwil does.
    outages: list[str] = attrs.field(factory=list)
    quiet_at: float = 0.0  # when the last fault (including its duration) is over

    # -- time ----------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass before the next action."""
        if seconds <= 0:
            raise ValueError(f"advance: expected seconds > 0, got {seconds!r}")
        self.now += seconds

    # -- events ----------------------------------------------------------------------------
    def emit(self, seen_by: Sequence[str] | None = None) -> str:
        """A scripted event shown now to ``seen_by`` (None: every node); returns its data."""
        data = f"e{len(self.events)}"
        entry: dict[str, Any] = {"at": duration_text(self.now), "type": EVENT_TYPE, "data": data,
                                 "seen_by": "all" if seen_by is None else sorted(seen_by, key=_order)}
        self.events.append(entry)
        return data

    # -- faults ----------------------------------------------------------------------------
    def fault(self, kind: str, *, later: float = 0.0, **keys: Any) -> dict[str, Any]:
        """A ``[[faults]]`` entry of ``kind`` now (or ``later`` seconds from now, without
        moving ``now``); ``keys`` as the TOML has them (durations in seconds are written as
        duration strings)."""
        at = self.now + later
        entry: dict[str, Any] = {"at": duration_text(at), "kind": kind}
        for key, value in keys.items():
            timed = key in ("duration", "extra") and not isinstance(value, str)
            entry[key] = duration_text(value) if timed else value
        self.faults.append(entry)
        self.quiet_at = max(self.quiet_at, at + float(keys.get("duration") or 0.0))
        return entry

    def note(self, kind: str, keys: dict[str, Any]) -> None:
        """Remember what a fault did to the plan's picture of the world (crashed nodes,
        nodes outside the validator set, partitions left open)."""
        node = str(keys.get("node"))
        if kind in REMOVALS and node not in self.removed:
            self.removed.append(node)
        elif kind in ADDITIONS and node not in self.added:
            self.added.append(node)
        if kind == "rpc_outage" and node not in self.outages:
            self.outages.append(node)
        if kind in ("crash", "listener_error") and node not in self.crashed:
            self.crashed.append(node)
        elif kind == "restart" and node in self.crashed:
            self.crashed.remove(node)
        elif kind in REMOVALS and node not in self.outside:
            self.outside.append(node)
            self.demotions += kind != "leave"
        elif kind in ADDITIONS and node in self.outside and node not in self.crashed:
            self.outside.remove(node)  # (a node that is down sends no join: it stays out)
        elif kind == "partition":
            self.partitioned = self.partitioned or "duration" not in keys
        elif kind == "heal":
            self.partitioned = False

    def inject(self, kind: str, keys: dict[str, Any], later: float = 0.0) -> None:
        """A fault of ``kind`` with ``keys`` (as a catalog generator drew them)."""
        self.fault(kind, later=later, **keys)
        self.note(kind, keys)

    def crash(self, node: str) -> None:
        self.inject("crash", {"node": node})

    def restart(self, node: str) -> None:
        self.inject("restart", {"node": node})

    def demote(self, node: str) -> None:
        self.inject("demote", {"node": node})

    def promote(self, node: str) -> None:
        self.inject("promote", {"node": node})

    def partition(self, groups: Sequence[Sequence[str]], duration: float | None = None) -> None:
        keys: dict[str, Any] = {"groups": [sorted(g, key=_order) for g in groups]}
        if duration is not None:
            keys["duration"] = duration
        self.inject("partition", keys)

    def heal(self) -> None:
        self.inject("heal", {})

    def evict_vote(self, node: str, later: float = 0.0) -> None:
        """The node's pending vote-ids tx vanishes ``later`` seconds from now (a vote is
        pending for about a block after an event is seen, so a little later hits one)."""
        self.fault("evict_vote", later=later, node=node)

    def nonce_gap(self, node: str) -> None:
        self.fault("nonce_gap", node=node)

    def byzantine_candidates(self, limit: int) -> list[str]:
        """Nodes that may turn byzantine while the byzantine stay a minority: at most
        ``limit`` nodes, holding less than a third of the power of the starting validators
        no fault removes (``byzantine_minority``)."""
        if len(self.byzantine) >= limit:
            return []
        return [n for n in self.config.nodes if n not in self.byzantine
                and byzantine_minority(self.config, [*self.byzantine, n], self.removed, self.added)]

    def keeps_byzantine_minority(self, kind: str, node: str) -> bool:
        """Whether a fault of ``kind`` on ``node`` leaves the byzantine a minority."""
        removed = [*self.removed, node] if kind in REMOVALS else self.removed
        added = [*self.added, node] if kind in ADDITIONS else self.added
        return byzantine_minority(self.config, list(self.byzantine), removed, added)

    def turn_byzantine(self, node: str, kind: str) -> None:
        """``[nodes.vN] byzantine``: the node behaves so from the start of the run."""
        self.byzantine[node] = kind

    # -- the result ------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        end = max(self.now, self.quiet_at) + self.tail  # quiet_at covers faults planned later
        if self.liveness_within is not None:
            end = max(end, self.quiet_at + self.liveness_within + self.tail)
        return end

    def to_dict(self) -> dict[str, Any]:
        """The raw scenario dict (as ``tomllib`` would read it) of everything planned so far."""
        data = self.config.base_dict(self.duration)
        for node, kind in sorted(self.byzantine.items(), key=lambda kv: _order(kv[0])):
            data.setdefault("nodes", {}).setdefault(node, {})["byzantine"] = kind
        if self.events:
            data["sources"]["script"]["events"] = [dict(e) for e in self.events]
        faults = [dict(f) for f in self.faults]
        # Whatever was crashed or shut down comes back before the tail: a chain whose every
        # validator stays down halts by design (chain-stalled says so), which is not what a
        # property about the protocol is after.
        back = duration_text(max([self.now] + [parse_duration(f["at"]) for f in self.faults]))
        faults += [{"at": back, "kind": "restart", "node": node} for node in _down_at_end(self.faults)]
        if faults:
            data["faults"] = faults
        if self.liveness_within is not None:
            data["checks"] = {"liveness": {"within": duration_text(self.liveness_within)}}
        return data


def _down_at_end(faults: Sequence[dict[str, Any]]) -> list[str]:
    """Nodes a crash or a listener error leaves down, taking the faults in time order: one
    planned with a lead can land after a restart planned later (``crashed`` follows the
    order the plan was built in)."""
    down: list[str] = []
    for entry in sorted(faults, key=lambda f: parse_duration(f["at"])):  # stable: ties in plan order
        node = str(entry.get("node"))
        if entry["kind"] in ("crash", "listener_error") and node not in down:
            down.append(node)
        elif entry["kind"] == "restart" and node in down:
            down.remove(node)
    return down


def byzantine_minority(config: WorldConfig, byzantine: Sequence[str], removed: Sequence[str] = (),
                       added: Sequence[str] = ()) -> bool:
    """Whether ``byzantine`` hold less than a third of the power of the starting validators
    that no fault removes, none of them brought in by a fault: the fault tolerance BFT
    consensus assumes, kept for the whole run. (Removing honest validators used to hand the
    byzantine the confirmation threshold, and a fake then passes by design.)"""
    if not byzantine:
        return True
    if set(byzantine) & set(added):
        return False
    validators = [n for n in config.nodes if n not in config.non_validators]
    total = config.power_of([n for n in validators if n not in removed])
    return 3 * config.power_of([n for n in byzantine if n in validators]) < total


def _order(name: str) -> int:
    """Node names in address order (v2 before v10)."""
    return int(name[1:])
