"""Who takes part in each height in progress, and from when: the entry times a plan starts from.

A node enters a height ``timeout_commit`` after committing the height before (``set_entries``,
by the driver), or at the instant it catches up during the height (a join). It leaves a
height when it crashes or falls behind; the proposal and votes it sent while it was in the
height still arrive, so a plan of that height needs when it entered and when it left
(``Absences``). A restart during a stall enters the height again: CometBFT's WAL gives the
node back its round.
"""

from __future__ import annotations

import math

import numpy as np

from sim.consensus.planner import Absences

INF = math.inf


class Participation:
    """Entry times, joins and departures per height, for the heights the driver plans."""

    def __init__(self, n: int) -> None:
        # per height, when each node enters it after committing the height before (inf: not)
        self._entries: dict[int, np.ndarray] = {}
        # per height, nodes that entered it by catching up: node -> when
        self._joins: dict[int, dict[int, float]] = {}
        # per height, nodes that left it (crashed or fell behind): node -> (entered, left)
        self._left: dict[int, dict[int, tuple[float, float]]] = {}
        self._never = np.full(n, INF)  # copied where a height has no entries (cheaper than np.full)

    def set_entries(self, height: int, times: np.ndarray) -> None:
        """Each node's entry time into ``height`` after committing the height before."""
        self._entries[height] = times

    def entry(self, height: int) -> np.ndarray:
        """A new array of each node's entry time into ``height``, joins included."""
        planned = self._entries.get(height)
        entry = (self._never if planned is None else planned).copy()
        for i, t in self._joins.get(height, {}).items():
            entry[i] = min(entry[i], t)
        return entry

    def absences(self, height: int, entry: np.ndarray) -> Absences | None:
        """Nodes that left ``height`` take part up to when they left (``entry`` gets their
        entry time), and from when they entered it again, if they did; None when no node
        left it."""
        left = self._left.get(height)
        if not left:
            return None
        down = np.full(len(entry), INF)
        back = np.full(len(entry), INF)
        for i, (entered, gone) in left.items():
            if entry[i] > gone:  # inf (not back) or when it entered again
                back[i] = entry[i]
                entry[i] = entered
                down[i] = gone
        return Absences(down, back)

    def join(self, i: int, height: int, now: float) -> None:
        """Node ``i`` caught up and takes part in ``height`` from ``now``."""
        self._joins.setdefault(height, {})[i] = now

    def leave(self, i: int, height: int, now: float, *, planned: bool) -> None:
        """Node ``i`` takes part in no height from ``now`` (until it enters one again); what it
        sent in ``height`` (the one it is in; ``planned``: the driver still plans it) counts."""
        entries = self._entries.get(height)
        entered = min(INF if entries is None else float(entries[i]), self._joins.get(height, {}).get(i, INF))
        if entered < now and planned:
            self._left.setdefault(height, {})[i] = (entered, now)
        for entry in self._entries.values():
            entry[i] = INF
        for joins in self._joins.values():
            joins.pop(i, None)

    def never_entered(self, i: int, height: int) -> None:
        """Node ``i`` did not reach ``height`` after all: it is not in it, and was not."""
        entry = self._entries.get(height)
        if entry is not None:
            entry[i] = INF
        self._joins.get(height, {}).pop(i, None)
        self._left.get(height, {}).pop(i, None)  # (else a plan would ask it again)

    def forget(self, height: int) -> None:
        """``height`` is planned no more."""
        self._entries.pop(height, None)
        self._joins.pop(height, None)
        self._left.pop(height, None)

    def heights_left(self) -> set[int]:
        """The heights some node left (and which a plan must still account for)."""
        return set(self._left)
