"""A finished run: its summary fields, its records, and (for notebooks) its tables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from sim.engine.floatlog import FloatLog
from sim.stats import mean, percentile
from sim.world.records import RunRecords
from sim.world.resolutions import ResolutionRecord

if TYPE_CHECKING:
    from sim.world.world import World


RESOLVE_ERROR_MESSAGES = 5  # how many resolve hook errors the summary quotes


@attrs.define(eq=False)
class Result:
    """What ``sim.run`` returns: ``summary`` holds the fields of summary.json."""

    summary: dict[str, Any]
    records: RunRecords
    trace: Sequence[dict[str, Any]]  # TraceRecords for a run; a list when loaded from its folder
    scenario: Any
    node_names: list[str]
    commit_intervals: FloatLog  # each validator's successive commits, pooled (older ones on disk)

    def __getattr__(self, name: str) -> Any:
        """Summary fields read as attributes: ``result.blocks``, ``result.trace_hash``."""
        summary = object.__getattribute__(self, "summary")
        if name in summary:
            return summary[name]
        raise AttributeError(name)

    @property
    def ok(self) -> bool:
        return not self.summary["violations"]

    def frames(self) -> dict[str, Any]:
        """pandas DataFrames: blocks, votes, resolutions, events, faults, validators."""
        from sim.frames import build_frames

        return build_frames(self)

    def plot_timeline(self, ax: Any = None) -> Any:
        from sim.plots import plot_timeline

        return plot_timeline(self, ax=ax)

    def plot_latency(self, ax: Any = None) -> Any:
        from sim.plots import plot_latency

        return plot_latency(self, ax=ax)

    def _repr_html_(self) -> str:
        """A small table for notebooks: the verdict and the headline figures, not the dict."""
        from sim.report.summary import result_html

        return result_html(self)


def summarize(world: World) -> dict[str, Any]:
    records = world.records
    intervals = world.driver.block_intervals
    tally = _tally_resolutions(records.resolutions.values())
    summary: dict[str, Any] = {
        "seed": world.seed,
        "trace_hash": world.trace.hash(),
        "virtual_seconds": round(world.clock.now, 9),
        "wall_seconds": round(world.wall_seconds, 3),
        "blocks": world.chain.height,
        "block_time_p50": percentile(intervals, 50),
        "block_time_p99": percentile(intervals, 99),
        "rounds_above_zero": sum(1 for b in records.blocks if b.round > 0),
        "events_observed": tally.observed,
        "resolutions_passed": tally.passed,
        "resolve_errors": len(tally.errored),
        "resolve_error_messages": [f"{r.type} {r.id[:16]} at height {r.height}: {r.error}"
                                   for r in tally.errored[:RESOLVE_ERROR_MESSAGES]],
        "resolutions_expired": tally.expired,
        "resolutions_refunded": tally.refunded,
        "resolution_latency_p50": percentile(tally.latencies, 50),
        "resolution_latency_p99": percentile(tally.latencies, 99),
        "votes_per_resolution_mean": mean(tally.votes_per),
        "rebroadcasts": sum(node.rebroadcasts for node in world.views.nodes),
        "gossip_duplicates_rejected": sum(node.duplicates_rejected for node in world.views.nodes),
        "listener_starts": sum(node.listener_starts for node in world.views.nodes),
        "listener_cancellations": sum(node.listener_cancellations for node in world.views.nodes),
        "node_shutdowns": len(records.node_shutdowns),
        "faults_injected": len(records.faults),
        "faults_without_effect": world.faults_without_effect,
        "shutdown_errors": [f"{n}: {reason}" for n, reason in records.node_shutdowns],
    }
    summary["halted_at"] = halted_at(world)
    summary["fabricated_passed"] = fabricated_passed(world.views)
    if world.load is not None:
        summary.update(user_load_summary(world))
    summary.update(world.sources.summary(world.views))
    summary["violations"] = [v.to_dict() for v in world.violations]
    return summary


def halted_at(world: World) -> float | None:
    """When the last block came, if the run ended with none for longer than the
    ``chain-stalled`` bound; else None. The chain halted, whatever the cause: ``chain-stalled``
    reports only a halt that should not be (a connected +2/3 majority up and in consensus),
    while validators that crashed or shut themselves down with a third of the power or more
    halt it by design. Either way the run says so."""
    from sim.checks.progress_checks import stall_bound

    last = world.records.blocks[-1].time if world.records.blocks else 0.0
    return last if world.clock.now - last > stall_bound(world.views) else None


@attrs.define
class _Tally:
    """What the summary says of resolutions (validator joins and removals aside)."""

    observed: int = 0  # events a validator observed
    passed: int = 0  # passed cleanly
    errored: list[ResolutionRecord] = attrs.Factory(list)  # passed, but the resolve hook raised
    expired: int = 0
    refunded: int = 0
    latencies: list[float] = attrs.Factory(list)  # first seen -> passed, of the clean passes
    votes_per: list[float] = attrs.Factory(list)  # voters counted, of every settled resolution


def _tally_resolutions(records: Iterable[ResolutionRecord]) -> _Tally:
    """One pass over the records (a long run keeps most of them on disk: none is held)."""
    tally = _Tally()
    for r in records:
        if math.isfinite(r.first_seen):
            tally.observed += 1
        if r.status is None or r.type in ("validator_join", "validator_remove"):
            continue
        tally.votes_per.append(float(len(r.voters)))
        if r.status == "passed" and r.error is None:
            tally.passed += 1
            if r.time is not None and math.isfinite(r.first_seen):
                tally.latencies.append(r.time - r.first_seen)
        elif r.status == "passed":
            # left the chain (its state change rolled back): a resolve error, not a clean pass
            tally.errored.append(r)
        elif r.status == "expired":
            tally.expired += 1
            tally.refunded += r.refunded
    tally.errored.sort(key=lambda r: (r.height or 0, r.id))
    return tally


def user_load_summary(world: World) -> dict[str, Any]:
    """What became of the users' txs (``[load]``)."""
    committed = sum(record.user_txs for record in world.records.blocks)
    assert world.load is not None
    rejected = sum(node.user_txs_rejected for node in world.views.nodes)
    pending = len(world.views.pending_user_txs())
    # The rest left every mempool unexecuted: its nonce was taken by another tx of the same
    # account that a different node admitted first, or it was lost in a crash.
    dropped = world.load.sent - committed - rejected - pending
    return {"user_txs_sent": world.load.sent, "user_txs_committed": committed, "user_txs_rejected": rejected,
            "user_txs_dropped": dropped, "user_txs_pending": pending}


def fabricated_passed(view: Any) -> int:
    """Resolutions that passed although no honest validator observed their event."""
    honest = {n.name for n in view.nodes if not n.byzantine}
    seen = {rid for node, rid in view.records.observations.rows_of(0, 1) if node in honest}
    return sum(1 for r in view.records.resolutions.values()
               if r.status == "passed" and r.type not in ("validator_join", "validator_remove")
               and r.id not in seen)


def make_result(world: World) -> Result:
    return Result(summarize(world), world.records, world.trace.records, world.scenario,
                  list(world.names), world.driver.block_intervals)
