"""Liveness, checked at the end of a run: after the last fault, every event observed by
honest validators holding at least the confirmation threshold resolves within the bound.

It judges the quiet time after the faults (``sim.checks.quiet``: a network fault without a
duration lasts until a heal): an event whose resolution expired while faults
were still going on (a partition kept its votes apart, a crash or a removal took votes away)
is not reported, since nothing after the heal could bring it back."""

from __future__ import annotations

import math

from node.resolutions import required_power
from sim.checks.base import Checker
from sim.checks.quiet import quiet_since
from sim.world.resolutions import ResolutionRecord


class Liveness(Checker):
    """An event honest validators holding the confirmation threshold observed passes within
    ``within`` of when it was first seen, or of the last fault's end if that came later:
    one still unresolved at the end, expired after the last fault's end, or passed later
    than that is reported."""

    name = "liveness"

    def at_end(self) -> None:
        within = self.view.scenario.checks.liveness_within
        if within is None:
            return
        end = self.view.now
        quiet = quiet_since(self.view.records.faults)
        honest = {n.name for n in self.view.nodes if not n.byzantine}
        observations = self.view.records.observations
        # one time per event (its observers are gathered below only for the events that
        # can fail: a set of names per event of a long run was a large spike at its end)
        first: dict[str, float] = {}
        for node, rid, time in observations:
            if node in honest:  # a byzantine observer may never vote
                first.setdefault(rid, time)
        late: dict[str, ResolutionRecord] = {}
        for record in self.view.records.resolutions.values():
            seen = first.get(record.id)
            if seen is None or record.type is None:
                continue
            if record.status == "expired" and record.time is not None and record.time <= quiet:
                continue  # the faults let it expire: the quiet time after them cannot be judged by it
            deadline = max(seen, quiet) + within
            passed = record.time if record.status == "passed" else math.inf
            if deadline <= end and passed is not None and passed > deadline:
                late[record.id] = record
        if not late:
            return
        observers: dict[str, set[str]] = {}
        for node, rid, _time in observations:
            if rid in late and node in honest:
                observers.setdefault(rid, set()).add(node)
        state = self.view.chain_state()
        for rid in sorted(late):
            record = late[rid]
            assert record.type is not None
            power = sum(state.power_of(n) for n in observers[rid])
            threshold = self.view.types.get(record.type).confirmation_threshold
            if power < required_power(state.total_power, threshold):
                continue
            settled_at = end if record.time is None else record.time
            if record.status == "expired":
                what = f"expired unresolved {settled_at - first[rid]:.1f}s after it was first seen"
            elif record.status is None:
                what = f"is unresolved {end - first[rid]:.1f}s after it was first seen"
            else:
                what = (f"passed {settled_at - first[rid]:.1f}s after it was first seen (bound "
                        f"{within:g}s from then or from the last fault's end)")
            self.report(sorted(observers[rid]), f"event {rid} observed by {power} of "
                        f"{state.total_power} power {what}")
