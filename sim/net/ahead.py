"""Round-0 latencies of the coming heights, drawn together for the small-world planner.

The small-world planner asks for a latency row per consensus message (``Network.row``):
nine rows a height in a four-validator world, each a Python splitmix64 per link. Every
draw is a pure function of the link and the message key, and a message key of the
(kind, height, round), so the round-0 vote draws of the coming heights are made here at
once with numpy (the same keyed draws ``Network.arrivals`` makes, to the bit) and read
back as lists. The round-0 proposal rows are drawn for every sender, though only the
proposer's is read: n rows in numpy cost less than one row in Python. Later rounds are rare:
their rows are drawn one at a time as before.
"""

from __future__ import annotations

import numpy as np

from sim.engine.rng import SPLITMIX64_CONSTANTS, splitmix64
from sim.net.latency import LatencySampler

KINDS = ("proposal", "prevote", "precommit")  # the messages of a round: their rows are drawn ahead
# Heights a batch covers: the first batch few (a short run plans few heights), each next one
# twice as many, up to the most a small world's batch holds (3 x 64 x n x n floats, n <= 12:
# at most ~0.9 MB).
FIRST_BATCH = 16
MOST_HEIGHTS = 64
# A batch starts this many heights back: a height may be planned again (a fault changed it)
# after the next one was, and should not cost a batch of its own.
HEIGHTS_BEHIND = 2


def message_keys(base: int | np.ndarray, heights: np.ndarray, round_: int) -> np.ndarray:
    """``Network.message_key`` of a kind (its ``base``; an array broadcasts against
    ``heights``) for many heights of one round.

    Each of its steps ``z = finalize(z + (part + 1) * C)`` is splitmix64 of ``z + part * C``
    (C is splitmix64's increment), in wrapping uint64 arithmetic: the same bits."""
    increment = SPLITMIX64_CONSTANTS[0]
    with np.errstate(over="ignore"):
        z = splitmix64(np.asarray(base, dtype=np.uint64) + heights.astype(np.uint64) * increment)
        return splitmix64(z + np.uint64(round_) * increment)


class DrawnAhead:
    """The round-0 message keys and vote latency rows of the heights from ``first`` on (only
    the newest batch is kept, so a long run holds one batch)."""

    def __init__(self) -> None:
        self.first: int | None = None  # nothing drawn yet
        self.count = 0
        self.keys: dict[tuple[str, int], int] = {}  # (kind, height) -> message key (round 0)
        self.rows: dict[int, list[list[float]]] = {}  # message key -> [sender][receiver] latency

    def covers(self, height: int) -> bool:
        return self.first is not None and self.first <= height < self.first + self.count

    def draw(self, height: int, kind_bases: dict[str, int], link_keys: np.ndarray,
             sampler: LatencySampler) -> None:
        """Replace the batch by one that covers ``height`` (from ``HEIGHTS_BEHIND`` before it)."""
        first = max(height - HEIGHTS_BEHIND, 0)
        count = min(2 * self.count, MOST_HEIGHTS) if self.count else FIRST_BATCH
        heights = np.arange(first, first + count, dtype=np.uint64)
        bases = np.array([kind_bases[kind] for kind in KINDS], dtype=np.uint64)
        keys = message_keys(bases[:, None], heights[None, :], 0)  # [kind, height]
        latencies = sampler.sample(splitmix64(link_keys[None, :, :] ^ keys.ravel()[:, None, None]))
        by_kind = keys.tolist()
        self.keys = {(kind, first + j): key for kind, row in zip(KINDS, by_kind, strict=True)
                     for j, key in enumerate(row)}
        self.rows = dict(zip(keys.ravel().tolist(), latencies.tolist(), strict=True))  # the draws' order
        self.first, self.count = first, count
