"""One node's mempool: the txs it holds until a block includes them (CometBFT's mempool with
kwil's per-account nonce tracking), and block assembly (kwil's PrepareProposal order).

The mempool keeps txs in the order they were admitted. Before the app sees a tx, CometBFT's
own checks refuse it when the mempool is full or the tx could never fit in a block
(``refusal``). Admission itself is the app's ``check_tx`` (``node.abci``); the mempool only
remembers, per sender, the nonce of the last admitted tx (kwil's "mempool accounts"), so that
exactly ``pending + 1`` is admitted next.
After a commit, ``update`` drops what the block included and hands the rest back, in order,
for a recheck against the new state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping

from node.txs import Tx, VoteBodies

CACHE_SIZE = 10_000  # CometBFT's default mempool cache: txs it has seen recently
MEMPOOL_SIZE = 5_000  # CometBFT's default [mempool] size: txs a node holds at most
MAX_TX_BYTES = 4 * 2**20  # kwil's [chain.mempool] max_tx_bytes: the largest tx a mempool takes


class Mempool:
    """The txs one node holds, in admission order, and each sender's pending nonce."""

    def __init__(self, size: int = MEMPOOL_SIZE, max_block_bytes: int | None = None) -> None:
        self.size = size
        # the largest tx it takes: kwil's limit, or a block's data when that is smaller
        # (CometBFT's TxPreCheck: a tx larger than a block could never be included)
        self.max_tx_bytes = MAX_TX_BYTES if max_block_bytes is None else min(MAX_TX_BYTES, max_block_bytes)
        self._txs: dict[Tx, float] = {}  # tx -> when it was admitted (insertion ordered)
        self._pending: dict[str, int] = {}  # sender -> nonce of its last admitted tx
        self._cache: OrderedDict[Tx, None] = OrderedDict()

    def seen(self, tx: Tx) -> bool:
        """Whether this mempool saw ``tx`` recently (CometBFT rejects it again as a duplicate)."""
        return tx in self._cache

    def remember(self, tx: Tx) -> None:
        self._cache[tx] = None
        self._cache.move_to_end(tx)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def __len__(self) -> int:
        return len(self._txs)

    def __contains__(self, tx: object) -> bool:
        return tx in self._txs

    def __iter__(self) -> Iterator[Tx]:
        return iter(list(self._txs))

    def pending_nonce(self, sender: str, committed: int) -> int:
        """The nonce of ``sender``'s last tx in this mempool, or its committed nonce."""
        return max(committed, self._pending.get(sender, committed))

    def admit(self, tx: Tx, at: float) -> None:
        """Keep ``tx`` (``check_tx`` accepted it)."""
        self._txs[tx] = at
        self._pending[tx.sender] = max(tx.nonce, self._pending.get(tx.sender, 0))

    def remove(self, tx: Tx) -> bool:
        """Drop ``tx`` and forget having seen it (CometBFT's RemoveTxByKey), so the same tx can
        be admitted again; True when it was here. The sender's pending nonce is recomputed."""
        self._cache.pop(tx, None)
        if self._txs.pop(tx, None) is None:
            return False
        self._recount(tx.sender)
        return True

    def forget(self, tx: Tx) -> None:
        """A tx that failed its recheck leaves the cache too (CometBFT keeps only valid ones)."""
        self._cache.pop(tx, None)

    def of_sender(self, sender: str) -> list[Tx]:
        return [tx for tx in self._txs if tx.sender == sender]

    @property
    def full(self) -> bool:
        return len(self._txs) >= self.size

    def refusal(self, tx: Tx) -> str | None:
        """Why CometBFT refuses ``tx`` before the app's CheckTx: "full", or "too large" for
        a tx over ``max_tx_bytes``; None when it does not."""
        if self.full:
            return "full"
        if tx.size() > self.max_tx_bytes:
            return "too large"
        return None

    def recheck(self, senders: Collection[str] | None, committed_nonce: Mapping[str, int],
                check: Callable[[Tx], bool]) -> list[Tx]:
        """After a commit (CometBFT's Update and recheck; kwil resets its mempool accounts at
        Commit): the txs of ``senders`` (None: every sender) are checked again in order
        against the new state, and those that fail leave; return them. A tx whose nonce the
        block consumed fails here: it was included, or another tx took its nonce. Senders the
        block did not touch keep their txs: checking them again would give the same answers."""
        failed: list[Tx] = []
        touched = set(self._pending) if senders is None else {s for s in self._pending if s in senders}
        for sender in touched:
            self._pending[sender] = committed_nonce.get(sender, 0)
        for tx in [t for t in self._txs if t.sender in touched]:
            if tx.nonce > committed_nonce.get(tx.sender, 0) and check(tx):
                self._pending[tx.sender] = max(self._pending[tx.sender], tx.nonce)
            else:
                del self._txs[tx]
                failed.append(tx)
        for sender in touched:
            if self._pending[sender] == committed_nonce.get(sender, 0):
                del self._pending[sender]
        return failed

    def clear(self) -> None:
        self._txs.clear()
        self._pending.clear()
        self._cache.clear()

    def _recount(self, sender: str) -> None:
        nonces = [tx.nonce for tx in self._txs if tx.sender == sender]
        if nonces:
            self._pending[sender] = max(nonces)
        else:
            self._pending.pop(sender, None)


