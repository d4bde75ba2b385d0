"""How a validator behaves at each stage of the block lifecycle: honestly, or not.

A node holds one ``Behaviour``; every stage where a validator could deviate asks it: what to
propose (``prepare_proposal``), whether to accept a proposal (``process_proposal``), which
events to vote on (``vote_ids``), which bodies to propose (``vote_bodies``) and what to do
after a commit (``after_commit``). The honest behaviour changes nothing; a byzantine one is
the honest node with one strategy object replaced. Scenarios name a built-in
(``[nodes.v3] byzantine = "withhold"``) or a user's class as ``"module:Class"``; a new
built-in is one class here plus one ``register_behaviour`` line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import attrs

from node.txs import Tx, VoteBodies, VoteIDs


@attrs.frozen
class BehaviourContext:
    """What a behaviour may see and do at its node."""

    node: str
    height: int  # the node's committed height
    is_validator: bool
    event_types: tuple[str, ...]  # the resolution types the world knows, sorted
    validators: tuple[str, ...]  # the committed validator set, in address order
    store_event: Callable[[str, bytes], None]  # as a listener's ``eventstore.broadcast``
    trace: Callable[..., None]


HOOKS = ("prepare_proposal", "process_proposal", "vote_ids", "vote_bodies", "after_commit")


class BehaviourFailed(Exception):
    """A user's behaviour raised in one of its hooks; the message names node, class and hook."""


class Behaviour:
    """The honest validator. Subclass and override a hook to deviate at that stage."""

    name = "honest"

    def prepare_proposal(self, ctx: BehaviourContext, txs: list[Tx]) -> list[Tx]:
        """The txs this node proposes, given what the honest PrepareProposal chose."""
        return txs

    def process_proposal(self, ctx: BehaviourContext, proposer: str, txs: tuple[Tx, ...],
                         accept: bool) -> bool:
        """Whether this validator accepts a proposal the honest ProcessProposal judged ``accept``."""
        return accept

    def vote_ids(self, ctx: BehaviourContext, votes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (id, type) pairs this validator puts in its vote-ids tx."""
        return votes

    def vote_bodies(self, ctx: BehaviourContext, bodies: VoteBodies | None) -> VoteBodies | None:
        """The vote-bodies tx this node, as proposer, puts in its block."""
        return bodies

    def after_commit(self, ctx: BehaviourContext) -> None:
        """Called after each block this node commits while it is a validator."""

    def overrides(self, hook: str) -> bool:
        """Whether this behaviour deviates at ``hook`` (the honest one is not asked then)."""
        return getattr(type(self), hook) is not getattr(Behaviour, hook)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Silent(Behaviour):
    """Never votes: no vote-ids txs, no vote bodies."""

    name = "silent"

    def vote_ids(self, ctx: BehaviourContext, votes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return []

    def vote_bodies(self, ctx: BehaviourContext, bodies: VoteBodies | None) -> VoteBodies | None:
        return None


class Withhold(Behaviour):
    """As proposer, leaves every other validator's vote-ids txs out of its blocks."""

    name = "withhold"

    def prepare_proposal(self, ctx: BehaviourContext, txs: list[Tx]) -> list[Tx]:
        return [tx for tx in txs if not (isinstance(tx, VoteIDs) and tx.sender != ctx.node)]


class Fabricate(Behaviour):
    """Invents an event no source produced and votes on it. Fabricators collude: each
    invents the same one per 20 heights, so their votes add up."""

    name = "fabricate"
    every = 20

    def after_commit(self, ctx: BehaviourContext) -> None:
        if ctx.height % self.every != 1:
            return
        names = [t for t in ctx.event_types if t not in ("validator_join", "validator_remove")]
        # prefer a scenario's own type; credit_account is built into every world
        types = [t for t in names if t != "credit_account"] or names
        if types:
            ctx.store_event(types[0], f"fabricated-{ctx.height // self.every}".encode())


class ProposeInvalid(Behaviour):
    """Proposes blocks that honest validators reject in ProcessProposal: each proposal
    carries a vote-bodies tx in another validator's name (only the proposer may send one)."""

    name = "propose-invalid"

    def prepare_proposal(self, ctx: BehaviourContext, txs: list[Tx]) -> list[Tx]:
        others = [v for v in ctx.validators if v != ctx.node]
        if not others:
            return txs
        forged = VoteBodies(others[0], 1, (("validator_join", f"forged-{ctx.height}".encode()),))
        return [*txs, forged]

    def process_proposal(self, ctx: BehaviourContext, proposer: str, txs: tuple[Tx, ...],
                         accept: bool) -> bool:
        return True if proposer == ctx.node else accept


_BUILTIN: dict[str, type[Behaviour]] = {}


def register_behaviour(cls: type[Behaviour]) -> type[Behaviour]:
    """Make ``cls`` nameable in scenarios by its ``name``."""
    if cls.name in _BUILTIN:
        raise ValueError(f"behaviour {cls.name!r} is already registered")
    _BUILTIN[cls.name] = cls
    return cls


for _cls in (Silent, Fabricate, Withhold, ProposeInvalid):
    register_behaviour(_cls)


def builtin_behaviours() -> tuple[str, ...]:
    """The names a scenario may give ``byzantine`` without naming a module."""
    return tuple(_BUILTIN)


def load_behaviour(spec: str | None) -> Behaviour:
    """The behaviour a scenario names: None (honest), a built-in name, or ``"module:Class"``."""
    if spec is None:
        return Behaviour()
    if spec in _BUILTIN:
        return _BUILTIN[spec]()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f'expected one of {", ".join(builtin_behaviours())} or "module:Class", got {spec!r}')
    module = importlib.import_module(module_name)
    cls: Any = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Behaviour)):
        raise ValueError(f"{spec!r} is not a subclass of node.behaviours.Behaviour")
    behaviour = cls()
    if behaviour.name == Behaviour.name:
        behaviour.name = spec  # a user class that kept the default name is traced by its spec
    for hook in HOOKS:
        if behaviour.overrides(hook):
            setattr(behaviour, hook, _guarded(behaviour, hook))
    return behaviour


def _guarded(behaviour: Behaviour, hook: str) -> Callable[..., Any]:
    """``hook`` of a user's behaviour, with what it raises turned into a ``BehaviourFailed``
    that says where: user code failing is reported as such, not as a simulator crash."""
    method = getattr(behaviour, hook)

    def guarded(ctx: BehaviourContext, *args: Any) -> Any:
        try:
            return method(ctx, *args)
        except Exception as exc:
            raise BehaviourFailed(f"{ctx.node}: byzantine behaviour {behaviour.name!r} raised in {hook}: "
                                  f"{type(exc).__name__}: {exc}") from exc

    return guarded
