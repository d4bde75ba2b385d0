"""Hypothesis strategies for whole worlds: ``scenarios()`` and ``fault_schedules()``.

By default they draw the wide worlds of ``sim.testing.options.WorldOptions`` (1 to 10
validators of unequal power, both protocols, byzantine nodes, every fault kind the catalog
can draw) with short expiration periods (tens of blocks), so that expiry, refund and
rebroadcast paths are reached within minutes. Pass ``options=`` to narrow them. Swarm
testing: unless told which, each example switches on a random subset of fault kinds
(``fault_kinds()``), so some examples hammer one kind and others mix many. Fault keys come
from each kind's own generator in the fault catalog (``sim.faults.catalog``).

``evm=True`` adds an EVM deposit chain watched by every validator's eth_deposits listener,
and with it the source fault kinds (``rpc_outage``, ``reorg_burst``); ``pubsub=True`` adds
the pub/sub hub every validator's pubsub_events listener subscribes to, and with it
``hub_outage``; ``watcher=True`` adds the watcher source (an orchestrator's job-event log)
every validator's watcher_events listener watches (it has no fault kind of its own).
``gas=True`` switches gas on, with a drawn balance for every account; ``load=True`` adds users
sending txs (``[load]``) and, outside liveness worlds, a drawn block size. A world without a
source, gas or load never draws them, and draws exactly what it drew before they could be drawn
(each is drawn after everything else of the world, in that order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import attrs
from hypothesis import strategies as st

from sim.faults.catalog import GenContext
from sim.faults.kinds import fault_kind
from sim.scenario import scenario_from_dict
from sim.scenario_model import Scenario, duration_text
from sim.testing.local_modules import import_every_module
from sim.testing.options import DEFAULT_OPTIONS, WorldOptions
from sim.testing.plan import ADDITIONS, EVENT_TYPE, REMOVALS, WorldConfig, byzantine_minority
from sim.testing.source_strategies import evm_worlds, load_worlds, pubsub_worlds, watcher_worlds
from sim.testing.source_worlds import EvmWorld, PubSubWorld, WatcherWorld
from sim.units import parse_duration

# Kinds that keep a node correct and connected in the long run (used for liveness worlds,
# which end with a heal and a restart of every faulted node). An rpc_outage or a hub_outage
# is drawn to end by then (heal does not end them), and a reorg_burst no deeper than the
# confirmations.
RECOVERABLE = ("crash", "restart", "partition", "heal", "delay", "drop", "duplicate", "reorder",
               "clock_skew", "listener_error", "evict_vote", "nonce_gap", "demote", "leave", "promote",
               "rpc_outage", "reorg_burst", "hub_outage")
REFUND_THRESHOLDS = (Fraction(1, 3), Fraction(1, 2), Fraction(1, 1))
FAULT_MENU = DEFAULT_OPTIONS.fault_kinds


def _seconds(value: str | float) -> float:
    return parse_duration(value) if isinstance(value, str) else float(value)


def _as_strategy(value: Any) -> st.SearchStrategy[Any]:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


def fault_kinds(menu: Sequence[str] = FAULT_MENU) -> st.SearchStrategy[tuple[str, ...]]:
    """Swarm testing: a random non-empty subset of ``menu``, in menu order."""
    return st.sets(st.sampled_from(tuple(menu)), min_size=1).map(
        lambda chosen: tuple(k for k in menu if k in chosen))


@st.composite
def world_configs(draw: st.DrawFn, *, options: WorldOptions = DEFAULT_OPTIONS,
                  validators: int | st.SearchStrategy[int] | None = None,
                  timeout_commit: float | st.SearchStrategy[float] | None = None,
                  rebroadcast_after: int | st.SearchStrategy[int] | None = None,
                  protocols: Sequence[str] | None = None, bug_compat: Sequence[str] | None = None,
                  evm: bool = False, pubsub: bool = False, watcher: bool = False,
                  gas: bool = False, load: bool = False, spare_core: bool = False) -> WorldConfig:
    """The fixed part of a world: unequal powers, a protocol, short expirations, and some
    nodes that start outside the validator set (so joins have someone to join); with
    ``evm``, an EVM deposit chain (``evm_worlds``); with ``pubsub``, the pub/sub hub
    (``pubsub_worlds``); with ``watcher``, the watcher source (``watcher_worlds``); with
    ``gas``, gas on and a balance from ``options.balances``; with ``load``, users sending txs
    (``load_worlds``, in a ``spare_core`` world with blocks of the default size).

    A node with a filter or a listener table of its own is a misconfigured node; with
    ``spare_core`` (a liveness world) the core that faults spare (``_core``) gets none: a core
    node blind to the events left an event observed by the threshold resting on a non-core
    vote, and a removal erases a vote its node will not send again (kwil 0.8's voter deletes
    the event it voted), so the event never resolved.

    Expirations (of the resolution type, and ``vote_expiry`` of 0.7 placeholders) are drawn
    above ``rebroadcast_after`` so that a lost vote is repaired before its event expires.
    """
    import_every_module()  # the same draws whatever was imported before (see local_modules)
    low, high = options.validators
    count = draw(_as_strategy(validators) if validators is not None else st.integers(low, high))
    if count < 1:
        raise ValueError(f"validators: expected at least 1, got {count}")
    r_low, r_high = options.rebroadcast_after
    repair = draw(_as_strategy(rebroadcast_after) if rebroadcast_after is not None
                  else st.integers(r_low, r_high))
    nodes = [f"v{i}" for i in range(count)]
    outside = draw(st.sets(st.sampled_from(nodes[1:]), max_size=min(2, count - 1))) if count > 1 else set()
    p_low, p_high = options.powers
    expirations = options.expirations or (repair + 8, repair + 30)
    config = WorldConfig(
        seed=draw(st.integers(0, 2**16)),
        protocol=draw(st.sampled_from(tuple(protocols or options.protocols))),
        bug_compat=tuple(options.bug_compat if bug_compat is None else bug_compat),
        powers=tuple(draw(st.lists(st.integers(p_low, p_high), min_size=count, max_size=count))),
        timeout_commit=draw(_as_strategy(timeout_commit) if timeout_commit is not None
                            else st.sampled_from(options.timeout_commits)),
        expiration_period=draw(st.integers(*expirations)),
        vote_expiry=draw(st.integers(*expirations)),
        resolve=options.resolve,
        refund_threshold=draw(st.sampled_from(REFUND_THRESHOLDS)),
        rebroadcast_after=repair,
        non_validators=tuple(n for n in nodes if n in outside),
    )
    # drawn last (the hub after the chain, the watcher after the hub), so that a world without
    # them draws the same as before they existed
    if evm:
        config = attrs.evolve(config, evm=draw(evm_worlds(options)))
    core = _core(config.powers, config.non_validators) if spare_core else []
    misconfigurable = [n for n in config.nodes if n not in core]
    if pubsub:
        config = attrs.evolve(config, pubsub=draw(pubsub_worlds(options, misconfigurable)))
    if watcher:
        config = attrs.evolve(config, watcher=draw(watcher_worlds(options, misconfigurable)))
    if gas:
        config = attrs.evolve(config, balance=draw(st.sampled_from(options.balances)))
    if load:
        config = attrs.evolve(config, load=draw(load_worlds(options, config.nodes, gas=gas,
                                                            small_blocks=not spare_core)))
    return config


def draw_fault(draw: st.DrawFn, kind: str, ctx: GenContext) -> dict[str, Any] | None:
    """The keys of one fault of ``kind`` (None when the kind has nothing to do here)."""
    generate = fault_kind(kind).generate
    return None if generate is None else generate(draw, ctx)


@st.composite
def fault_schedules(draw: st.DrawFn, nodes: Sequence[str], duration: str | float, *,
                    kinds: Sequence[str] | None = None, spare: Sequence[str] = (),
                    max_faults: int | None = None, options: WorldOptions = DEFAULT_OPTIONS,
                    outside: Sequence[str] = (), evm: EvmWorld | None = None,
                    pubsub: PubSubWorld | None = None,
                    watcher: WatcherWorld | None = None) -> list[dict[str, Any]]:
    """A list of ``[[faults]]`` tables within the first ``duration`` of a run, sorted by time.

    ``kinds`` limits the fault kinds (None: a swarm subset of ``options.fault_menu(...)``);
    nodes in ``spare`` are never a fault's target and stay connected to each other;
    ``outside`` are the nodes that start outside the validator set; ``evm``, ``pubsub`` and
    ``watcher`` are the world's EVM chain, pub/sub hub and watcher source, if it has them:
    without one no kind that acts on it is drawn (no kind acts on the watcher). Every timed
    fault that heal does not end (an RPC or hub outage) is over by ``duration``, and what a
    fault took down (a crash, a listener error, an RPC outage) is restarted then.
    """
    import_every_module()  # the same draws whatever was imported before (see local_modules)
    from sim.testing.plan import WorldPlan

    horizon = _seconds(duration)
    sources = tuple(name for name, world in (("evm", evm), ("pubsub", pubsub), ("watcher", watcher))
                    if world is not None)
    if kinds is not None:
        menu = tuple(k for k in kinds if fault_kind(k).source in (None, *sources))
    else:
        menu = draw(fault_kinds(options.fault_menu(sources)))
    targets = tuple(n for n in nodes if n not in spare)
    if not menu or not targets:
        return []
    count = draw(st.integers(0, options.max_faults if max_faults is None else max_faults))
    times = sorted(draw(st.lists(st.integers(0, int(horizon)), min_size=count, max_size=count)))
    plan = WorldPlan(WorldConfig(powers=(1,) * len(nodes)), outside=list(outside))
    faults: list[dict[str, Any]] = []
    for at in times:
        kind = draw(st.sampled_from(menu))
        ctx = GenContext(tuple(nodes), targets, options, tuple(plan.crashed), tuple(plan.outside),
                         plan.demotions, added=tuple(plan.added), at=float(at), end=horizon, evm=evm)
        keys = draw_fault(draw, kind, ctx)
        if keys is None:
            continue
        plan.note(kind, keys)
        entry: dict[str, Any] = {"at": duration_text(float(at)), "kind": kind}
        for key, value in keys.items():
            timed = key in ("duration", "extra") and not isinstance(value, str)
            entry[key] = duration_text(value) if timed else value
        faults.append(entry)
    # What was crashed or shut down comes back at the horizon (a chain whose every
    # validator stays down halts by design); an RPC outage may have shut its node down.
    down = [*plan.crashed, *(n for n in plan.outages if n not in plan.crashed)]
    faults += [{"at": duration_text(horizon), "kind": "restart", "node": n} for n in down]
    return faults


def _minority(config: WorldConfig, chosen: Sequence[str], schedule: Sequence[dict[str, Any]]) -> list[str]:
    """The first of ``chosen`` while together they stay a byzantine minority through
    ``schedule``'s removals and additions (``plan.byzantine_minority``)."""
    removed = [str(f.get("node")) for f in schedule if f["kind"] in REMOVALS]
    added = [str(f.get("node")) for f in schedule if f["kind"] in ADDITIONS]
    kept: list[str] = []
    for node in chosen:
        if byzantine_minority(config, [*kept, node], removed, added):
            kept.append(node)
    return kept


