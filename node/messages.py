"""What a node's mempool/block actor (``node.actor``) can be asked to do: the messages the world
and the node post to its mailbox. Each is handled in the order posted, one batch per virtual
instant."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from node.abci import Finalized
from node.txs import Tx


@attrs.frozen
class TxArrivals:
    """Other nodes' txs that reached this node over gossip, each with its arrival time."""

    txs: tuple[tuple[float, Tx], ...]


@attrs.frozen
class Propose:
    """This node proposes round ``round`` of ``height``: answer with the block's txs."""

    height: int
    round: int


@attrs.frozen
class AfterCommit:
    """This node committed ``finalized.block``: update the mempool, vote, follow the set."""

    finalized: Finalized


@attrs.frozen
class Submit:
    """Send a tx built with the sender's next nonce as this mempool knows it: the node's own
    validator-set tx, or a user's tx arriving at this node (``sender`` is then the user)."""

    make: Callable[[int], Tx]
    sender: str | None = None  # None: the node itself


@attrs.frozen
class DropVote:
    """Fault: this node's newest pending vote-ids tx vanishes from its mempool."""


@attrs.frozen
class SkipNonce:
    """Fault: this node's next vote-ids tx skips a nonce."""


@attrs.frozen
class ForgetTx:
    """Another node gave ``tx`` up (it voted again instead): drop it from the mempool."""

    tx: Tx


Message = TxArrivals | Propose | AfterCommit | Submit | DropVote | SkipNonce | ForgetTx
