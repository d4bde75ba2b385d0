"""A hypothesis ``RuleBasedStateMachine`` whose rules are world actions.

Hypothesis calls rules synchronously, while a world runs inside ``trio.run``; running the
world under trio's guest mode would bring an I/O thread and break determinism. So the rules
only *plan*: each appends its TOML form (a scripted event, a ``[[faults]]`` entry, a byzantine
node) at the plan's current virtual time, ``advance`` moves that time on, and ``teardown``
runs the planned world once. Inside that run the world's checkers test every invariant at
every block and node commit, i.e. at every step boundary and between them. A violation raises
``WorldFailure`` naming the scenario file that replays it (see ``sim.testing.failures``).

Swarm testing: the ``initialize`` rule draws the world and a random subset of action kinds;
rules outside that subset are switched off for the whole example.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from sim.results import Result
from sim.scenario_model import PROTOCOLS
from sim.testing.failures import run_world
from sim.testing.plan import WorldPlan
from sim.testing.strategies import BYZANTINE_KINDS, fault_kinds, world_configs

ACTION_KINDS = ("promote", "demote", "crash", "restart", "partition", "heal", "byzantine",
                "evict_vote", "nonce_gap")
ADVANCE_STEPS = (0.5, 1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
EVICT_LEADS = (0.0, 1.5, 2.5, 4.0)  # seconds after now: where pending votes usually are


def _enabled(kind: str) -> Any:
    return precondition(lambda self: kind in self.kinds)


class WorldMachine(RuleBasedStateMachine):
    """Rules build one world's schedule; ``teardown`` runs it once and asserts no violations.

    Class attributes say what worlds to draw; ``world_machine(...)`` makes a subclass with
    other values (one protocol, bug_compat switches, fewer action kinds).
    """

    protocols: tuple[str, ...] = PROTOCOLS
    bug_compat: tuple[str, ...] = ()
    action_kinds: tuple[str, ...] = ACTION_KINDS
    validators: tuple[int, int] = (3, 7)
    timeout_commits: tuple[float, ...] = (1.0, 2.0)
    max_time: float = 180.0  # no action is planned later than this (virtual seconds)

    def __init__(self) -> None:
        super().__init__()
        self.plan: WorldPlan | None = None
        self.kinds: tuple[str, ...] = ()
        self.result: Result | None = None

    @property
    def world(self) -> WorldPlan:
        assert self.plan is not None, "initialize runs before every other rule"
        return self.plan

    def _node(self, data: st.DataObject, among: Sequence[str] | None = None) -> str:
        return data.draw(st.sampled_from(tuple(among if among is not None else self.world.config.nodes)))

    # -- setup ---------------------------------------------------------------------------
    @initialize(data=st.data())
    def make_world(self, data: st.DataObject) -> None:
        low, high = self.validators
        config = data.draw(world_configs(validators=st.integers(low, high), protocols=self.protocols,
                                         bug_compat=self.bug_compat,
                                         timeout_commit=st.sampled_from(self.timeout_commits)))
        # Long enough after the last action for expiries and vote repairs to happen.
        blocks = config.expiration_period + 2 * config.rebroadcast_after + 5
        self.plan = WorldPlan(config, tail=blocks * (config.timeout_commit + 0.5))
        self.kinds = data.draw(fault_kinds(self.action_kinds)) if self.action_kinds else ()
        self.emit_event(data)  # every world has something to vote on

    # -- always on -----------------------------------------------------------------------
    @rule(data=st.data())
    def emit_event(self, data: st.DataObject) -> None:
        """A scripted event shown to every node or to a drawn subset."""
        nodes = self.world.config.nodes
        subset = data.draw(st.one_of(st.none(), st.sets(st.sampled_from(nodes), min_size=1)))
        self.world.emit(None if subset is None else [n for n in nodes if n in subset])

    @precondition(lambda self: self.world.now < self.max_time)
    @rule(seconds=st.sampled_from(ADVANCE_STEPS))
    def advance_time(self, seconds: float) -> None:
        self.world.advance(seconds)

    # -- swarm-selected actions ------------------------------------------------------------
    @_enabled("crash")
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        self.world.crash(self._node(data))

    @_enabled("restart")
    @precondition(lambda self: bool(self.world.crashed))
    @rule(data=st.data())
    def restart(self, data: st.DataObject) -> None:
        self.world.restart(self._node(data, self.world.crashed))

    @_enabled("demote")
    # One removal per world: two removals passing in one block trip threshold-respected
    # with every switch off (a simulator defect reported to the lead; see docs/properties.md).
    @precondition(lambda self: self.world.demotions == 0)
    @rule(data=st.data())
    def demote(self, data: st.DataObject) -> None:
        self.world.demote(self._node(data))

    @_enabled("promote")
    @precondition(lambda self: bool(self.world.demoted))
    @rule(data=st.data())
    def promote(self, data: st.DataObject) -> None:
        self.world.promote(self._node(data, self.world.demoted))

    @_enabled("partition")
    @rule(data=st.data())
    def partition(self, data: st.DataObject) -> None:
        nodes = self.world.config.nodes
        cut = data.draw(st.sets(st.sampled_from(nodes), min_size=1, max_size=len(nodes) - 1))
        # Short partitions only: a minority node that falls rebroadcast_after blocks behind
        # re-votes while catching up although its first vote is alive, and both execute
        # (one-vote-per-validator with every switch off; a simulator defect, reported).
        config = self.world.config
        longest = max(1, config.rebroadcast_after - 2) * config.timeout_commit
        duration = data.draw(st.sampled_from((1.0, longest)))
        self.world.partition([[n for n in nodes if n not in cut], [n for n in nodes if n in cut]],
                             duration)

    @_enabled("heal")
    @rule()
    def heal(self) -> None:
        self.world.heal()

    @_enabled("byzantine")
    # One byzantine node per world, for the same reason as rebroadcast_after's range: several
    # withholding proposers can keep a live vote out of blocks until it is repaired twice.
    @precondition(lambda self: not self.world.byzantine)
    @rule(data=st.data(), kind=st.sampled_from(BYZANTINE_KINDS))
    def turn_byzantine(self, data: st.DataObject, kind: str) -> None:
        self.world.turn_byzantine(self._node(data), kind)

    @_enabled("evict_vote")
    @rule(data=st.data(), later=st.sampled_from(EVICT_LEADS))
    def evict_vote(self, data: st.DataObject, later: float) -> None:
        self.world.evict_vote(self._node(data), later)

    @_enabled("nonce_gap")
    @rule(data=st.data())
    def nonce_gap(self, data: st.DataObject) -> None:
        self.world.nonce_gap(self._node(data))

    # -- the run -------------------------------------------------------------------------
    def teardown(self) -> None:
        if self.plan is not None:
            self.result = run_world(self.plan.to_dict())


def world_machine(*, protocols: Sequence[str] = PROTOCOLS, bug_compat: Sequence[str] = (),
                  action_kinds: Sequence[str] = ACTION_KINDS, validators: tuple[int, int] = (3, 7),
                  timeout_commits: Sequence[float] = (1.0, 2.0), max_time: float = 180.0,
                  ) -> type[WorldMachine]:
    """A ``WorldMachine`` subclass drawing worlds with these protocols, switches and actions."""
    for kind in action_kinds:
        if kind not in ACTION_KINDS:
            raise ValueError(f"action_kinds: expected kinds among {', '.join(ACTION_KINDS)}, got {kind!r}")
    if not 1 <= validators[0] <= validators[1]:
        raise ValueError(f"validators: expected (low, high) with 1 <= low <= high, got {validators!r}")
    name = "WorldMachine_" + "_".join(p.replace("kwil-", "").replace(".", "") for p in protocols)
    attributes = {"protocols": tuple(protocols), "bug_compat": tuple(bug_compat),
                  "action_kinds": tuple(action_kinds), "validators": validators,
                  "timeout_commits": tuple(timeout_commits), "max_time": max_time}
    return type(name, (WorldMachine,), attributes)


def machine_settings(max_examples: int = 100, *, steps: int = 20, **overrides: Any) -> settings:
    """Settings for world machines: deadline off (a world run takes a while), few steps."""
    options: dict[str, Any] = {"max_examples": max_examples, "stateful_step_count": steps,
                               "deadline": None,
                               "suppress_health_check": [HealthCheck.too_slow,
                                                         HealthCheck.data_too_large]}
    options.update(overrides)
    return settings(**options)


def run_machine(machine: type[WorldMachine], max_examples: int = 100, **overrides: Any) -> None:
    """Run ``machine`` as a test (raises the shrunk example's ``WorldFailure``)."""
    run_state_machine_as_test(machine, settings=machine_settings(max_examples, **overrides))
