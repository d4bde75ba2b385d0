"""``[load]``: ordinary users' txs that compete with votes for nonces, mempools and blocks.

    [load]
    rate = "50/s"                       # Poisson arrivals
    accounts = 20                       # u0..u19; or a list of names (a node's name shares its nonces)
    size = { dist = "uniform", low = 200, high = 2000 }   # bytes, or one integer
    fee = 0                             # what each tx costs with gas on

Each tx is sent to a node chosen at random among those online, which admits it (CheckTx with
the account's next nonce as that node's mempool knows it) and gossips it.
"""

from __future__ import annotations

import math
import random
from typing import Any

import attrs

from sim.tables import TableReader
from sim.units import rate_text

SIZE_DISTS = ("fixed", "uniform", "lognormal")
MIN_TX_BYTES = 180  # a signed tx's fixed part (node.txs.TX_BASE_BYTES)
MAX_ACCOUNTS = 10**6  # each is a name and a nonce kept all run (a count of 10**12 never finished reading)


@attrs.frozen
class SizeModel:
    """Tx sizes in bytes: ``fixed`` (value), ``uniform`` (low..high) or ``lognormal``."""

    dist: str = "fixed"
    value: int = 300
    low: int = 0
    high: int = 0
    median: int = 0
    sigma: float = 0.0

    @classmethod
    def from_raw(cls, reader: TableReader, key: str) -> SizeModel:
        raw = reader.raw(key, 300)
        if not isinstance(raw, dict):
            return cls(value=reader.integer(key, 300, min=MIN_TX_BYTES))
        table = reader.table(key)
        dist = table.string("dist", "fixed", choices=SIZE_DISTS)
        if dist == "fixed":
            model = cls(dist, value=table.integer("value", min=MIN_TX_BYTES))
        elif dist == "uniform":
            low = table.integer("low", min=MIN_TX_BYTES)
            high = table.integer("high", min=low)
            model = cls(dist, value=0, low=low, high=high)
        else:
            model = cls(dist, value=0, median=table.integer("median", min=MIN_TX_BYTES),
                        sigma=table.sigma("sigma"))
        table.finish()
        return model

    def to_raw(self) -> Any:
        if self.dist == "fixed":
            return self.value
        if self.dist == "uniform":
            return {"dist": "uniform", "low": self.low, "high": self.high}
        return {"dist": "lognormal", "median": self.median, "sigma": self.sigma}

    def mean(self) -> float:
        """The mean size in bytes (a lognormal's is its median times e^(sigma^2 / 2))."""
        if self.dist == "fixed":
            return float(self.value)
        if self.dist == "uniform":
            return (self.low + self.high) / 2
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: random.Random) -> int:
        if self.dist == "fixed":
            return self.value
        if self.dist == "uniform":
            return rng.randint(self.low, self.high)
        return max(MIN_TX_BYTES, round(rng.lognormvariate(math.log(self.median), self.sigma)))


@attrs.frozen
class LoadConfig:
    """``[load]``: the users' tx rate, their accounts, tx sizes and fee."""

    rate: float
    accounts: tuple[str, ...]
    size: SizeModel = SizeModel()
    fee: int = 0

    @classmethod
    def from_table(cls, reader: TableReader) -> LoadConfig:
        rate = reader.rate("rate")
        if rate <= 0:
            raise reader.error("rate", 'a rate > 0, like "50/s" (leave [load] out for no users)',
                               reader.raw("rate"))
        raw = reader.raw("accounts", 10)
        if isinstance(raw, list):
            if not raw or not all(isinstance(a, str) and a for a in raw) or len(set(raw)) != len(raw):
                raise reader.error("accounts", "an integer >= 1 or a list of distinct account names", raw)
            accounts = tuple(raw)
        else:
            accounts = tuple(f"u{i}" for i in range(reader.integer("accounts", 10, min=1, max=MAX_ACCOUNTS)))
        size = SizeModel.from_raw(reader, "size")
        fee = reader.integer("fee", 0, min=0)
        reader.finish()
        return cls(rate, accounts, size, fee)

    def to_table(self) -> dict[str, Any]:
        accounts: Any = list(self.accounts)
        if self.accounts == tuple(f"u{i}" for i in range(len(self.accounts))):
            accounts = len(self.accounts)
        return {"rate": rate_text(self.rate), "accounts": accounts, "size": self.size.to_raw(), "fee": self.fee}
