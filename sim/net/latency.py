"""Link latencies as keyed draws: one distribution turns 64-bit draws into seconds.

A latency is a function of the link and the message (splitmix64 of their keys), so the
network can draw a whole matrix at once and re-planning draws the same numbers.
"""

from __future__ import annotations

import functools
from statistics import NormalDist
from typing import Any

import numpy as np

from sim.engine.rng import splitmix64, splitmix64_in_place

TABLE_BITS = 16
# Latency draws made at once: 1 MB temporaries, which stay in a core's cache (blocks of 2^15
# draws made a thousand-node matrix 7% slower: more numpy calls for the same work)
DRAW_BLOCK = 1 << 17


@functools.cache
def standard_normal_quantiles() -> np.ndarray:
    """The 2^16 midpoint quantiles of the standard normal: the same for every lognormal, and
    65,536 inverse-CDF calls were half of a short run's cost (sweeps run thousands)."""
    size = 1 << TABLE_BITS
    normal = NormalDist()
    z = np.array([normal.inv_cdf((i + 0.5) / size) for i in range(size)])
    z.setflags(write=False)
    return z


@functools.lru_cache(maxsize=8)
def _lognormal_table(median: float, sigma: float) -> tuple[np.ndarray, list[float]]:
    """One lognormal's quantile table, shared read-only by every world that draws from it."""
    table = median * np.exp(sigma * standard_normal_quantiles())
    table.setflags(write=False)
    return table, table.tolist()


class LatencySampler:
    """Turns keyed 64-bit draws into latencies of one distribution by table lookup.

    The lognormal's quantiles are tabulated once (2^16 midpoints, exact from the inverse
    normal CDF), so a draw is one gather instead of Box-Muller's log, sqrt, cos and exp.
    """

    def __init__(self, model: Any) -> None:
        self.dist = model.dist
        self.constant = 0.0
        self.low = 0.0
        self.span = 0.0
        self.table: np.ndarray | None = None
        self.table_list: list[float] | None = None  # the same table, for draws one at a time
        if self.dist == "fixed":
            self.constant = float(model.value)
        elif self.dist == "uniform":
            self.low = float(model.low)
            self.span = float(model.high) - float(model.low)
        elif self.dist == "lognormal":
            self.table, self.table_list = _lognormal_table(float(model.median), float(model.sigma))
        else:
            raise ValueError(f"unknown latency distribution {self.dist!r}")

    def one(self, bits: int) -> float:
        """The latency for one uint64 draw, exactly as ``sample`` computes it."""
        if self.table_list is not None:
            return self.table_list[bits >> (64 - TABLE_BITS)]
        if self.dist == "fixed":
            return self.constant
        return self.low + self.span * ((float(bits >> 11) + 0.5) * (1.0 / float(1 << 53)))

    def keyed(self, link_keys: np.ndarray, key: np.ndarray | np.uint64, out: np.ndarray) -> None:
        """``out[...] = sample(splitmix64(link_keys ^ key))``, with in-place steps: the blocks
        a thousand-node world draws (a million a message) then stay in cache. A table lookup
        reads only splitmix64's top bits, which its last step leaves as they are."""
        with np.errstate(over="ignore"):
            z = np.bitwise_xor(link_keys, key)
            if self.table is None:
                out[...] = self.sample(splitmix64(z))
                return
            splitmix64_in_place(z, np.empty_like(z), final_shift=False)
            z >>= np.uint64(64 - TABLE_BITS)
            # every index is below 2**16: "wrap" never wraps, and unlike the default ("raise")
            # it writes into ``out`` unbuffered (a third of the time)
            np.take(self.table, z.view(np.intp), out=out, mode="wrap")

    def sample(self, bits: np.ndarray) -> np.ndarray:
        """Latencies (seconds) for uint64 draws ``bits``."""
        if self.table is not None:
            # indices below 2**16 read the same as intp: a view, not a converted copy
            return np.take(self.table, (bits >> np.uint64(64 - TABLE_BITS)).view(np.intp), mode="wrap")
        if self.dist == "fixed":
            return np.full(bits.shape, self.constant)
        unit = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / float(1 << 53))
        return self.low + self.span * unit
