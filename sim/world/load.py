"""Users sending txs (``[load]``): Poisson arrivals, each a tx from a random account of a
random size, sent to a random online node, which admits it with the account's next nonce as
its mempool knows it and gossips it. Everything drawn comes from the world's "load" stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.messages import Submit
from node.txs import Tx, UserTx
from sim.engine.kernel import Kernel
from sim.engine.rng import RngStreams
from sim.load_model import LoadConfig

if TYPE_CHECKING:
    from node.node import Node


class UserLoad:
    """Generates the users' txs of one world."""

    def __init__(self, config: LoadConfig, kernel: Kernel, rng: RngStreams, nodes: list[Node]) -> None:
        self._config = config
        self._kernel = kernel
        self._rng = rng.stream("load")
        self._nodes = nodes
        self.sent = 0

    def start(self) -> None:
        self._kernel.call_later(self._rng.expovariate(self._config.rate), self._arrive)

    def _arrive(self) -> None:
        config = self._config
        online = [node for node in self._nodes if node.online]
        account = self._rng.choice(config.accounts)
        size = config.size.sample(self._rng)
        if online:
            node = self._rng.choice(online)
            self.sent += 1
            serial = self.sent

            def make(nonce: int) -> Tx:
                return UserTx(account, nonce, size, config.fee, serial)

            node.post(Submit(make, sender=account))
        self._kernel.call_later(self._rng.expovariate(config.rate), self._arrive)
