"""What the fault layer may do to a node, and nothing more.

Faults never assign a node's attributes; they call these operations. Each is something an
operator or the environment can do to a real node: crash it, restart it, lose a tx from its
mempool, make its vote skip a nonce, make a listener raise, or have it send a validator-set
tx.
"""

from __future__ import annotations

from collections.abc import Callable

from node.host import NO_EFFECT
from node.messages import DropVote, SkipNonce
from node.node import Node
from node.txs import Approve, Join, Leave, Remove


class NodeControl:
    """The operations faults use on one node. ``spawn`` starts the node's nursery in the world."""

    def __init__(self, node: Node, spawn: Callable[[Node], None]) -> None:
        self._node = node
        self._spawn = spawn

    # -- what faults may read --------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._node.name

    @property
    def online(self) -> bool:
        return self._node.online

    @property
    def is_validator(self) -> bool:
        return self._node.is_validator

    # -- life -------------------------------------------------------------------------------
    def crash(self, reason: str = "crash") -> None:
        """Cancel the node's nursery now: actor, mempool and listeners vanish; storage stays."""
        if self._down("crash"):
            return
        self._node.crash(reason)

    def restart(self) -> None:
        """Start a crashed (or shut down) node again; it catches up before anything else."""
        if not self._node.online:
            self._spawn(self._node)
        else:
            self._node.trace(NO_EFFECT, kind="restart", why="the node is running")

    # -- its mempool and votes ----------------------------------------------------------------
    def drop_pending_vote(self) -> None:
        """The node's newest pending vote-ids tx vanishes from every mempool."""
        if self._down("evict_vote"):
            return
        self._node.post(DropVote())

    def skip_next_nonce(self) -> None:
        """The node's next vote-ids tx skips a nonce."""
        if self._down("nonce_gap"):
            return
        self._node.post(SkipNonce())

    def _down(self, kind: str) -> bool:
        """Whether the node is down, so that a fault acting through it (its mempool, its votes,
        its own txs, crashing it) does nothing: traced as such."""
        if self._node.online:
            return False
        self._node.trace(NO_EFFECT, kind=kind, why="the node is down")
        return True

    def fail_listener(self, listener: str | None) -> None:
        """A listener raises (the node shuts down, as kwil does)."""
        node = self._node
        if not node.listeners.active:
            node.trace(NO_EFFECT, kind="listener_error", why="no listener is running")
            return
        node.listeners.stop("listener error")
        node.listener_failed(RuntimeError(f"injected error in listener {listener or '*'}"))

    # -- validator-set txs (operator actions) ------------------------------------------------
    def send_join(self, power: int) -> None:
        if self._down("join"):
            return
        name = self._node.name
        self._node.submit(lambda nonce: Join(name, nonce, power))

    def send_leave(self) -> None:
        if self._down("leave"):
            return
        name = self._node.name
        self._node.submit(lambda nonce: Leave(name, nonce))

    def send_approve(self, candidate: str) -> None:
        name = self._node.name
        self._node.submit(lambda nonce: Approve(name, nonce, candidate))

    def send_remove(self, target: str) -> None:
        name = self._node.name
        self._node.submit(lambda nonce: Remove(name, nonce, target))
