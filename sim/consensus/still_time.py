"""Stopping a run whose heights take no time.

A validator that holds more than 2/3 of the power alone needs no message to decide a height
it proposes; with no commit timeout it enters the next height at the same instant, and, when
it proposes that one too, decides it then as well. A lone validator does so forever, at one
virtual instant. The scenario check refuses such a genesis; this catches a world that gets
there later (the others left the validator set).
"""

from __future__ import annotations

import math

from sim.errors import SimulationError

# heights decided at one virtual instant before a run is stopped: more than one happens only
# where heights take no time at all
STILL_HEIGHTS = 64


class StillTime:
    """Counts the heights decided in a row at one instant, and stops the run at ``STILL_HEIGHTS``."""

    def __init__(self) -> None:
        self._instant = -math.inf  # when the last height was decided
        self._in_a_row = 0  # how many were decided then

    def decided(self, height: int, now: float) -> None:
        """Height ``height`` was decided at ``now``; raises once too many were, at one instant."""
        if now != self._instant:
            self._instant, self._in_a_row = now, 1
            return
        self._in_a_row += 1
        if self._in_a_row >= STILL_HEIGHTS:
            raise SimulationError(
                f"time stands still at t={now:g}s: heights {height - self._in_a_row + 1} to {height} were "
                "all decided at that instant (a validator holding more than 2/3 of the power alone decides "
                "the heights it proposes without a message, and consensus.timeout_commit is 0); give "
                "timeout_commit a duration > 0")
