"""Hypothesis strategies for what a generated world has beside its validators: an EVM
deposit chain, the pub/sub hub, the watcher source (each with every validator's listener of it)
and users sending txs, as the ``WorldOptions`` allow. ``sim.testing.strategies`` draws them
last, so a world without them draws what it drew before they existed."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from sim.testing.options import DEFAULT_OPTIONS, WorldOptions
from sim.testing.source_worlds import EvmWorld, LoadWorld, PubSubWorld, WatcherWorld


@st.composite
def evm_worlds(draw: st.DrawFn, options: WorldOptions = DEFAULT_OPTIONS) -> EvmWorld:
    """An EVM deposit chain: confirmations, block time, deposit rate and random reorgs
    (probability 0 included) from ``options``; a chain history of at least the
    confirmations, so that eth_deposits starts."""
    confirmations = draw(st.sampled_from(options.confirmations))
    return EvmWorld(confirmations=confirmations, block_time=draw(st.sampled_from(options.block_times)),
                    start_height=confirmations + draw(st.integers(0, 20)),
                    deposit_rate=draw(st.sampled_from(options.deposit_rates)),
                    reorg_probability=draw(st.sampled_from(options.reorg_probabilities)),
                    reorg_max_depth=draw(st.sampled_from(options.reorg_depths)))


@st.composite
def pubsub_worlds(draw: st.DrawFn, options: WorldOptions = DEFAULT_OPTIONS,
                  nodes: Sequence[str] = ()) -> PubSubWorld:
    """The pub/sub hub: publish rate, publishers, hub latency and the listeners' filter from
    ``options``; up to ``options.own_filters`` of ``nodes`` subscribe with a filter of their
    own. (The hub's retry schedule is the canister's constants: 15 minutes to the first
    resend, longer than a generated world, so a push a world loses is retried only when its
    node asks for what it missed, on restart.)"""
    rate = draw(st.sampled_from(options.publish_rates))
    publishers = draw(st.integers(*options.publishers))
    latency = draw(st.sampled_from(options.hub_latencies))
    common = draw(st.sampled_from(options.hub_filters))
    filters = tuple((node, draw(st.sampled_from(options.hub_filters)) or "")
                    for node in _misconfigured(draw, nodes, options.own_filters))
    return PubSubWorld(rate=rate, publishers=publishers, latency=latency, filter=common, own_filters=filters)


@st.composite
def load_worlds(draw: st.DrawFn, options: WorldOptions = DEFAULT_OPTIONS, nodes: Sequence[str] = (),
                *, gas: bool = False, small_blocks: bool = True) -> LoadWorld:
    """Users sending txs: rate, accounts (now and then one a node's own), tx size, a fee with
    ``gas`` and, with ``small_blocks``, the block size, from ``options``."""
    users = [f"u{i}" for i in range(draw(st.integers(*options.load_accounts)))]
    shared = draw(st.one_of(st.none(), st.sampled_from(tuple(nodes)))) if nodes else None
    return LoadWorld(rate=draw(st.sampled_from(options.load_rates)),
                     accounts=(*users, *((shared,) if shared is not None else ())),
                     size=draw(st.sampled_from(options.load_sizes)),
                     fee=draw(st.sampled_from(options.load_fees)) if gas else 0,
                     max_block_bytes=draw(st.sampled_from(options.block_bytes)) if small_blocks else None)


def _misconfigured(draw: st.DrawFn, nodes: Sequence[str], limit: int) -> list[str]:
    """Up to ``limit`` of ``nodes``, in address order: those given a listener config of their
    own (a misconfigured node)."""
    if not nodes or not limit:
        return []
    chosen = draw(st.lists(st.sampled_from(tuple(nodes)), max_size=min(limit, len(nodes)), unique=True))
    return sorted(chosen, key=lambda n: int(n[1:]))


def _subsets(values: Sequence[str], min_size: int = 0) -> st.SearchStrategy[tuple[str, ...]]:
    """A subset of ``values`` in their order (the empty one too, unless ``min_size``)."""
    if not values:
        return st.just(())
    return st.sets(st.sampled_from(tuple(values)), min_size=min_size).map(
        lambda chosen: tuple(v for v in values if v in chosen))


@st.composite
def watcher_worlds(draw: st.DrawFn, options: WorldOptions = DEFAULT_OPTIONS,
                   nodes: Sequence[str] = ()) -> WatcherWorld:
    """The watcher source and its listeners: the job rate, the object types the orchestrator
    writes (a non-empty subset of ``options.job_object_types``), GC age and cadence, the
    long-polling timeout, and the listeners' filters (object types among those written,
    operations) and batch size; up to ``options.own_watchers`` of ``nodes`` run a listener
    table of their own (filters among every type of the options, so perhaps one the source
    never writes). (The listener table offers no retry strategy and no ephemeral watchers:
    kwil's listener watches with the library's defaults, BLOCK and checkpointed.)"""
    rate = draw(st.sampled_from(options.job_rates))
    written = draw(_subsets(options.job_object_types, min_size=1))
    gc_age = draw(st.sampled_from(options.gc_ages))
    gc_cadence = draw(st.sampled_from(options.gc_cadences))
    polling = draw(st.sampled_from(options.long_polling_timeouts))
    watch_types = draw(_subsets(written))
    operations = draw(_subsets(options.watch_operations))
    batch_size = draw(st.sampled_from(options.batch_sizes))
    own = []
    for node in _misconfigured(draw, nodes, options.own_watchers):
        size = draw(st.sampled_from(options.batch_sizes))
        keys = (("object_types", ",".join(draw(_subsets(options.job_object_types)))),
                ("operations", ",".join(draw(_subsets(options.watch_operations)))),
                *((("batch_size", str(size)),) if size is not None else ()))
        own.append((node, keys))
    return WatcherWorld(rate=rate, object_types=written, gc_age=gc_age, gc_cadence=gc_cadence,
                        long_polling_timeout=polling, watch_types=watch_types, operations=operations,
                        batch_size=batch_size, own=tuple(own))