def _core(powers: Sequence[int], outside: Sequence[str]) -> list[str]:
    """The smallest prefix of validators (by address) holding more than 2/3 of the power."""
    names = [f"v{i}" for i in range(len(powers))]
    total = sum(p for n, p in zip(names, powers, strict=True) if n not in outside)
    core, power = [], 0
    for name, p in zip(names, powers, strict=True):
        if name in outside:
            continue
        core.append(name)
        power += p
        if 3 * power > 2 * total:
            break
    return core


@st.composite
def scenario_dicts(draw: st.DrawFn, *, options: WorldOptions = DEFAULT_OPTIONS,
                   validators: int | st.SearchStrategy[int] | None = None,
                   duration: str | float | None = None, protocols: Sequence[str] | None = None,
                   bug_compat: Sequence[str] | None = None, faults: bool = True,
                   fault_menu: Sequence[str] | None = None, max_events: int = 6,
                   liveness_within: str | float | None = None,
                   timeout_commit: float | st.SearchStrategy[float] | None = None,
                   byzantine: bool = True, evm: bool = False, pubsub: bool = False,
                   watcher: bool = False, gas: bool = False, load: bool = False) -> dict[str, Any]:
    """A raw scenario dict (what ``tomllib`` would read); see ``scenarios()``."""
    import_every_module()  # the same draws whatever was imported before (see local_modules)
    config = draw(world_configs(options=options, validators=validators, protocols=protocols,
                                bug_compat=bug_compat, timeout_commit=timeout_commit, evm=evm,
                                pubsub=pubsub, watcher=watcher, gas=gas, load=load,
                                spare_core=liveness_within is not None))
    nodes = list(config.nodes)
    length = _seconds(duration) if duration is not None else float(draw(st.sampled_from((120, 180, 300))))
    horizon = length * 0.6
    spare: list[str] = []
    if liveness_within is not None:
        spare = _core(config.powers, config.non_validators)
        fault_menu = tuple(k for k in options.fault_menu(config.sources) if k in RECOVERABLE) \
            if fault_menu is None else fault_menu
    schedule = draw(fault_schedules(nodes, horizon, kinds=fault_menu, spare=spare, options=options,
                                    outside=config.non_validators, evm=config.evm,
                                    pubsub=config.pubsub, watcher=config.watcher)) if faults else []
    if liveness_within is not None:
        # Heal and bring back every faulted node, so the quiet period really is quiet.
        schedule.append({"at": duration_text(horizon), "kind": "heal"})
        schedule += [{"at": duration_text(horizon), "kind": "restart", "node": n}
                     for n in nodes if n not in spare]
        quiet = horizon + max((_seconds(f.get("duration", 0.0)) for f in schedule), default=0.0)
        length = max(length, quiet + _seconds(liveness_within) + 30.0)
        # No resolution may expire before the run ends (no draw: the worlds stay the same
        # otherwise). Liveness asks whether events resolve; an expiry shorter than what a
        # fault leaves behind (a restarted node's catch-up, a vote refused for a nonce gap and
        # sent again rebroadcast_after blocks later) ended them first, whatever the protocol did.
        lasting = math.ceil(length / config.timeout_commit) + 1  # blocks are timeout_commit apart at least
        config = attrs.evolve(config, expiration_period=max(config.expiration_period, lasting),
                              vote_expiry=max(config.vote_expiry, lasting))
    data = config.base_dict(length)
    if byzantine:
        limit = options.byzantine_limit(len(nodes))
        candidates = [n for n in nodes if n not in spare]
        chosen = draw(st.lists(st.sampled_from(candidates), max_size=limit, unique=True)) if candidates and limit \
            else []
        for node in _minority(config, chosen, schedule):
            data.setdefault("nodes", {}).setdefault(node, {})["byzantine"] = draw(
                st.sampled_from(options.byzantine_kinds))
    events = []
    count = draw(st.integers(0, max_events))
    for i, at in enumerate(sorted(draw(st.lists(st.integers(0, int(horizon)), min_size=count,
                                                max_size=count)))):
        subset = draw(st.one_of(st.just("all"), st.sets(st.sampled_from(nodes), min_size=1)))
        seen_by = subset if subset == "all" else [n for n in nodes if n in subset]
        events.append({"at": duration_text(float(at)), "type": EVENT_TYPE, "data": f"e{i}",
                       "seen_by": seen_by})
    if events:
        data["sources"]["script"]["events"] = events
    if schedule:
        data["faults"] = schedule
    if liveness_within is not None:
        data["checks"] = {"liveness": {"within": duration_text(_seconds(liveness_within))}}
    return data


