"""Liveness, checked at the end of a run: after the last fault, every event observed by
honest validators holding at least the confirmation threshold resolves within the bound."""

from __future__ import annotations

from node.resolutions import required_power
from sim.checks.base import Checker


class Liveness(Checker):
    name = "liveness"

    def at_end(self) -> None:
        within = self.view.scenario.checks.liveness_within
        if within is None:
            return
        end = self.view.now
        faults = self.view.records.faults
        quiet_since = max((float(f["time"]) + float(f.get("duration") or 0.0)  # type: ignore[arg-type]
                           for f in faults), default=0.0)
        state = self.view.chain_state()
        # only events still unresolved can fail: their observers, not every event's (a set of
        # names per event of a long run was a large spike at its end)
        unresolved = {r.id: r for r in self.view.records.resolutions.unsettled()}
        if not unresolved:
            return
        observers: dict[str, set[str]] = {}
        first: dict[str, float] = {}
        honest = {n.name for n in self.view.nodes if not n.byzantine}
        for node, rid, time in self.view.records.observations:
            if rid in unresolved and node in honest:  # a byzantine observer may never vote
                observers.setdefault(rid, set()).add(node)
                first.setdefault(rid, time)
        for rid in sorted(observers):
            record = unresolved[rid]
            if record.type is None:
                continue
            deadline = max(first[rid], quiet_since) + within
            if deadline > end:
                continue
            power = sum(state.power_of(n) for n in observers[rid])
            threshold = self.view.types.get(record.type).confirmation_threshold
            if power >= required_power(state.total_power, threshold):
                self.report(sorted(observers[rid]), f"event {rid} observed by {power} of "
                            f"{state.total_power} power is unresolved {end - first[rid]:.1f}s after "
                            "it was first seen")


