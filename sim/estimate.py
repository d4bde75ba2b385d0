"""How much a scenario will cost to run, estimated from its numbers without building anything.

``estimate(scenario)`` reads only the scenario's settings (never the per-node list beyond a
count, never a time line), so it costs the same for 4 nodes and for 10**9. The model is the
run's three kinds of work, each counted in *steps* (one step is what one node does for one
block, about 30 µs on a 2-core machine):

- ``validator_blocks``: nodes × blocks, where a block takes ``timeout_commit`` plus about two
  message delays (proposal, then the votes);
- ``observations``: (node, event) pairs, each a store, a vote and its share of the resolution
  (about 8 steps: measured on ``bench-100-listeners``);
- ``listener_wakeups``: polls and deliveries that wake a listener without an event for it
  (EVM heads, watcher long polls);
- with ``[load]``, ``user txs`` (a check, a gossip and a block's share each: about 0.6 step,
  and 0.01 more per node) and ``mempool rechecks``: after every commit each node checks again
  what its mempool still holds, and when users send more bytes than blocks carry that is a
  full mempool (5,000 txs) a node a block, ~0.03 step each (both measured on
  ``scenarios/busy-chain.toml`` at 4 and 40 nodes: up to four times the run, never under it).

Memory: a 60 MB base, about 250 kB per node (its event store, mempool and tasks), 16 bytes
per node-block (commit intervals, block records), 2 kB per event (its resolution record and
body) and 60 bytes per observation (what a run keeps of its records moves to a temporary file
as it grows; what stays is the newest chunk and the events still in flight). The figures were
fitted on ``bench/scale.py``'s scenarios; they are meant to be right within a factor of two,
which is enough to refuse a run that would take days.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import attrs

from node.mempool import MEMPOOL_SIZE
from sim.errors import ScenarioError
from sim.limits import HOW_TO_PASS, LimitsConfig

if TYPE_CHECKING:
    from sim.network_model import LatencyModel
    from sim.scenario_model import Scenario

STEP_SECONDS = 30e-6
STARTUP_SECONDS = 1.0
OBSERVATION_STEPS = 8.0
BASE_MB = 60.0
NODE_BYTES = 250e3
NODE_BLOCK_BYTES = 16.0
OBSERVATION_BYTES = 60.0
EVENT_BYTES = 2000.0
USER_TX_STEPS = 0.6
USER_TX_NODE_STEPS = 0.01
RECHECK_STEPS = 0.03


@attrs.frozen
class Term:
    """One part of the estimate: what it counts, how many, and the scenario key that sets it."""

    what: str
    count: float
    steps: float
    bytes: float
    key: str


@attrs.frozen
class Estimate:
    """A scenario's estimated size: blocks, events, work in steps, memory and wall time."""

    nodes: int
    blocks: float
    events: float
    terms: tuple[Term, ...]

    @property
    def work(self) -> float:
        return sum(term.steps for term in self.terms)

    @property
    def memory_mb(self) -> float:
        return BASE_MB + sum(term.bytes for term in self.terms) / 1e6

    @property
    def wall_seconds(self) -> float:
        return STARTUP_SECONDS + self.work * STEP_SECONDS

    def largest(self, by: str) -> Term:
        """The term that contributes most ``steps`` or ``bytes`` (the first on a tie)."""
        return max(self.terms, key=lambda term: getattr(term, by))

    def describe(self) -> str:
        """One line: ``~1,150 blocks, ~245 events, ~5.1e+03 steps, ~70 MB, ~1 s wall``."""
        return (f"~{_count(self.blocks)} blocks, ~{_count(self.events)} events, "
                f"~{_count(self.work)} steps of work, ~{_count(self.memory_mb)} MB, "
                f"~{wall_text(self.wall_seconds)} wall")


def _count(value: float) -> str:
    if value < 1e6:
        return f"{value:,.0f}"
    return f"{value:.1e}"


