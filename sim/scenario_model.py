"""The values a scenario file describes, as frozen attrs classes, each section with its reader.

Every section class has ``from_table(reader)`` (reads every key with its default, then
``reader.finish()`` so a typo is an error) and ``to_table()`` (a TOML-able dict that reads back
equal). Durations are seconds (floats), thresholds are ``Fraction``s. How the sections are put
together into a ``Scenario`` (nodes, resolutions, sources, cross checks) is ``sim.scenario``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from node.behaviours import builtin_behaviours
from node.extensions.credit import CREDIT_DEFAULTS
from node.resolutions import DEFAULT_CONFIRMATION, DEFAULT_EXPIRATION, DEFAULT_REFUND
from sim.consensus.planner import DEFAULT_MAX_BLOCK_BYTES, DEFAULT_TIMEOUTS
from sim.errors import ScenarioError
from sim.limits import LimitsConfig
from sim.load_model import MIN_TX_BYTES
from sim.network_model import NetworkConfig
from sim.tables import INT64_MAX, TableReader
from sim.units import duration_text as duration_text
from sim.units import format_fraction
from sim.units import rate_text as rate_text

PROTOCOLS = ("kwil-0.7", "kwil-0.8")
BUG_COMPAT = ("placeholder-never-expires", "refund-first-expired", "rebroadcast-any-sender",
              "lost-vote-stays-broadcasted", "revote-restored-event", "resolve-error-halts",
              "pass-at-expiry-halts", "broadcast-error-panics")
STORAGE = ("memory", "file")
NODE_STARTS = ("validator", "non-validator", "offline")
BYZANTINE = builtin_behaviours()  # or "module:Class", a subclass of node.behaviours.Behaviour
INVARIANTS = ("resolution-once", "same-state", "threshold-respected", "expiry-exact",
              "no-lost-events", "listener-lifecycle", "nonce-order", "votes-sent", "refunds-exact",
              "one-vote-per-validator", "no-fake-resolution", "deposits-exact", "watcher-order",
              "pubsub-stats", "chain-stalled", "node-in-sync", "no-node-panic")
# Voting power is an int64 in CometBFT and kwil (INT64_MAX); seeds are 64-bit unsigned.
# CometBFT's MaxTotalVotingPower (types/validator_set.go): a validator set whose total is
# larger cannot be made, so a node with such a genesis does not start
MAX_TOTAL_VOTING_POWER = INT64_MAX // 8
SEED_MAX = 2**64 - 1
CREDIT_ACCOUNT = "credit_account"
VALIDATOR_JOIN = "validator_join"
VALIDATOR_REMOVE = "validator_remove"

_FUNCTION_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


# -- exact text forms (duration_text and rate_text live in sim.units) ----------------------
def is_function_spec(value: object) -> bool:
    """Whether ``value`` has the ``"module:function"`` shape (it is not imported here)."""
    return isinstance(value, str) and _FUNCTION_SPEC.match(value) is not None


def check_power(reader: TableReader, key: str, power: int) -> int:
    """``power`` if it fits CometBFT's int64 voting power, else an error naming ``key``."""
    if power > INT64_MAX:
        raise reader.error(key, f"an integer <= {INT64_MAX} (voting power is an int64)", power)
    return power