def scenarios(**kwargs: Any) -> st.SearchStrategy[Scenario]:
    """Validated ``Scenario``s of generated worlds (keywords as ``scenario_dicts``).

    ``options`` (a ``WorldOptions``: the wide worlds by default), ``validators`` (an int or a
    strategy), ``duration`` (default 2-5 minutes), ``protocols``, ``bug_compat``, ``faults``
    (False: none), ``fault_menu`` (None: a swarm subset), ``max_events``, ``byzantine``
    (False: none), ``liveness_within`` (set: faults spare a core of more than 2/3 of the
    power, everything heals and restarts by 60% of the run, and liveness is checked),
    ``evm`` (True: an EVM deposit chain, every validator's eth_deposits listener, and the
    ``rpc_outage`` and ``reorg_burst`` faults among those drawn), ``pubsub`` (True: the
    pub/sub hub with its publishers, every validator's pubsub_events listener, and the
    ``hub_outage`` fault among those drawn), ``watcher`` (True: the watcher source, an
    orchestrator's job-event log with drawn rate, object types, GC and long polling, and every
    validator's watcher_events listener with drawn filters and batch size, a node or two with
    a table of its own, outside the spared core in a liveness world; it brings no fault kind),
    ``gas`` (True: gas on, every account starting with a balance from ``options.balances``),
    ``load`` (True: users sending txs at a drawn rate from drawn accounts, now and then a
    node's own, in blocks of a drawn size outside liveness worlds, where small blocks would
    keep votes out for good).
    """
    return scenario_dicts(**kwargs).map(lambda data: scenario_from_dict(data, file="<hypothesis>"))