def wall_text(seconds: float) -> str:
    """A wall time as people say it: ``0.4 s``, ``12 s``, ``5 min``, ``3 h``, ``2e+05 days``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    days = seconds / 86400
    return f"{days:.0f} days" if days < 1e5 else f"{days:.0e} days"


def typical_latency(latency: LatencyModel) -> float:
    """A latency most messages stay under (fixed value, uniform high, lognormal's 84th pct)."""
    if latency.dist == "fixed":
        return latency.value
    if latency.dist == "uniform":
        return latency.high
    return latency.median * math.exp(latency.sigma)


def block_interval(scenario: Scenario) -> float:
    """Seconds between blocks: the commit timeout plus a proposal and a vote round trip."""
    return scenario.consensus.timeout_commit + 2.0 * typical_latency(scenario.network.latency)


def estimate(scenario: Scenario) -> Estimate:
    """The scenario's estimated blocks, events, steps and memory (see the module docstring)."""
    nodes = len(scenario.nodes)
    duration = scenario.duration
    interval = block_interval(scenario)
    blocks = duration / interval if interval > 0 else math.inf
    terms = [Term("nodes", nodes, 0.0, nodes * NODE_BYTES, "validators.count"),
             Term("node-blocks", nodes * blocks, nodes * blocks, nodes * blocks * NODE_BLOCK_BYTES,
                  "scenario.duration")]
    events = 0.0
    for kind in sorted(scenario.sources):
        for term_events, observers, wakeups, key in _source_terms(kind, scenario.sources[kind], scenario):
            events += term_events
            observations = term_events * observers
            terms.append(Term(f"{kind} observations", observations, observations * OBSERVATION_STEPS,
                              observations * OBSERVATION_BYTES + term_events * EVENT_BYTES, key))
            if wakeups:
                terms.append(Term(f"{kind} listener wake-ups", wakeups, wakeups, 0.0, "scenario.duration"))
    if scenario.load is not None:
        terms.extend(_load_terms(scenario, nodes, blocks, interval))
    return Estimate(nodes, blocks, events, tuple(terms))


def _load_terms(scenario: Scenario, nodes: int, blocks: float, interval: float) -> list[Term]:
    """Users' txs, and the rechecks of what they leave in the mempools."""
    load = scenario.load
    assert load is not None
    txs = load.rate * scenario.duration
    per_block = load.rate * interval
    fits = scenario.consensus.max_block_bytes / max(load.size.mean(), 1.0)
    backlog = MEMPOOL_SIZE if per_block > fits else min(per_block, MEMPOOL_SIZE)
    rechecks = nodes * blocks * backlog
    return [Term("user txs", txs, txs * (USER_TX_STEPS + USER_TX_NODE_STEPS * nodes), 0.0, "load.rate"),
            Term("mempool rechecks", rechecks, rechecks * RECHECK_STEPS, 0.0, "load.rate")]


def _configured(scenario: Scenario, extension: str) -> int:
    return sum(1 for node in scenario.nodes if extension in node.extensions)


def _source_terms(kind: str, config: Any, scenario: Scenario) -> list[tuple[float, float, float, str]]:
    """(events, observing nodes, listener wake-ups, key of the rate) for one source table."""
    duration = scenario.duration
    nodes = len(scenario.nodes)
    if kind == "script":
        generated = (config.rate or 0.0) * duration
        seen = nodes if config.seen_by == "all" else len(config.seen_by)
        terms = [(generated, float(seen), 0.0, "sources.script.rate")] if generated else []
        scripted = sum(nodes if e.seen_by == "all" else len(e.seen_by) for e in config.events)
        if config.events:
            terms.append((float(len(config.events)), scripted / len(config.events), 0.0, "sources.script.events"))
        return terms
    if kind == "evm":
        listeners = _configured(scenario, "eth_deposits")
        deposits = config.deposit_rate * duration + len(config.deposit_times)
        heads = duration / config.block_time
        return [(deposits, float(listeners), listeners * heads, "sources.evm.deposits.rate")]
    if kind == "watcher":
        polls = duration / config.long_polling_timeout
        return [(config.rate * duration, float(nodes), nodes * polls, "sources.watcher.rate")]
    if kind == "pubsub":
        return [(config.rate * duration, float(_configured(scenario, "pubsub_events")), 0.0,
                 "sources.pubsub.rate")]
    return []


def refuse_over_limits(limits: LimitsConfig, file: str, estimate: Estimate) -> None:
    """Refuse an estimate over ``limits.work`` or ``limits.memory_mb``, blaming its largest
    term's key (the scenario key that made the run large)."""
    if estimate.work > limits.work:
        term = estimate.largest("steps")
        raise ScenarioError(file, term.key, f"an estimated {estimate.work:.2g} steps of work "
                            f"(~{wall_text(estimate.wall_seconds)} of wall time; mostly {term.count:.2g} "
                            f"{term.what}) is over the limit of {limits.work:.2g} (limits.work); {HOW_TO_PASS}")
    if estimate.memory_mb > limits.memory_mb:
        term = estimate.largest("bytes")
        raise ScenarioError(file, term.key, f"an estimated {estimate.memory_mb:,.0f} MB of memory "
                            f"(mostly {term.count:.2g} {term.what}) is over the limit of "
                            f"{limits.memory_mb} MB (limits.memory_mb); {HOW_TO_PASS}")
