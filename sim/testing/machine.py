"""A hypothesis ``RuleBasedStateMachine`` whose rules are world actions.

Hypothesis calls rules synchronously, while a world runs inside ``trio.run``; running the
world under trio's guest mode would bring an I/O thread and break determinism. So the rules
only *plan*: each appends its TOML form (a scripted event, a ``[[faults]]`` entry, a byzantine
node) at the plan's current virtual time, ``advance`` moves that time on, and ``teardown``
runs the planned world once. Inside that run the world's checkers test every invariant at
every block and node commit, i.e. at every step boundary and between them. A violation raises
``WorldFailure`` naming the scenario file that replays it (see ``sim.testing.failures``).

Faults come from the fault catalog: ``inject_fault`` draws a kind among the example's swarm
subset and lets that kind's own generator draw its keys. By default the machine draws the
wide worlds of ``sim.testing.options.WorldOptions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from sim.faults.catalog import GenContext
from sim.results import Result
from sim.testing.failures import run_world
from sim.testing.local_modules import import_every_module
from sim.testing.options import WorldOptions
from sim.testing.plan import WorldPlan
from sim.testing.strategies import draw_fault, fault_kinds, world_configs

BYZANTINE_ACTION = "byzantine"
ACTION_KINDS = (*WorldOptions().fault_kinds, BYZANTINE_ACTION)
ADVANCE_STEPS = (0.5, 1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
LEADS = (0.0, 1.5, 2.5, 4.0)  # seconds after now (a pending vote is usually a little later)
SHRINKING_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


class WorldMachine(RuleBasedStateMachine):
    """Rules build one world's schedule; ``teardown`` runs it once and asserts no violations.

    ``options`` says what worlds to draw; ``action_kinds`` which actions the swarm picks
    from (fault kinds of the catalog, and ``"byzantine"``). ``world_machine(...)`` makes a
    subclass with other values.
    """

    options: WorldOptions = WorldOptions()
    action_kinds: tuple[str, ...] = ACTION_KINDS
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

    # -- setup ---------------------------------------------------------------------------
    @initialize(data=st.data())
    def make_world(self, data: st.DataObject) -> None:
        config = data.draw(world_configs(options=self.options))
        # Long enough after the last action for expiries and vote repairs to happen.
        blocks = config.expiration_period + 2 * config.rebroadcast_after + 5
        self.plan = WorldPlan(config, tail=blocks * (config.timeout_commit + 0.5),
                              outside=list(config.non_validators))
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
    @precondition(lambda self: any(k != BYZANTINE_ACTION for k in self.kinds))
    @rule(data=st.data(), lead=st.sampled_from(LEADS))
    def inject_fault(self, data: st.DataObject, lead: float) -> None:
        """A fault of a kind this example switched on, keys drawn by the kind's generator."""
        kinds = tuple(k for k in self.kinds if k != BYZANTINE_ACTION)
        kind = data.draw(st.sampled_from(kinds))
        plan = self.world
        nodes = plan.config.nodes
        ctx = GenContext(nodes, nodes, self.options, tuple(plan.crashed), tuple(plan.outside), plan.demotions,
                         added=tuple(plan.added))
        keys = draw_fault(data.draw, kind, ctx)  # type: ignore[arg-type]  # DataObject.draw draws alike
        # a removal or an addition that would hand the byzantine a third of the power is not planned
        if keys is not None and plan.keeps_byzantine_minority(kind, str(keys.get("node"))):
            plan.inject(kind, keys, later=lead)

    def _byzantine_candidates(self) -> list[str]:
        return self.world.byzantine_candidates(self.options.byzantine_limit(len(self.world.config.nodes)))

    @precondition(lambda self: BYZANTINE_ACTION in self.kinds and bool(self._byzantine_candidates()))
    @rule(data=st.data())
    def turn_byzantine(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(self.options.byzantine_kinds))
        self.world.turn_byzantine(data.draw(st.sampled_from(self._byzantine_candidates())), kind)

    # -- the run -------------------------------------------------------------------------
    def teardown(self) -> None:
        if self.plan is not None:
            self.result = run_world(self.plan.to_dict())


def world_machine(*, options: WorldOptions | None = None, protocols: Sequence[str] | None = None,
                  bug_compat: Sequence[str] | None = None, action_kinds: Sequence[str] = ACTION_KINDS,
                  validators: tuple[int, int] | None = None, timeout_commits: Sequence[float] | None = None,
                  max_time: float = 180.0) -> type[WorldMachine]:
    """A ``WorldMachine`` subclass drawing worlds with these options (keywords narrow the
    options: ``protocols``, ``bug_compat``, ``validators``, ``timeout_commits``) and actions."""
    for kind in action_kinds:
        if kind not in ACTION_KINDS:
            raise ValueError(f"action_kinds: expected kinds among {', '.join(ACTION_KINDS)}, got {kind!r}")
    changes: dict[str, Any] = {}
    if protocols is not None:
        changes["protocols"] = tuple(protocols)
    if bug_compat is not None:
        changes["bug_compat"] = tuple(bug_compat)
    if validators is not None:
        changes["validators"] = validators
    if timeout_commits is not None:
        changes["timeout_commits"] = tuple(timeout_commits)
    chosen = attrs.evolve(options or WorldOptions(), **changes)
    name = "WorldMachine_" + "_".join(p.replace("kwil-", "").replace(".", "") for p in chosen.protocols)
    attributes = {"options": chosen, "action_kinds": tuple(action_kinds), "max_time": max_time}
    return type(name, (WorldMachine,), attributes)


def machine_settings(max_examples: int = 100, *, steps: int = 20, **overrides: Any) -> settings:
    """Settings for world machines: deadline off (a world run takes a while), few steps, and
    no explain phase (its line tracing slows every shrinking attempt's whole world run)."""
    options: dict[str, Any] = {"max_examples": max_examples, "stateful_step_count": steps,
                               "deadline": None, "phases": SHRINKING_PHASES,
                               "suppress_health_check": [HealthCheck.too_slow,
                                                         HealthCheck.data_too_large]}
    options.update(overrides)
    return settings(**options)


def run_machine(machine: type[WorldMachine], max_examples: int = 100, **overrides: Any) -> None:
    """Run ``machine`` as a test (raises the shrunk example's ``WorldFailure``)."""
    import_every_module()  # before hypothesis draws anything (see local_modules)
    run_state_machine_as_test(machine, settings=machine_settings(max_examples, **overrides))
