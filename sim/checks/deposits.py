"""The EVM deposit flow end to end: ``deposits-exact`` and the deposit summary fields.

With ``required_confirmations`` >= the chain's maximum reorg depth, every final deposit is
credited exactly once and nothing else is credited. Below that depth the invariant does not
apply (the spec expects reorged-out deposits to get votes); the summary still reports
``credits_wrong`` and ``deposits_voted_reorged`` so a scenario shows what went wrong.
"""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING, Any

from node.extensions.credit import decode_credit
from node.extensions.eth_deposits import required_confirmations
from node.resolutions import required_power
from node.txs import event_id
from sim.checks.base import Checker
from sim.checks.quiet import quiet_since
from sim.stats import percentile

if TYPE_CHECKING:
    from sim.consensus.chain import Committed
    from sim.world.views import WorldView

CREDIT = "credit_account"
DEFAULT_GRACE = 900.0  # seconds a final deposit may take to be credited before the end


def confirmations(view: WorldView) -> int:
    """The least confirmation depth a validator's listener waits for (a listener whose value
    kwil cannot read never starts, and waits for nothing)."""
    values = [required_confirmations(node.extension_configs.get("eth_deposits", {})) for node in view.nodes]
    readable = [v for v in values if v is not None]
    return min(readable) if readable else 12


def credited(view: WorldView) -> dict[str, tuple[float, str]]:
    """tx_hash -> (credit time, resolution id) for every credit_account that passed cleanly."""
    out: dict[str, tuple[float, str]] = {}
    for record in view.records.resolutions.values():
        if record.type != CREDIT or record.status != "passed" or record.error or record.time is None:
            continue
        body = view.records.bodies.get(record.id)
        if body is None:
            continue
        try:
            out[decode_credit(body).tx_hash] = (record.time, record.id)
        except ValueError:
            continue
    return out


def deposit_summary(view: WorldView) -> dict[str, Any]:
    source = view.sources.require("evm")
    conf = confirmations(view)
    final = source.final_deposits(conf)
    canonical = {d.tx_hash for d in source.canonical_deposits()}
    credits = credited(view)
    seen = {d.tx_hash: d for d in source.ever_seen_deposits()}
    latencies = [credits[d.tx_hash][0] - d.block_time for d in final if d.tx_hash in credits]
    voted = {rid for (rid,) in view.records.votes.rows_of(0)}
    reorged_voted = sum(1 for d in seen.values() if d.tx_hash not in canonical
                        and _deposit_id(d) in voted)
    return {
        "deposits_final": len(final),
        "deposits_credited": sum(1 for d in final if d.tx_hash in credits),
        "deposits_unobserved": sum(1 for _d, _o, seen_enough in overdue_deposits(view, credits) if not seen_enough),
        "credits_wrong": sum(1 for tx in credits if tx not in canonical),
        "deposits_voted_reorged": reorged_voted,
        "credit_latency_p50": percentile(latencies, 50),
        "credit_latency_p99": percentile(latencies, 99),
    }


def _deposit_id(deposit: Any) -> str:
    from node.extensions.credit import encode_credit

    return event_id(CREDIT, encode_credit(deposit.account, deposit.amount, deposit.tx_hash))


class DepositsExact(Checker):
    """Every final deposit is credited exactly once, and nothing else is credited."""

    name = "deposits-exact"

    def __init__(self, view: Any, report: Any) -> None:
        super().__init__(view, report)
        source = view.sources.get("evm")
        self.active = source is not None and confirmations(view) >= source.config.reorg_max_depth
        self._credited: dict[str, int] = {}

    def on_block(self, committed: Committed) -> None:
        if not self.active:
            return
        for outcome in committed.result.outcomes:
            if outcome.type != CREDIT or outcome.status != "passed" or outcome.error:
                continue
            body = self.view.records.bodies.get(outcome.id)
            if body is None:
                continue
            tx_hash = decode_credit(body).tx_hash
            if tx_hash in self._credited:
                self.report(outcome.voters, f"deposit {tx_hash} credited twice (heights "
                            f"{self._credited[tx_hash]} and {committed.block.height})")
            self._credited[tx_hash] = committed.block.height
            canonical = {d.tx_hash for d in self.view.sources.require("evm").canonical_deposits()}
            if tx_hash not in canonical:
                self.report(outcome.voters, f"credited deposit {tx_hash} is not on the canonical chain")

    def at_end(self) -> None:
        """Every final deposit that honest validators holding the confirmation threshold saw, and
        that did not expire, was credited within the grace after it was final and the faults
        were over (``quiet_since``). What too few saw is no violation: the summary counts it
        (``deposits_unobserved``) and the verdict line says so."""
        if not self.active:
            return
        for deposit, observers, seen_enough in overdue_deposits(self.view, self._credited):
            if seen_enough:
                self.report(observers, f"final deposit {deposit.tx_hash} (block "
                            f"{deposit.block_number}) was seen by enough power but never credited")


def overdue_deposits(view: WorldView, credited: Container[str]) -> list[tuple[Any, list[str], bool]]:
    """Final deposits not in ``credited`` (tx hashes) and not expired, although the grace (the
    liveness bound, else 15 minutes) after they were final and the faults were over has passed;
    each with the honest validators that observed it, and whether they hold the credit's
    confirmation threshold."""
    within = view.scenario.checks.liveness_within or DEFAULT_GRACE
    end = view.now
    quiet = quiet_since(view.records.faults)  # (a fault still going on may hold it back)
    source = view.sources.require("evm")
    conf = confirmations(view)
    uncredited = []
    for deposit in source.final_deposits(conf):
        final_at = deposit.block_time + conf * source.config.block_time
        if deposit.tx_hash in credited or max(final_at, quiet) + within > end:
            continue
        rid = _deposit_id(deposit)
        record = view.records.resolutions.get(rid)
        if record is None or record.status != "expired":
            uncredited.append((deposit, rid))
    if not uncredited:
        return []
    wanted = {rid for _deposit, rid in uncredited}  # (not every event's observers: a long run's)
    honest = {n.name for n in view.nodes if not n.byzantine}  # (a byzantine one may never vote)
    observers: dict[str, set[str]] = {}
    for node, rid in view.records.observations.rows_of(0, 1):
        if rid in wanted and node in honest:
            observers.setdefault(rid, set()).add(node)
    state = view.chain_state()
    needed = required_power(state.total_power, view.types.get(CREDIT).confirmation_threshold)
    return [(deposit, sorted(observers.get(rid, ())),
             sum(state.power_of(n) for n in observers.get(rid, ())) >= needed)
            for deposit, rid in uncredited]
