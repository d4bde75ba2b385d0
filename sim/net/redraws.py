"""Latency matrices of consensus messages asked for again, kept for the next time.

A vote's latencies are a pure function of the links and the message key, so re-planning a
height (a crash, a restart, a partition healing) draws the very numbers it drew before:
in a thousand-node world with forty crashes and restarts, 72% of every draw repeated an
earlier one. A message's matrix is kept from its second request on, for the few messages
of the heights in progress: a run without re-plans keeps nothing (a thousand-node vote
matrix is 8 MB), and a run with them stops redrawing from the third request.
"""

from __future__ import annotations

from collections import OrderedDict, deque

import numpy as np

BUDGET_BYTES = 64 << 20  # all kept matrices together (eight of a thousand-node world)
MOST_KEPT = 8  # matrices kept at most: two votes of each height in progress, and spare
ASKED_REMEMBERED = 64  # message keys remembered as asked once


class Redraws:
    """Full [receiver, sender] latency matrices by message key, least recently used dropped."""

    def __init__(self, budget_bytes: int = BUDGET_BYTES, most_kept: int = MOST_KEPT) -> None:
        self._budget = budget_bytes
        self._most = most_kept
        self._kept: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._asked_once: deque[int] = deque(maxlen=ASKED_REMEMBERED)

    def get(self, key: int) -> np.ndarray | None:
        """The kept matrix of ``key``, if any."""
        matrix = self._kept.get(key)
        if matrix is not None:
            self._kept.move_to_end(key)
        return matrix

    def worth_keeping(self, key: int, nbytes: int) -> bool:
        """Whether a matrix of ``nbytes`` asked for under ``key`` now should be kept: it was
        asked for before, and ``MOST_KEPT`` of its size fit the budget."""
        if nbytes > self._budget // self._most:
            return False
        if key in self._asked_once:
            return True
        self._asked_once.append(key)
        return False

    def keep(self, key: int, matrix: np.ndarray) -> None:
        matrix.setflags(write=False)  # arrivals are made from it, never in it
        self._kept[key] = matrix
        self._bytes += matrix.nbytes
        while len(self._kept) > self._most or self._bytes > self._budget:
            _key, old = self._kept.popitem(last=False)
            self._bytes -= old.nbytes
