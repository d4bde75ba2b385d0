"""The fault layer: every fault kind (``nodesim kinds``), scheduled or injected from code.

Nodes contain no fault logic; this module changes the network's epochs, crashes and
restarts nodes, makes honest validators send validator-set txs, and pokes the sources.
Each fault is a trace record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from node.resolutions import VALIDATOR_JOIN, VALIDATOR_REMOVE
from node.txs import Approve, Join, Leave, Remove, VoteIDs
from sim.errors import SimulationError

if TYPE_CHECKING:
    from sim.chain import Committed
    from sim.world import World


class FaultInjector:
    """Applies faults to one world; ``inject(kind, **keys)`` is the code-level entry."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.overrides: list[tuple[str, int]] = []
        self._approved: set[tuple[str, str]] = set()
        self._removing: set[str] = set()
        self._removed_sent: set[tuple[str, str]] = set()

    # -- scheduling ----------------------------------------------------------------------
    def schedule(self) -> None:
        for spec in self.world.scenario.faults:
            self.world.kernel.call_at(spec.at, self.apply, spec)

    def apply(self, spec: Any) -> None:
        fields = {k: v for k, v in spec.to_table().items() if k not in ("at", "kind")}
        # the record keeps seconds; the trace keeps the scenario's own spelling
        self.world.records.faults.append({**fields, "time": self.world.clock.now, "kind": spec.kind,
                                          "duration": getattr(spec, "duration", None)})
        self.world.trace.emit("fault", kind=spec.kind, **fields)
        handler = getattr(self, f"_fault_{spec.kind}", None)
        if handler is None:
            raise SimulationError(f"fault kind {spec.kind!r} is not supported")
        handler(spec)

    def _node(self, name: str | None) -> int:
        if name is None or name not in self.world.index:
            raise SimulationError(f"fault names unknown node {name!r}")
        return self.world.index[name]

    def _indices(self, names: Any) -> list[int]:
        return [self._node(n) for n in (names or [])]

    # -- network -------------------------------------------------------------------------
    def _network_changed(self) -> None:
        self.world.driver.replan()

    def _fault_partition(self, spec: Any) -> None:
        epoch = self.world.network.change(self.world.clock.now)
        links: list[tuple[int, int]] = []
        if spec.groups:
            groups = [self._indices(g) for g in spec.groups]
            for a, group_a in enumerate(groups):
                for b, group_b in enumerate(groups):
                    if a != b:
                        links += [(i, j) for i in group_a for j in group_b]
        else:
            links = [(i, j) for i in self._indices(spec.from_) for j in self._indices(spec.to)]
        for i, j in links:
            epoch.blocked[i, j] = True
        self._network_changed()
        if spec.duration:
            self.world.kernel.call_later(spec.duration, self._unblock, links)

    def _unblock(self, links: list[tuple[int, int]]) -> None:
        epoch = self.world.network.change(self.world.clock.now)
        for i, j in links:
            epoch.blocked[i, j] = False
        self.world.trace.emit("fault", kind="heal", links=len(links))
        self._network_changed()

    def _fault_heal(self, spec: Any) -> None:
        epoch = self.world.network.change(self.world.clock.now)
        epoch.blocked[:] = False
        self._network_changed()

    def _link_mask(self, spec: Any) -> np.ndarray:
        n = len(self.world.names)
        mask = np.zeros((n, n), dtype=bool)
        if getattr(spec, "link", None):
            a, b = self._indices(spec.link)
            mask[a, b] = mask[b, a] = True
        elif getattr(spec, "nodes", None):
            for i in self._indices(spec.nodes):
                mask[i, :] = mask[:, i] = True
        else:
            mask[:] = True
        np.fill_diagonal(mask, False)
        return mask

    def _timed_link_change(self, spec: Any, table: str, value: float) -> None:
        mask = self._link_mask(spec)
        epoch = self.world.network.change(self.world.clock.now)
        getattr(epoch, table)[mask] += value
        self._network_changed()
        if spec.duration:
            self.world.kernel.call_later(spec.duration, self._undo_link_change, mask, table, value)

    def _undo_link_change(self, mask: np.ndarray, table: str, value: float) -> None:
        epoch = self.world.network.change(self.world.clock.now)
        values = getattr(epoch, table)
        values[mask] = np.maximum(values[mask] - value, 0.0)
        self._network_changed()

    def _fault_delay(self, spec: Any) -> None:
        self._timed_link_change(spec, "extra", spec.extra)

    def _fault_drop(self, spec: Any) -> None:
        self._timed_link_change(spec, "drop", spec.probability)

    def _fault_reorder(self, spec: Any) -> None:
        # Reordering = extra jitter on the chosen links, so later messages can overtake.
        jitter = self.world.rng.stream("fault/reorder").uniform(0.0, 0.2) * spec.probability
        self._timed_link_change(spec, "extra", jitter)

    def _fault_duplicate(self, spec: Any) -> None:
        # Consensus messages and txs are deduplicated by their receivers (CometBFT's caches),
        # so a duplicate changes no outcome; the fault is recorded in the trace only.
        pass

    # -- nodes ---------------------------------------------------------------------------
    def _fault_crash(self, spec: Any) -> None:
        self.crash(self._node(spec.node), "crash")

    def crash(self, i: int, reason: str) -> None:
        node = self.world.nodes[i]
        if not node.online:
            return
        node.crash(reason)
        epoch = self.world.network.change(self.world.clock.now)
        epoch.online[i] = False
        self.world.driver.node_down(i)
        self._network_changed()

    def shut_down(self, i: int) -> None:
        self.crash(i, "shutdown")

    def _fault_restart(self, spec: Any) -> None:
        i = self._node(spec.node)
        node = self.world.nodes[i]
        if node.online:
            return
        node.shut_down = None
        epoch = self.world.network.change(self.world.clock.now)
        epoch.online[i] = True
        self.world.start_node(node)
        node.online = True
        self._network_changed()

    def _fault_clock_skew(self, spec: Any) -> None:
        self.world.driver.skew[self._node(spec.node)] = spec.offset

    def _fault_listener_error(self, spec: Any) -> None:
        node = self.world.nodes[self._node(spec.node)]
        if node.listeners.active:
            node.listeners.stop("listener error")
            node.listener_failed(RuntimeError(f"injected error in listener {spec.listener or '*'}"))

    def _fault_evict_vote(self, spec: Any) -> None:
        i = self._node(spec.node)
        node = self.world.nodes[i]
        votes = [tx for tx in node.own_txs if isinstance(tx, VoteIDs)]
        if not votes:
            return
        tx = votes[-1]
        node.evict(tx.nonce)
        for key in [k for k, p in self.world.pool.items() if p.tx == tx]:
            del self.world.pool[key]

    def _fault_nonce_gap(self, spec: Any) -> None:
        self.world.nodes[self._node(spec.node)].skip_nonce = True

    # -- sources ---------------------------------------------------------------------------
    def _source(self, kind: str) -> Any:
        source = self.world.sources.get(kind)
        if source is None:
            raise SimulationError(f"fault needs [sources.{kind}] in the scenario")
        return source

    def _fault_rpc_outage(self, spec: Any) -> None:
        node = self.world.names[self._node(spec.node)]
        self._source("evm").set_outage(node, self.world.clock.now + (spec.duration or 0.0))

    def _fault_reorg_burst(self, spec: Any) -> None:
        source = self._source("evm")
        for _ in range(spec.count or 1):
            source.reorg_burst(spec.depth)

    def _fault_hub_outage(self, spec: Any) -> None:
        self._source("pubsub").set_outage(self.world.clock.now + (spec.duration or 0.0))

    # -- validator set -------------------------------------------------------------------
    def _power_for(self, spec: Any, i: int) -> int:
        return int(spec.power) if getattr(spec, "power", None) else self.world.scenario.nodes[i].power

    def _fault_join(self, spec: Any) -> None:
        i = self._node(spec.node)
        node = self.world.nodes[i]
        if getattr(spec, "override", False):
            self.overrides.append((node.name, self._power_for(spec, i)))
            return
        node.submit(Join(node.name, node.pending_nonce() + 1, self._power_for(spec, i)))

    _fault_promote = _fault_join

    def _fault_remove(self, spec: Any) -> None:
        target = self.world.nodes[self._node(spec.node)].name
        if getattr(spec, "override", False):
            self.overrides.append((target, 0))
            return
        self._removing.add(target)
        self._send_removes()

    _fault_demote = _fault_remove

    def _fault_leave(self, spec: Any) -> None:
        node = self.world.nodes[self._node(spec.node)]
        node.submit(Leave(node.name, node.pending_nonce() + 1))

    def _honest_validators(self) -> list[Any]:
        """Validators that act on validator-set changes. Byzantine behaviours in the spec
        concern event votes, so byzantine validators approve joins and removals too (an
        operator's action, not the oracle's)."""
        return [n for n in self.world.nodes if n.online and n.is_validator]

    def _send_removes(self) -> None:
        for target in sorted(self._removing):
            for node in self._honest_validators():
                if node.name != target and (node.name, target) not in self._removed_sent:
                    self._removed_sent.add((node.name, target))
                    node.submit(Remove(node.name, node.pending_nonce() + 1, target))

    def on_block(self, committed: Committed) -> None:
        """Honest validators approve pending joins and vote pending removals they know of."""
        state = committed.state
        assert state is not None
        for rid in sorted(state.resolutions):
            resolution = state.resolutions[rid]
            if resolution.type == VALIDATOR_JOIN and resolution.body is not None:
                candidate = resolution.body.split(b"\x00")[0].decode()
                for node in self._honest_validators():
                    key = (node.name, rid)
                    if node.name != candidate and node.name not in resolution.voters \
                            and key not in self._approved:
                        self._approved.add(key)
                        node.submit(Approve(node.name, node.pending_nonce() + 1, candidate))
            elif resolution.type == VALIDATOR_REMOVE and resolution.body is not None:
                self._removing.add(resolution.body.decode())
        self._removing = {t for t in self._removing if state.power_of(t) > 0}
        self._send_removes()

    def take_overrides(self) -> tuple[tuple[str, int], ...]:
        taken = tuple(self.overrides)
        self.overrides.clear()
        return taken
