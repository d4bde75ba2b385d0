"""``[network]``: link latency, message loss and duplication, block-sync speed; and the latency
model that sources and listeners share (an RPC's or a hub's latency reads the same way).

    [network]
    latency = { dist = "lognormal", median = "80ms", sigma = 0.6 }   # or fixed, uniform
    drop = 0.0                          # each consensus message lost with this probability
    duplicate = 0.0
    block_sync_rate = 100               # blocks per second a catching-up node fetches
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist
from typing import Any

import attrs

from sim.tables import TableReader
from sim.units import duration_text

LATENCY_DISTS = ("fixed", "uniform", "lognormal")


@attrs.frozen
class LatencyModel:
    """A latency distribution: ``fixed`` (value), ``uniform`` (low..high) or ``lognormal``.

    Fields a distribution does not use are 0.
    """

    dist: str = "fixed"
    value: float = 0.05
    low: float = 0.0
    high: float = 0.0
    median: float = 0.0
    sigma: float = 0.0

    @classmethod
    def from_table(cls, reader: TableReader, default_value: str = "50ms") -> LatencyModel:
        dist = reader.string("dist", "fixed", choices=LATENCY_DISTS)
        if dist == "fixed":
            model = cls(dist, value=reader.duration("value", default_value))
        elif dist == "uniform":
            low = reader.duration("low")
            high = reader.duration("high")
            if high < low:
                raise reader.error("high", f"a duration >= low ({duration_text(low)})",
                                   reader.raw("high"))
            model = cls(dist, value=0.0, low=low, high=high)
        else:
            model = cls(dist, value=0.0, median=reader.duration("median", positive=True),
                        sigma=reader.sigma("sigma"))
        reader.finish()
        return model

    def to_table(self) -> dict[str, Any]:
        if self.dist == "fixed":
            return {"dist": "fixed", "value": duration_text(self.value)}
        if self.dist == "uniform":
            return {"dist": "uniform", "low": duration_text(self.low),
                    "high": duration_text(self.high)}
        return {"dist": "lognormal", "median": duration_text(self.median), "sigma": self.sigma}

    def slow(self) -> float:
        """A latency few messages exceed: the largest a fixed or uniform latency takes, a
        lognormal's 99th percentile (its tail reaches far beyond what a quorum waits for)."""
        if self.dist == "fixed":
            return self.value
        if self.dist == "uniform":
            return self.high
        return self.median * math.exp(NormalDist().inv_cdf(0.99) * self.sigma)

    def sample(self, rng: random.Random) -> float:
        """One latency in seconds drawn from ``rng`` (a fixed latency draws nothing). The
        network draws its own latencies by keyed lookup (``sim.net.network``); this is for
        sources and listeners that sample one at a time."""
        if self.dist == "fixed":
            return self.value
        if self.dist == "uniform":
            return rng.uniform(self.low, self.high)
        return rng.lognormvariate(math.log(self.median), self.sigma)


@attrs.frozen
class NetworkConfig:
    """``[network]``: link latency, message loss and duplication, block-sync speed."""

    latency: LatencyModel = LatencyModel()
    drop: float = 0.0
    duplicate: float = 0.0
    block_sync_rate: float = 100.0  # blocks per second a syncing node fetches

    @classmethod
    def from_table(cls, reader: TableReader) -> NetworkConfig:
        latency = LatencyModel.from_table(reader.table("latency", {}), "50ms")
        drop = reader.probability("drop", 0.0)
        if drop >= 1.0:  # every message and every re-send lost, for the whole run: no world at all
            raise reader.error("drop", "a probability below 1 (1 delivers nothing, ever; a `drop` "
                               "fault cuts links for a while)", reader.raw("drop"))
        duplicate = reader.probability("duplicate", 0.0)
        sync_rate = reader.number("block_sync_rate", 100.0)
        if sync_rate <= 0:
            raise reader.error("block_sync_rate", "a number > 0", reader.raw("block_sync_rate"))
        reader.finish()
        return cls(latency, drop, duplicate, sync_rate)

    def to_table(self) -> dict[str, Any]:
        return {"latency": self.latency.to_table(), "drop": self.drop,
                "duplicate": self.duplicate, "block_sync_rate": self.block_sync_rate}
