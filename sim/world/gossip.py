"""Txs travelling between mempools: when each one reaches each node.

A tx a node admits is gossiped to every other node. Its arrival at a node is a keyed latency
draw over the network (``Network.arrivals``, judged by the link as it was when the tx was
sent), so it can be computed whenever it is needed and always comes out the same. By default
it is computed lazily: a node is handed the txs that reached it since it was last asked only
when it needs its mempool (as proposer), which is exact because admitting a tx has no effect
a node could notice earlier. Under ``rebroadcast-any-sender`` admission does have one (a
bad-nonce vote tx from another node marks ids for rebroadcast), so every arrival is
delivered at its own instant instead.

A link may duplicate a tx (``[network] duplicate`` or the ``duplicate`` fault): the copy
arrives a little later and the receiving mempool rejects it as a duplicate.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import attrs
import numpy as np

from node.txs import Tx, VoteIDs
from sim.engine.kernel import Kernel
from sim.engine.rng import RngStreams, keyed_uniform
from sim.net.network import Network

DUPLICATE_SALT = 0xD0B1
DUPLICATE_LAG_SALT = 0xD0B2
DUPLICATE_LAG = 0.2  # a duplicate arrives up to this long after the first copy


@attrs.define(eq=False, slots=True)
class InFlight:
    """One tx on its way: who sent it, when, its draw key, its place in the order of sending,
    and, when every arrival is delivered at its own instant, which nodes already got it (else
    ``Gossip`` knows that by what it handed each node: a set per tx held every node's number
    for the whole time a saturated chain kept the tx in flight)."""

    tx: Tx
    sender: int
    submitted: float
    key: int
    seq: int
    delivered: set[int] | None = None


Deliver = Callable[[int, tuple[tuple[float, Tx], ...]], None]


class Gossip:
    """Every tx some node sent and not every node has seen, and their arrival times."""

    def __init__(self, network: Network, rng: RngStreams, kernel: Kernel, deliver: Deliver, *,
                 eager: bool = False) -> None:
        self._network = network
        self._rng = rng
        self._kernel = kernel
        self._deliver = deliver
        self._eager = eager
        self._flights: dict[int, InFlight] = {}
        self._seq = 0
        # The same flights found by what withdraw and prune ask: a saturated chain keeps tens
        # of thousands in flight, and a scan of all of them per withdrawn vote and per block
        # was a fifth of such a run, and grew with it (40 nodes, users sending 600 txs a second).
        self._by_nonce: dict[tuple[str, int], list[int]] = {}  # (sender, nonce) -> seqs
        self._lowest_nonce: dict[str, list[tuple[int, int]]] = {}  # sender -> heap of (nonce, seq)
        # Per node, what ``arrivals_for`` has yet to look at: every flight from ``_next_seq``
        # on, and the earlier ones that had not reached it when it was last asked (a look at
        # every flight per proposal made a saturated chain's run grow with its square).
        self._next_seq: dict[int, int] = {}
        self._not_arrived: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    def submit(self, sender: int, tx: Tx) -> None:
        """Node ``sender`` admitted its own ``tx``: send it to everyone else."""
        self._seq += 1
        flight = InFlight(tx, sender, self._kernel.now, self._rng.counter_key("tx", self._seq), self._seq,
                          set() if self._eager else None)
        self._flights[self._seq] = flight
        self._by_nonce.setdefault((tx.sender, tx.nonce), []).append(self._seq)
        heapq.heappush(self._lowest_nonce.setdefault(tx.sender, []), (tx.nonce, self._seq))
        if self._eager:
            arrivals = self._network.arrivals(np.array([sender]), np.array([flight.submitted]),
                                              np.array([flight.key], dtype=np.uint64))[0]
            for j in range(len(arrivals)):
                if j != sender and np.isfinite(arrivals[j]):
                    self._kernel.call_at(float(arrivals[j]), self._deliver_one, j, self._seq)

    def _deliver_one(self, node: int, seq: int) -> None:
        flight = self._flights.get(seq)
        if flight is None or flight.delivered is None or node in flight.delivered:
            return
        flight.delivered.add(node)
        self._deliver(node, ((self._kernel.now, flight.tx),))

    def arrivals_for(self, node: int, until: float) -> tuple[tuple[float, Tx], ...]:
        """The txs that reached ``node`` by ``until`` and were not handed to it yet, in
        arrival order (duplicated copies included)."""
        flights = self._undelivered(node)
        if not flights:
            return ()
        senders = np.array([f.sender for f in flights])
        sent = np.array([f.submitted for f in flights])
        keys = np.array([f.key & 0xFFFFFFFFFFFFFFFF for f in flights], dtype=np.uint64)
        arrival = self._network.arrivals(senders, sent, keys, np.array([node]))[:, 0]
        reached = arrival <= until
        self._not_arrived[node] = [f.seq for f, yes in zip(flights, reached.tolist(), strict=True) if not yes]
        arrived = np.flatnonzero(reached)
        # in arrival order, ties in flight order (a stable sort of the flights' order)
        arrived = arrived[np.argsort(arrival[arrived], kind="stable")]
        if self._eager:
            for n in arrived.tolist():
                delivered = flights[n].delivered
                assert delivered is not None
                delivered.add(node)
        got = [(at, flights[n].tx) for at, n in zip(arrival[arrived].tolist(), arrived.tolist(), strict=True)]
        copies = self._duplicates(flights, senders, sent, keys, arrival, node, until)
        if copies:  # (a copy arriving at the very instant of a tx comes after it)
            got = [(at, tx) for at, _n, tx in sorted(
                [(at, n, tx) for n, (at, tx) in enumerate(got)]
                + [(at, len(got) + n, tx) for n, (at, tx) in enumerate(copies)],
                key=lambda item: (item[0], item[1]))]
        return tuple(got)

    def _undelivered(self, node: int) -> list[InFlight]:
        """The flights ``node`` was not handed yet, in the order they were sent (its own aside)."""
        flights = self._flights
        seqs = [seq for seq in self._not_arrived.get(node, ()) if seq in flights]
        start = self._next_seq.get(node, 1)
        if self._seq + 1 - start > len(flights):  # most sent since were consumed: look at what is left
            seqs += [seq for seq in flights if seq >= start]
        else:
            seqs += [seq for seq in range(start, self._seq + 1) if seq in flights]
        self._next_seq[node] = self._seq + 1
        out = []
        for seq in seqs:
            flight = flights[seq]
            if flight.sender != node and (flight.delivered is None or node not in flight.delivered):
                out.append(flight)
        return out

    def _duplicates(self, flights: list[InFlight], senders: np.ndarray, sent: np.ndarray,
                    keys: np.ndarray, arrival: np.ndarray, node: int,
                    until: float) -> list[tuple[float, Tx]]:
        chance = self._network.duplicate_chance(senders, node, sent)
        if chance is None:
            return []
        hit = keyed_uniform(keys ^ np.uint64(node), DUPLICATE_SALT) < chance
        lag = keyed_uniform(keys ^ np.uint64(node), DUPLICATE_LAG_SALT) * DUPLICATE_LAG
        out = []
        for i in np.flatnonzero(hit & np.isfinite(arrival)):
            at = float(arrival[i] + lag[i])
            if at <= until:
                out.append((at, flights[int(i)].tx))
        return out

    def withdraw(self, tx: Tx) -> None:
        """``tx``'s sender gave it up: nobody else will be handed it."""
        seqs = self._by_nonce.get((tx.sender, tx.nonce), [])
        for seq in [seq for seq in seqs if self._flights[seq].tx == tx]:
            self._forget(seq)

    def prune(self, nonces: dict[str, int]) -> None:
        """After a block: forget txs whose nonce the chain consumed (every mempool drops them)."""
        for sender, heap in self._lowest_nonce.items():
            consumed = nonces.get(sender, 0)
            while heap and heap[0][0] <= consumed:
                _nonce, seq = heapq.heappop(heap)
                if seq in self._flights:  # (else withdrawn before)
                    self._forget(seq)

    def _forget(self, seq: int) -> None:
        tx = self._flights.pop(seq).tx
        seqs = self._by_nonce[(tx.sender, tx.nonce)]
        seqs.remove(seq)
        if not seqs:
            del self._by_nonce[(tx.sender, tx.nonce)]

    def oldest_submission(self) -> float | None:
        """When the oldest tx still travelling was sent (its links' history is still needed).

        Flights are kept in the order they were sent, so it is the first one's (with a busy
        chain's thousands of txs in flight, a search per block was 4% of the run)."""
        for flight in self._flights.values():
            return flight.submitted
        return None

    def in_flight(self) -> list[Tx]:
        """Every tx still travelling."""
        return [f.tx for f in self._flights.values()]

    def pending_votes(self) -> set[tuple[str, str]]:
        """(sender, id) of every vote-ids tx still travelling."""
        return {(f.tx.sender, rid) for f in self._flights.values() if isinstance(f.tx, VoteIDs)
                for rid in f.tx.ids}
