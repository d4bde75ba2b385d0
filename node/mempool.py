"""Mempool rules and block assembly (kwil on CometBFT), as plain functions over txs."""

from __future__ import annotations

from collections.abc import Iterable

from node.txs import Tx, VoteBodies


def admissible_run(committed_nonce: int, txs: Iterable[Tx]) -> list[Tx]:
    """The txs of one sender a mempool holds: nonces committed+1, +2, … without a gap.

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
    """kwil's PrepareProposal order: own txs, then the vote-bodies tx, then everyone else's.

    Within each sender txs are stably sorted by nonce with duplicates dropped; the block is
    cut at ``max_bytes``, and a sender's later txs are cut with their predecessor so no
    included tx follows a gap.
    """
    ordered: list[Tx] = sorted(own, key=lambda t: t.nonce)
    if bodies is not None:
        ordered.append(bodies)
    by_sender: dict[str, list[Tx]] = {}
    for tx in others:
        if tx.sender != proposer:
            by_sender.setdefault(tx.sender, []).append(tx)
    for sender in by_sender:
        seen: set[int] = set()
        for tx in sorted(by_sender[sender], key=lambda t: t.nonce):
            if tx.nonce not in seen:
                seen.add(tx.nonce)
                ordered.append(tx)
    block: list[Tx] = []
    used = 0
    cut: set[str] = set()
    for tx in ordered:
        if tx.sender in cut:
            continue
        size = tx.size()
        if used + size > max_bytes:
            cut.add(tx.sender)
            continue
        used += size
        block.append(tx)
    return block