# -- sections ------------------------------------------------------------------------------
@attrs.frozen
class ConsensusConfig:
    """``[consensus]``: CometBFT's timeouts (seconds) and the block size limit."""

    timeout_propose: float = DEFAULT_TIMEOUTS.propose
    timeout_prevote: float = DEFAULT_TIMEOUTS.prevote
    timeout_precommit: float = DEFAULT_TIMEOUTS.precommit
    timeout_commit: float = DEFAULT_TIMEOUTS.commit
    round_increment: float = DEFAULT_TIMEOUTS.round_increment
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES
    vote_expiry: int = DEFAULT_EXPIRATION  # blocks: a placeholder resolution's lifetime (genesis)

    def slowest_round(self) -> float:
        """The longest a round can take on its timeouts alone (entry to the next round),
        counting the commit timeout before it: a bound for "the chain has stalled"."""
        return (self.timeout_commit + self.timeout_propose + self.timeout_prevote
                + self.timeout_precommit + 3 * self.round_increment)

    def height_time(self, latency: float) -> float | None:
        """How long a height takes at most when every message takes ``latency``: the commit
        timeout, each round whose proposal comes too late (its timeouts and a prevote's and a
        precommit's trip), then the round whose proposal comes in time (three trips). A
        proposal is in time once the propose timeout covers two trips (its proposer may enter
        the height a trip after the others); with timeouts that do not grow
        (``round_increment = 0``) one trip is enough to count it in time, and None when even
        that is not covered (no round would ever be)."""
        grows = self.round_increment > 0
        needed = 2 * latency if grows else latency
        elapsed = self.timeout_commit
        for r in range(10_000 if grows else 1):
            step = self.round_increment * r
            if self.timeout_propose + step >= needed:
                return elapsed + 3 * latency
            elapsed += self.timeout_propose + self.timeout_prevote + self.timeout_precommit + 3 * step + 2 * latency
        return None

    @classmethod
    def from_table(cls, reader: TableReader) -> ConsensusConfig:
        # A zero step timeout would let a round repeat within one virtual instant forever;
        # a zero commit timeout or round increment is legitimate (CometBFT allows both).
        d = cls()
        config = cls(
            timeout_propose=reader.duration("timeout_propose", duration_text(d.timeout_propose), positive=True),
            timeout_prevote=reader.duration("timeout_prevote", duration_text(d.timeout_prevote), positive=True),
            timeout_precommit=reader.duration("timeout_precommit", duration_text(d.timeout_precommit),
                                              positive=True),
            timeout_commit=reader.duration("timeout_commit", duration_text(d.timeout_commit)),
            round_increment=reader.duration("round_increment", duration_text(d.round_increment)),
            max_block_bytes=reader.integer("max_block_bytes", d.max_block_bytes, min=1),
            vote_expiry=reader.integer("vote_expiry", d.vote_expiry, min=1),
        )
        if config.max_block_bytes < MIN_TX_BYTES:
            raise reader.error("max_block_bytes", f"an integer >= {MIN_TX_BYTES} (the smallest signed tx; a "
                               "smaller block holds none, so no vote or tx is ever included)",
                               config.max_block_bytes)
        reader.finish()
        return config

    def to_table(self) -> dict[str, Any]:
        return {
            "timeout_propose": duration_text(self.timeout_propose),
            "timeout_prevote": duration_text(self.timeout_prevote),
            "timeout_precommit": duration_text(self.timeout_precommit),
            "timeout_commit": duration_text(self.timeout_commit),
            "round_increment": duration_text(self.round_increment),
            "max_block_bytes": self.max_block_bytes,
            "vote_expiry": self.vote_expiry,
        }


@attrs.frozen
class ValidatorsConfig:
    """``[validators]``: how many nodes (v0..v{count-1}) and what every one starts with.

    ``power`` is expanded to one entry per node, whether the file gave one integer or a list.
    """

    count: int = 4
    power: tuple[int, ...] = (1, 1, 1, 1)
    gas: bool = False
    storage: str = "memory"
    join_expiry: int = DEFAULT_EXPIRATION  # blocks
    balance: int = 0
    rebroadcast_after: int = 10  # blocks

    @classmethod
    def from_table(cls, reader: TableReader) -> ValidatorsConfig:
        count = reader.integer("count", 4, min=1)
        raw = reader.raw("power", 1)
        if isinstance(raw, list):
            if len(raw) != count:
                raise ScenarioError(reader.file, reader.key_path("power"),
                                    f"expected {count} integers (one per node, validators.count = "
                                    f"{count}), got {len(raw)}")
            for i, item in enumerate(raw):
                if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                    raise reader.error(f"power[{i}]", "an integer >= 1", item)
                check_power(reader, f"power[{i}]", item)
            power = tuple(raw)
        else:
            power = (check_power(reader, "power", reader.integer("power", 1, min=1)),) * count
        config = cls(
            count=count,
            power=power,
            gas=reader.boolean("gas", False),
            storage=reader.string("storage", "memory", choices=STORAGE),
            join_expiry=reader.integer("join_expiry", DEFAULT_EXPIRATION, min=1),
            balance=reader.integer("balance", 0, min=0),
            rebroadcast_after=reader.integer("rebroadcast_after", 10, min=1),
        )
        reader.finish()
        return config

    def to_table(self) -> dict[str, Any]:
        uniform = len(set(self.power)) == 1
        return {
            "count": self.count,
            "power": self.power[0] if uniform else list(self.power),
            "gas": self.gas,
            "storage": self.storage,
            "join_expiry": self.join_expiry,
            "balance": self.balance,
            "rebroadcast_after": self.rebroadcast_after,
        }


