"""When the faults of a run are over: the start of the quiet time liveness-like checks judge.

A fault with a ``duration`` is over at its end. A network fault without one (a partition,
extra delay, loss, duplication, reordering) lasts until the next ``heal``: when none comes,
the faults are never over, and nothing after them can be judged. Any other fault (a crash,
a validator change, a reorg burst) counts as over at its instant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from sim.faults.kinds import fault_kind


def quiet_since(faults: Iterable[Mapping[str, Any]]) -> float:
    """The time the last of ``faults`` (the run's fault records, in time order) was over;
    inf when a network fault lasting until a heal was never healed."""
    quiet = 0.0
    unhealed = False
    for fault in faults:
        time = float(fault["time"])
        duration = fault.get("duration")
        if fault["kind"] == "heal":
            unhealed = False
            quiet = max(quiet, time)
        elif duration is None and fault_kind(fault["kind"]).until_heal:
            unhealed = True
        else:
            quiet = max(quiet, time + float(duration or 0.0))
    return math.inf if unhealed else quiet
