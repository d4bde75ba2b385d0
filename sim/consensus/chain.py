"""The canonical chain: blocks by height, the state after each, and consensus validator sets.

Execution is a pure function of (state, block), so each height is executed once and every
node that commits it adopts the same resulting state value (a cache keyed by the pre-state
and block hashes — a node whose state differed would execute for itself). Consensus uses
the validator set from two heights back (CometBFT applies updates from H+2) and rotates
proposers with ``node.proposer``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from node.app import AppState
from node.execute import BlockResult, Rules, execute_block
from node.proposer import ProposerRotation
from node.txs import Block

KEEP_RECENT_STATES = 64
_SPENT = BlockResult()  # the result an old height keeps once its own was dropped


@attrs.define(eq=False)
class Committed:
    """One height of the chain: its block, and the state and result executing it gave."""

    block: Block
    block_hash: str
    state: AppState | None  # None once dropped (older than the recent window); see state_after
    state_hash: str
    validators: dict[str, int]
    result: BlockResult
    first_commit: float


class Chain:
    """Heights committed so far (by at least one node), with their states and results."""

    def __init__(self, genesis: AppState, rules: Rules, names: list[str]) -> None:
        self.genesis = genesis
        self.rules = rules
        self.names = names
        self._index = {name: i for i, name in enumerate(names)}
        self.committed: dict[int, Committed] = {}
        self._height = 0  # the highest key of ``committed`` (max() over it each height was quadratic)
        self._released = 0  # heights up to this one are gone (``release_blocks``)
        self._rotations: dict[int, ProposerRotation] = {}
        self._round0: dict[int, str] = {}
        self._power_arrays: dict[int, tuple[np.ndarray, int]] = {}

    @property
    def height(self) -> int:
        return self._height

    def state_after(self, height: int) -> AppState:
        """The state after ``height``: kept for the recent heights, replayed from genesis for
        older ones while their blocks are still kept (``release_blocks``)."""
        if height <= 0:
            return self.genesis
        if height <= self._released:
            raise RuntimeError(f"height {height} was released: every node is past it")
        entry = self.committed[height]
        if entry.state is not None:
            return entry.state
        base = height - 1
        while base > 0 and self.committed[base].state is None:
            base -= 1
            if 0 < base <= self._released:
                raise RuntimeError(f"the state after height {height} cannot be rebuilt: height {base} "
                                   "was released (every node is past it)")
        state = self.state_after(base)
        for h in range(base + 1, height + 1):
            state, _result = execute_block(state, self.committed[h].block, self.rules,
                                           self.committed[h].block_hash)
        return state

    def validators_after(self, height: int) -> dict[str, int]:
        if height <= 0:
            return self.genesis.validators
        return self.committed[height].validators

    # -- consensus view ----------------------------------------------------------------
    def consensus_powers(self, height: int) -> dict[str, int]:
        """Voting powers for consensus at ``height``: the set after height - 2."""
        return dict(self.validators_after(height - 2))

    def rotation(self, height: int) -> ProposerRotation:
        """Proposer priorities after height ``height``'s own increment (computed in order)."""
        if height in self._rotations:
            return self._rotations[height]
        if height == 1:
            rotation = ProposerRotation(self.consensus_powers(1))
        else:
            rotation = self.rotation(height - 1).copy()
            if not self._same_set_as_before(height):
                powers = self.consensus_powers(height)
                changes = [(n, p) for n, p in sorted(powers.items()) if rotation.powers.get(n) != p]
                changes += [(n, 0) for n in sorted(rotation.powers) if n not in powers]
                if changes:
                    rotation.update(changes)
        self._round0[height] = rotation.increment(1)
        self._rotations[height] = rotation
        self._rotations.pop(height - 3, None)
        self._round0.pop(height - 3, None)  # (recomputed with its rotation if ever asked again)
        return rotation

    def _same_set_as_before(self, height: int) -> bool:
        """Whether ``height`` is voted on by the same validator set as ``height - 1``. ``record``
        shares the validators dict while the set is unchanged, so the same object says so in
        O(1) (the common case; a set rebuilt equal only costs the full comparison)."""
        return self.validators_after(height - 2) is self.validators_after(height - 3)

    def proposer_fn(self, height: int) -> Callable[[int], int]:
        """Round -> the index of its proposer (-1: no validator is left to propose)."""
        rotation = self.rotation(height)
        round0 = self._round0[height]
        if not round0:
            return lambda round_: -1
        cache: dict[int, int] = {0: self._index[round0]}

        def proposer_of_round(round_: int) -> int:
            if round_ not in cache:
                cache[round_] = self._index[rotation.proposer_for_round(round_)]
            return cache[round_]

        return proposer_of_round

    def power_array(self, height: int) -> tuple[np.ndarray, int]:
        """Consensus powers at ``height`` per node index, and their total. Fixed once height
        - 2 is committed, so it is computed once per height (do not modify the array)."""
        cached = self._power_arrays.get(height)
        if cached is None:
            previous = self._power_arrays.get(height - 1)
            if previous is not None and self._same_set_as_before(height):
                cached = previous
            else:
                powers = self.consensus_powers(height)
                array = np.array([powers.get(n, 0) for n in self.names], dtype=np.int64)
                array.setflags(write=False)
                cached = (array, int(array.sum()))
            self._power_arrays[height] = cached
            self._power_arrays.pop(height - 8, None)
        return cached

    def release_blocks(self, lowest_node_height: int) -> None:
        """Forget the heights no node can ask for again: every node (down ones included) has
        committed them, and they are older than the recent window kept for execution.
        A real node keeps its block store; the world keeps one chain for all, so a height is
        needed only while some node is below it, and heights do not pile up in a long run
        (a block, two hashes and an entry: ~400 bytes a height, kept all run before)."""
        upto = min(lowest_node_height, self.height - KEEP_RECENT_STATES)
        for height in range(self._released + 1, upto + 1):
            self.committed.pop(height, None)
        self._released = max(self._released, upto)

    # -- execution ---------------------------------------------------------------------
    def execute(self, pre: AppState, block: Block) -> tuple[AppState, BlockResult, str]:
        """The state after ``block`` on ``pre``: the recorded one when it is the same block
        on the same parent state, otherwise a fresh execution."""
        known = self.committed.get(block.height)
        block_hash = known.block_hash if known is not None and known.block is block else block.hash
        if known is not None and known.block_hash == block_hash and known.state is not None:
            parent = self.committed.get(block.height - 1)
            parent_hash = parent.state_hash if parent is not None else self.genesis.hash
            if parent_hash == pre.hash:
                return known.state, known.result, block_hash
        state, result = execute_block(pre, block, self.rules, block_hash)
        return state, result, block_hash

    def record(self, block: Block, block_hash: str, state: AppState, result: BlockResult,
               time: float) -> Committed:
        previous = self.committed.get(block.height - 1)
        validators = previous.validators if previous is not None and \
            previous.validators == state.validators else dict(state.validators)  # shared while unchanged
        entry = Committed(block, block_hash, state, state.hash, validators, result, time)
        self.committed[block.height] = entry
        self._height = max(self._height, block.height)
        old = self.committed.get(block.height - KEEP_RECENT_STATES)
        if old is not None:
            # Past the recent window a height keeps its block (until ``release_blocks``) but
            # not what executing it gave: every reader of its result and state has had them.
            old.result = _SPENT
            old.state = None
        return entry