def _byzantine(reader: TableReader) -> str:
    """A built-in behaviour's name, or ``"module:Class"`` (imported when the world is built)."""
    value = reader.raw("byzantine")
    if value in BYZANTINE or is_function_spec(value):
        return str(value)
    expected = "one of " + ", ".join(f'"{b}"' for b in BYZANTINE) + ' or "module:Class"'
    raise reader.error("byzantine", expected, value)


@attrs.frozen
class NodeConfig:
    """One node as it starts: ``[validators]`` defaults with its ``[nodes.vN]`` overrides."""

    name: str
    power: int = 1
    start: str = "validator"
    byzantine: str | None = None
    extensions: dict[str, dict[str, str]] = attrs.field(factory=dict)

    @classmethod
    def from_table(cls, reader: TableReader, name: str, power: int,
                   app_extensions: Mapping[str, Mapping[str, str]]) -> NodeConfig:
        power = check_power(reader, "power", reader.integer("power", power, min=1))
        start = reader.string("start", "validator", choices=NODE_STARTS)
        byzantine = _byzantine(reader) if reader.has("byzantine") else None
        extensions = {ext: dict(cfg) for ext, cfg in app_extensions.items()}
        own = reader.table("extensions", {})
        names = own.keys()  # a TableReader is not iterable itself
        for ext in names:
            # A node's own keys win key by key; keys it does not name keep the app's value.
            extensions[ext] = {**extensions.get(ext, {}), **own.string_map(ext)}
        own.finish()
        reader.finish()
        return cls(name, power, start, byzantine, extensions)

    def to_table(self, power: int, app_extensions: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
        """Only what differs from the defaults (``power`` and ``app_extensions``)."""
        table: dict[str, Any] = {}
        if self.power != power:
            table["power"] = self.power
        if self.start != "validator":
            table["start"] = self.start
        if self.byzantine is not None:
            table["byzantine"] = self.byzantine
        extensions: dict[str, dict[str, str]] = {}
        for ext, cfg in self.extensions.items():
            base = app_extensions.get(ext, {})
            changed = {k: v for k, v in cfg.items() if base.get(k) != v}
            if changed or ext not in app_extensions:
                extensions[ext] = changed
        if extensions:
            table["extensions"] = extensions
        return table


@attrs.frozen
class ResolutionTypeConfig:
    """``[resolutions.<type>]``: kwil's ResolutionConfig; ``resolve`` is ``"module:function"``."""

    confirmation_threshold: Fraction = DEFAULT_CONFIRMATION
    refund_threshold: Fraction = DEFAULT_REFUND
    expiration_period: int = DEFAULT_EXPIRATION  # blocks
    resolve: str | None = None

    @classmethod
    def from_table(cls, reader: TableReader, base: ResolutionTypeConfig) -> ResolutionTypeConfig:
        """Read the keys given; those not given keep ``base``'s values."""
        confirmation = reader.fraction("confirmation_threshold", base.confirmation_threshold)
        if confirmation <= 0:
            raise reader.error("confirmation_threshold", 'a fraction > 0, like "2/3"',
                               reader.raw("confirmation_threshold"))
        refund = reader.fraction("refund_threshold", base.refund_threshold)
        expiration = reader.integer("expiration_period", base.expiration_period, min=1)
        resolve = base.resolve
        if reader.has("resolve"):
            resolve = reader.string("resolve")
            if not is_function_spec(resolve):
                raise reader.error("resolve", '"module:function"', resolve)
        reader.finish()
        return cls(confirmation, refund, expiration, resolve)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "confirmation_threshold": format_fraction(self.confirmation_threshold),
            "refund_threshold": format_fraction(self.refund_threshold),
            "expiration_period": self.expiration_period,
        }
        if self.resolve is not None:
            table["resolve"] = self.resolve
        return table


