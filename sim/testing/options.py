"""What worlds property tests draw: the limits a test may narrow or lift.

The defaults draw the wide worlds: 1 to 10 validators of unequal power, both protocols,
``rebroadcast_after`` from 1 to 20 blocks, byzantine validators of every built-in kind (up
to ⌊(n−1)/3⌋ of them, holding less than a third of the power), and every fault kind the
catalog can draw, including one-way and unhealed partitions, clock skew, total loss
windows, repeated demotions, joins, leaves and removals. Narrow them for a focused
property (``WorldOptions(validators=(4, 4))``).

Fault kinds that act on an external source (``rpc_outage``, ``reorg_burst``, ``hub_outage``)
are drawn only in worlds that have that source (``fault_menu``): a fault on a missing source
is refused by the scenario checker. The fields from ``confirmations`` to ``max_reorg_count``
shape the EVM deposit chain of ``scenarios(evm=True)`` and the source faults drawn on it; those
from ``publish_rates`` to ``own_filters`` the pub/sub hub of ``scenarios(pubsub=True)``; those
from ``job_rates`` to ``own_watchers`` the watcher source and listeners of
``scenarios(watcher=True)`` (the watcher has no fault kind of its own: its worlds draw the node
faults, and a crashed listener resumes from its checkpoint); ``balances`` the accounts of
``scenarios(gas=True)``; those from ``load_rates`` to ``block_bytes`` the users and blocks of
``scenarios(load=True)``.
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from node.behaviours import builtin_behaviours
from sim.scenario_model import PROTOCOLS


def _drawable_faults() -> tuple[str, ...]:
    """The kinds any world can draw: those with a generator that need no external source."""
    from sim.faults.kinds import fault_kinds

    return tuple(name for name, kind in fault_kinds().items()
                 if kind.generate is not None and kind.source is None)


def _source_faults() -> tuple[str, ...]:
    """The kinds with a generator that act on an external source (drawable with it only)."""
    from sim.faults.kinds import fault_kinds

    return tuple(name for name, kind in fault_kinds().items()
                 if kind.generate is not None and kind.source is not None)


def _check_rates(name: str, rates: tuple[str, ...]) -> None:
    """Refuse a rate the source would refuse (``"6/min"`` and the like)."""
    from sim.units import parse_rate

    for rate in rates:
        try:
            parse_rate(rate)
        except ValueError as exc:
            raise ValueError(f"{name}: expected {exc}, got {rate!r}") from exc


@attrs.frozen(kw_only=True)
class WorldOptions:
    """Limits of generated worlds; every field has the wide default."""

    validators: tuple[int, int] = (1, 10)  # (low, high) number of nodes
    powers: tuple[int, int] = (1, 4)  # each node's power is drawn in this range
    protocols: tuple[str, ...] = PROTOCOLS
    bug_compat: tuple[str, ...] = ()
    timeout_commits: tuple[float, ...] = (1.0, 2.0, 3.0)
    rebroadcast_after: tuple[int, int] = (1, 20)  # blocks
    byzantine_kinds: tuple[str, ...] = attrs.field(factory=builtin_behaviours)
    max_byzantine: int | None = None  # None: at most floor((n - 1) / 3) nodes
    fault_kinds: tuple[str, ...] = attrs.field(factory=_drawable_faults)
    # drawn besides fault_kinds, in worlds that have their source
    source_fault_kinds: tuple[str, ...] = attrs.field(factory=_source_faults)
    max_faults: int = 8
    partition_lengths: tuple[float, ...] = (1.0, 5.0, 20.0, 60.0)  # seconds
    one_way_partitions: bool = True
    unhealed_partitions: bool = True
    skews: tuple[float, ...] = (-10.0, -1.0, -0.5, 0.5, 1.0, 5.0)  # seconds
    drop_probabilities: tuple[float, ...] = (0.1, 0.5, 1.0)
    windows: tuple[float, ...] = (1.0, 5.0, 20.0, 60.0)  # how long timed faults last
    extra_delays: tuple[float, ...] = (0.2, 1.0, 3.0, 10.0)
    max_demotions: int = 3
    expirations: tuple[int, int] | None = None  # blocks; None: rebroadcast_after + 8 to + 30
    resolve: str | None = None  # "module:function" resolving the worlds' events (None: record the body)
    # The EVM deposit chain of evm worlds (scenarios(evm=True)):
    confirmations: tuple[int, ...] = (1, 2, 6, 12)  # eth_deposits required_confirmations
    block_times: tuple[float, ...] = (2.0, 5.0, 12.0)  # seconds
    deposit_rates: tuple[str, ...] = ("2/min", "10/min", "30/min")
    reorg_probabilities: tuple[float, ...] = (0.0, 0.05, 0.2)  # the chance of a random reorg at each block
    reorg_depths: tuple[int, ...] = (1, 2, 3, 4)  # the chain's reorg.max_depth
    burst_depths: tuple[int, ...] = (1, 2, 3, 4)  # reorg_burst depths (up to the confirmations)
    max_reorg_count: int = 3  # reorgs in one reorg_burst
    # The pub/sub hub of pubsub worlds (scenarios(pubsub=True)); payloads are {seq, value},
    # value uniform in 0 .. 999999 (sim.sources.pubsub.source):
    publish_rates: tuple[str, ...] = ("2/min", "6/min", "20/min")  # [sources.pubsub] rate
    publishers: tuple[int, int] = (1, 3)  # (low, high) publishers
    hub_latencies: tuple[float, ...] = (0.01, 0.05, 0.5)  # seconds, one way between hub and listener
    # every listener's subscription filter (None: none); a filter drops the events it yields
    # exactly false on, for every subscriber using it
    hub_filters: tuple[str | None, ...] = (None, "value > 500000", "seq > 2", "value < 200000 | value > 800000")
    # at most this many nodes subscribe with a filter of their own (one of hub_filters, None
    # being the empty filter), so they see another subset of the events: a misconfigured node
    own_filters: int = 2
    # The watcher source (an orchestrator's job-event log) and every validator's watcher_events
    # listener of watcher worlds (scenarios(watcher=True)):
    job_rates: tuple[str, ...] = ("2/min", "6/min", "20/min")  # [sources.watcher] rate
    job_object_types: tuple[str, ...] = ("Job", "Execution")  # the source writes a non-empty subset
    # gc_age_threshold: "0s" turns GC off, "24h" keeps every event of a world; the short ones
    # delete what every checkpoint has passed while the world runs
    gc_ages: tuple[str, ...] = ("0s", "20s", "1m", "24h")
    gc_cadences: tuple[str, ...] = ("10s", "1m")
    long_polling_timeouts: tuple[str, ...] = ("2s", "10s")  # how long a read waits for an event
    # the listener's filters are subsets of these (empty: everything)
    watch_operations: tuple[str, ...] = ("create", "update", "delete")
    batch_sizes: tuple[int | None, ...] = (None, 1, 5)  # events per read (None: the listener's default)
    # at most this many nodes run a listener table of their own (other filters, another batch
    # size), so they broadcast another subset of the events: a misconfigured node
    own_watchers: int = 2
    # Gas worlds (scenarios(gas=True)): every account's starting balance. kwil charges 16,000
    # a vote id, 1,000 a body byte, and 10**13 a join, approve or leave.
    balances: tuple[int, ...] = (10**15, 10**18)
    # Users of load worlds (scenarios(load=True)): their [load] rate, accounts (a node's own
    # account among them at times: its user txs then share nonces with its votes), tx sizes
    # (bytes) and fees (with gas on), and the blocks' max_block_bytes: small blocks crowd
    # votes out, so liveness worlds keep the default (6 MiB)
    load_rates: tuple[str, ...] = ("1/s", "5/s", "20/s")
    load_accounts: tuple[int, int] = (1, 10)
    load_sizes: tuple[int, ...] = (2 * 10**2, 3 * 10**2, 2 * 10**3)
    load_fees: tuple[int, ...] = (0, 10**3)
    block_bytes: tuple[int, ...] = (4 * 10**3, 4 * 10**4, 6 * 2**20)

    def __attrs_post_init__(self) -> None:
        low, high = self.validators
        if not 1 <= low <= high:
            raise ValueError(f"validators: expected (low, high) with 1 <= low <= high, got {self.validators!r}")
        if not self.timeout_commits or any(not t > 0 for t in self.timeout_commits):
            # (a one-validator world with none decides every height at one instant)
            raise ValueError(f"timeout_commits: expected at least one value, each > 0 seconds, "
                             f"got {self.timeout_commits!r}")
        if not 1 <= self.rebroadcast_after[0] <= self.rebroadcast_after[1]:
            raise ValueError(f"rebroadcast_after: expected (low, high) with 1 <= low <= high, "
                             f"got {self.rebroadcast_after!r}")
        for kind in self.byzantine_kinds:
            if kind not in builtin_behaviours():
                raise ValueError(f"byzantine_kinds: expected kinds among {', '.join(builtin_behaviours())}, "
                                 f"got {kind!r}")
        drawable = (*_drawable_faults(), *_source_faults())
        for kind in self.fault_kinds:
            if kind not in drawable:
                raise ValueError(f"fault_kinds: expected kinds among {', '.join(drawable)}, got {kind!r}")
        for kind in self.source_fault_kinds:
            if kind not in _source_faults():
                raise ValueError(f"source_fault_kinds: expected kinds among {', '.join(_source_faults())}, "
                                 f"got {kind!r}")
        for name in ("confirmations", "reorg_depths", "burst_depths"):
            values = getattr(self, name)
            # burst_depths may be empty (no reorg_burst can be drawn); the others are drawn from
            if (not values and name != "burst_depths") or any(v < 1 for v in values):
                raise ValueError(f"{name}: expected integers >= 1, got {values!r}")
        if self.max_reorg_count < 1:
            raise ValueError(f"max_reorg_count: expected an integer >= 1, got {self.max_reorg_count!r}")
        self._check_hub()
        self._check_watcher()
        self._check_load()

    def _check_hub(self) -> None:
        """Refuse pub/sub fields the hub would refuse mid-run (a bad filter shuts a node down)."""
        from sim.sources.pubsub.errors import FilterSyntaxError
        from sim.sources.pubsub.filter import parse_filter

        if not self.publish_rates or not self.hub_latencies or not self.hub_filters:
            raise ValueError("publish_rates, hub_latencies, hub_filters: expected at least one value each")
        _check_rates("publish_rates", self.publish_rates)
        if not 1 <= self.publishers[0] <= self.publishers[1]:
            raise ValueError(f"publishers: expected (low, high) with 1 <= low <= high, got {self.publishers!r}")
        if any(latency < 0 for latency in self.hub_latencies):
            raise ValueError(f"hub_latencies: expected seconds >= 0, got {self.hub_latencies!r}")
        for text in self.hub_filters:
            if text is not None:
                try:
                    parse_filter(text)
                except FilterSyntaxError as exc:  # it names the position
                    raise ValueError(f"hub_filters: {text!r} is not a filter the hub takes: {exc}") from exc
        if self.own_filters < 0:
            raise ValueError(f"own_filters: expected an integer >= 0, got {self.own_filters!r}")

    def _check_watcher(self) -> None:
        """Refuse watcher fields its source or listener would refuse (a bad listener table
        shuts a node down mid-run)."""
        from sim.sources.watcher.types import Operation
        from sim.units import parse_duration

        if not self.job_rates or not self.gc_ages or not self.gc_cadences or not self.long_polling_timeouts:
            raise ValueError("job_rates, gc_ages, gc_cadences, long_polling_timeouts: "
                             "expected at least one value each")
        _check_rates("job_rates", self.job_rates)
        types = self.job_object_types
        if not types or any(not t or "," in t or t != t.strip() for t in types) or len(set(types)) != len(types):
            raise ValueError(f"job_object_types: expected distinct names without commas, got {types!r}")
        # gc_age_threshold may be 0 (no GC); the source refuses a cadence or a timeout of 0
        for name, values, zero in (("gc_ages", self.gc_ages, True), ("gc_cadences", self.gc_cadences, False),
                                   ("long_polling_timeouts", self.long_polling_timeouts, False)):
            for text in values:
                try:
                    seconds = parse_duration(text)
                except ValueError as exc:
                    raise ValueError(f"{name}: expected {exc}, got {text!r}") from exc
                if seconds == 0 and not zero:
                    raise ValueError(f"{name}: expected durations > 0, got {text!r}")
        for operation in self.watch_operations:
            if operation.upper() not in {op.value for op in Operation}:
                raise ValueError(f"watch_operations: expected create, update or delete, got {operation!r}")
        if not self.batch_sizes or any(size is not None and size < 1 for size in self.batch_sizes):
            raise ValueError(f"batch_sizes: expected integers >= 1 or None, got {self.batch_sizes!r}")
        if self.own_watchers < 0:
            raise ValueError(f"own_watchers: expected an integer >= 0, got {self.own_watchers!r}")

    def _check_load(self) -> None:
        """Refuse gas and load fields the scenario reader would refuse."""
        from sim.load_model import MIN_TX_BYTES

        if not self.balances or any(b < 0 for b in self.balances):
            raise ValueError(f"balances: expected integers >= 0, got {self.balances!r}")
        if not self.load_rates:
            raise ValueError("load_rates: expected at least one value")
        _check_rates("load_rates", self.load_rates)
        if not 1 <= self.load_accounts[0] <= self.load_accounts[1]:
            raise ValueError(f"load_accounts: expected (low, high) with 1 <= low <= high, got {self.load_accounts!r}")
        for name, values, least in (("load_sizes", self.load_sizes, MIN_TX_BYTES), ("load_fees", self.load_fees, 0),
                                    ("block_bytes", self.block_bytes, MIN_TX_BYTES)):
            if not values or any(v < least for v in values):
                raise ValueError(f"{name}: expected integers >= {least}, got {values!r}")

    def fault_menu(self, sources: Collection[str] = ()) -> tuple[str, ...]:
        """The fault kinds a world with these ``[sources]`` may draw: ``fault_kinds``, then
        ``source_fault_kinds``, each only if the source it acts on is in the world. (A world
        without such sources gets exactly ``fault_kinds``, so its draws are as before.)"""
        from sim.faults.kinds import fault_kind

        menu: list[str] = []
        for kind in (*self.fault_kinds, *self.source_fault_kinds):
            source = fault_kind(kind).source
            if kind not in menu and (source is None or source in sources):
                menu.append(kind)
        return tuple(menu)

    def byzantine_limit(self, nodes: int) -> int:
        """How many byzantine nodes a world of ``nodes`` nodes may have."""
        third = (nodes - 1) // 3
        return third if self.max_byzantine is None else min(self.max_byzantine, nodes)


DEFAULT_OPTIONS = WorldOptions()
"""The wide worlds every strategy draws unless told otherwise."""

NARROW = WorldOptions(validators=(3, 7), rebroadcast_after=(12, 20), max_byzantine=1,
                      one_way_partitions=False, unhealed_partitions=False, skews=(-2.0, -0.5, 0.5, 2.0),
                      drop_probabilities=(0.1, 0.3, 0.6), windows=(5.0, 20.0, 60.0),
                      extra_delays=(0.2, 1.0, 3.0), max_demotions=1, timeout_commits=(1.0, 2.0))
"""The worlds the first property tests drew, before the wide defaults."""