def admissible_run(committed_nonce: int, txs: Iterable[Tx]) -> list[Tx]:
    """The txs of one sender a mempool can hold: nonces committed+1, +2, … without a gap.

    Only ``pending + 1`` is ever admitted (no gap buffer), so the run stops at the first
    missing nonce; a duplicate nonce is rejected.
    """
    by_nonce: dict[int, Tx] = {}
    for tx in txs:
        by_nonce.setdefault(tx.nonce, tx)
    run = []
    nonce = committed_nonce + 1
    while nonce in by_nonce:
        run.append(by_nonce[nonce])
        nonce += 1
    return run


def assemble_block(proposer: str, own: list[Tx], bodies: VoteBodies | None, others: list[Tx],
                   max_bytes: int) -> list[Tx]:
    """kwil's PrepareProposal (abci.go prepareBlockTransactions): the proposer's own txs, then
    its vote-bodies tx, then everyone else's in mempool order, each sender's txs sorted by
    nonce in the slots they hold and a re-used nonce dropped. The block stops at the first tx
    that does not fit in ``max_bytes`` (kwil does not skip it and go on)."""
    block: list[Tx] = []
    room = max_bytes
    for tx in _by_nonce_in_place(own):
        if tx.size() > room:
            return block
        room -= tx.size()
        block.append(tx)
    if bodies is not None:
        if bodies.size() > room:
            return block
        room -= bodies.size()
        block.append(bodies)
    for tx in _by_nonce_in_place([t for t in others if t.sender != proposer]):
        if tx.size() > room:
            break
        room -= tx.size()
        block.append(tx)
    return block


def _by_nonce_in_place(txs: list[Tx]) -> list[Tx]:
    """Each sender's txs stably sorted by nonce within the positions they hold (Go's
    ``sort.Stable`` over a sender's sub-list), then a tx repeating its predecessor's nonce
    from the same sender dropped."""
    slots: dict[str, list[int]] = {}
    for i, tx in enumerate(txs):
        slots.setdefault(tx.sender, []).append(i)
    ordered: list[Tx] = list(txs)
    for positions in slots.values():
        for i, tx in zip(positions, sorted((txs[i] for i in positions), key=lambda t: t.nonce), strict=True):
            ordered[i] = tx
    kept: list[Tx] = []
    for tx in ordered:
        if kept and kept[-1].sender == tx.sender and kept[-1].nonce == tx.nonce:
            continue
        kept.append(tx)
    return kept