def builtin_resolutions(join_expiry: int) -> dict[str, ResolutionTypeConfig]:
    """The resolution types every kwil node has, before ``[resolutions]`` overrides (as kwil registers them)."""
    return {
        CREDIT_ACCOUNT: ResolutionTypeConfig(*CREDIT_DEFAULTS),
        VALIDATOR_JOIN: ResolutionTypeConfig(expiration_period=join_expiry),
        VALIDATOR_REMOVE: ResolutionTypeConfig(expiration_period=join_expiry),
    }


@attrs.frozen
class ChecksConfig:
    """``[checks]``: which invariants run (``"all"`` or names), the liveness bound, and how
    long the chain may go without a block (``stall_after``; None: worked out from the
    timeouts and the latency, ``sim.checks.progress_checks.stall_bound``)."""

    invariants: str | tuple[str, ...] = "all"
    liveness_within: float | None = None  # seconds after the last fault heals
    stall_after: float | None = None

    @classmethod
    def from_table(cls, reader: TableReader) -> ChecksConfig:
        raw = reader.raw("invariants", "all")
        invariants: str | tuple[str, ...] = "all"
        if raw != "all":
            if isinstance(raw, str):
                raise reader.error("invariants", '"all" or an array of invariant names', raw)
            names = reader.string_list("invariants")
            for i, name in enumerate(names):
                if name not in INVARIANTS:
                    expected = "one of " + ", ".join(f'"{n}"' for n in INVARIANTS)
                    raise reader.error(f"invariants[{i}]", expected, name)
            invariants = tuple(dict.fromkeys(names))
        within = None
        if reader.has("liveness"):
            liveness = reader.table("liveness")
            within = liveness.duration("within", positive=True)
            liveness.finish()
        stall_after = reader.duration("stall_after", positive=True) if reader.has("stall_after") else None
        reader.finish()
        return cls(invariants, within, stall_after)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "invariants": self.invariants if isinstance(self.invariants, str) else list(self.invariants)
        }
        if self.liveness_within is not None:
            table["liveness"] = {"within": duration_text(self.liveness_within)}
        if self.stall_after is not None:
            table["stall_after"] = duration_text(self.stall_after)
        return table


@attrs.frozen(kw_only=True)
class Scenario:
    """A whole world to run: everything ``nodesim run`` needs, validated and with defaults.

    ``nodes`` has one entry per node v0..v{count-1}; ``sources`` maps a kind (``"script"``,
    ``"evm"``, ...) to that source's config object; ``faults`` is sorted by time; ``file`` is
    where it came from (for error messages; not part of equality).
    """

    name: str
    duration: float
    seed: int = 0
    protocol: str = "kwil-0.7"
    bug_compat: tuple[str, ...] = ()
    network: NetworkConfig = NetworkConfig()
    consensus: ConsensusConfig = ConsensusConfig()
    validators: ValidatorsConfig = ValidatorsConfig()
    nodes: tuple[NodeConfig, ...]
    resolutions: dict[str, ResolutionTypeConfig]
    extensions: dict[str, dict[str, str]] = attrs.field(factory=dict)
    listeners: dict[str, str] = attrs.field(factory=dict)
    sources: dict[str, Any] = attrs.field(factory=dict)
    faults: tuple[Any, ...] = ()  # sim.faults.spec.FaultSpec
    checks: ChecksConfig = ChecksConfig()
    load: Any = None  # sim.load_model.LoadConfig: users' txs, or None
    limits: LimitsConfig = LimitsConfig()
    file: str = attrs.field(default="<dict>", eq=False)
