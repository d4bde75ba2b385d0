"""Scenario loading: defaults, the resolved round trip, overrides, and every error's exact text."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.faults.spec import FaultSpec
from sim.network_model import LatencyModel
from sim.scenario import (
    apply_override,
    load_scenario,
    parse_scenario,
    scenario_from_dict,
    scenario_to_toml,
)
from sim.scenario_model import (
    BUG_COMPAT,
    INVARIANTS,
    ResolutionTypeConfig,
    duration_text,
    rate_text,
)
from sim.sources.script_config import ScriptConfig, ScriptEvent
from sim.units import parse_duration, parse_rate

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BASE = '[scenario]\nname = "q"\nduration = "1h"\n'
EVM_WORLD = ('[app.extensions.eth_deposits]\ncontract_address = "0xabc"\nrpc_provider = "ws://evm"\n'
             '[sources.evm]\nstart_height = 10\n')

FULL = """
[scenario]
name = "quickstart"
seed = 7
duration = "2h"
protocol = "kwil-0.8"
bug_compat = ["refund-first-expired", "placeholder-never-expires"]

[network]
latency = { dist = "lognormal", median = "80ms", sigma = 0.6 }
drop = 0.01
duplicate = 0.02
block_sync_rate = 50

[consensus]
timeout_propose = "3s"
timeout_prevote = "1s"
timeout_precommit = "1s"
timeout_commit = "250ms"
round_increment = "0s"
max_block_bytes = 1000

[validators]
count = 5
power = [1, 2, 1, 1, 3]
gas = true
storage = "file"
join_expiry = 100
balance = 1000000
rebroadcast_after = 3

[nodes.v3]
power = 4
start = "non-validator"
extensions.eth_deposits = { required_confirmations = "3" }
extensions.only_here = { x = "1" }

[nodes.v4]
byzantine = "silent"

[resolutions.credit_account]
expiration_period = 700

[resolutions.note]
confirmation_threshold = "1/2"
resolve = "mymod.sub:resolve_note"

[app.extensions.eth_deposits]
contract_address = "0xabc"
rpc_provider = "ws://evm"
required_confirmations = "12"

[app.listeners]
mine = "mypkg.listeners:listen"

[sources.script]
rate = "1/min"
type = "note"
seen_by = ["v0", "v1", "v2"]
delay = { dist = "uniform", low = "0s", high = "2s" }
data = "gen"

[[sources.script.events]]
at = "1m"
type = "note"
data = "hello"
seen_by = ["v0", "v1"]
delay = { v0 = "250ms" }

[[sources.script.events]]
at = "30s"
type = "credit_account"
data = "acct"

[[faults]]
at = "30m"
kind = "demote"
node = "v3"

[[faults]]
at = "10m"
kind = "partition"
groups = [["v0", "v1"], ["v2", "v3", "v4"]]
duration = "5m"

[[faults]]
at = "10m"
kind = "clock_skew"
node = "v2"
offset = "-2s"

[[faults]]
at = "20m"
kind = "promote"
node = "v3"
override = true

[[faults]]
at = "21m"
kind = "partition"
from = ["v0"]
to = ["v1", "v2"]

[[faults]]
at = "22m"
kind = "delay"
link = ["v0", "v4"]
extra = "300ms"
duration = "1m"

[[faults]]
at = "23m"
kind = "drop"
probability = 0.5
duration = "1m"
nodes = ["v1"]

[[faults]]
at = "24m"
kind = "reorg_burst"
depth = 2

[[faults]]
at = "25m"
kind = "listener_error"
node = "v0"
listener = "script"

[[faults]]
at = "26m"
kind = "hub_outage"
duration = "1m"

[[faults]]
at = "27m"
kind = "rpc_outage"
node = "v1"
duration = "30s"

[[faults]]
at = "28m"
kind = "heal"

[checks]
invariants = ["same-state", "nonce-order"]
liveness = { within = "15m" }
"""


def error_of(text: str, overrides: dict[str, str] | None = None) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file="quick.toml", overrides=overrides or {})
    return str(info.value)


# -- valid files ---------------------------------------------------------------------------
def test_full_example_reads_every_section() -> None:
    s = parse_scenario(FULL, file="full.toml")
    assert (s.name, s.seed, s.duration, s.protocol) == ("quickstart", 7, 7200.0, "kwil-0.8")
    assert s.bug_compat == ("refund-first-expired", "placeholder-never-expires")
    assert s.network.latency == LatencyModel("lognormal", value=0.0, median=0.08, sigma=0.6)
    assert (s.network.drop, s.network.duplicate, s.network.block_sync_rate) == (0.01, 0.02, 50.0)
    assert (s.consensus.timeout_commit, s.consensus.round_increment) == (0.25, 0.0)
    assert s.validators.power == (1, 2, 1, 1, 3)
    assert [n.name for n in s.nodes] == ["v0", "v1", "v2", "v3", "v4"]
    assert [n.power for n in s.nodes] == [1, 2, 1, 4, 3]
    assert s.nodes[3].start == "non-validator" and s.nodes[4].byzantine == "silent"
    assert s.nodes[0].extensions == {"eth_deposits": {"contract_address": "0xabc",
                                                      "rpc_provider": "ws://evm",
                                                      "required_confirmations": "12"}}
    assert s.nodes[3].extensions["eth_deposits"]["required_confirmations"] == "3"
    assert s.nodes[3].extensions["eth_deposits"]["rpc_provider"] == "ws://evm"
    assert s.nodes[3].extensions["only_here"] == {"x": "1"}
    assert s.resolutions["credit_account"] == ResolutionTypeConfig(Fraction(2, 3), Fraction(1, 3), 700)
    assert s.resolutions["validator_join"].expiration_period == 100
    assert s.resolutions["note"] == ResolutionTypeConfig(Fraction(1, 2), Fraction(1), 14400,
                                                         "mymod.sub:resolve_note")
    assert s.listeners == {"mine": "mypkg.listeners:listen"}
    script = s.sources["script"]
    assert isinstance(script, ScriptConfig)
    assert script.rate == pytest.approx(1 / 60) and script.seen_by == ("v0", "v1", "v2")
    assert script.events[0] == ScriptEvent(at=60.0, type="note", data="hello",
                                           seen_by=("v0", "v1"), delay={"v0": 0.25})
    assert [f.at for f in s.faults] == sorted(f.at for f in s.faults)
    # stable sort: the partition and the clock skew at 10m keep their file order
    assert [f.kind for f in s.faults[:2]] == ["partition", "clock_skew"]
    promote = next(f for f in s.faults if f.kind == "promote")
    assert (promote.override, promote.power) == (True, 4)  # default: the node's own power
    assert s.checks.invariants == ("same-state", "nonce-order")
    assert s.checks.liveness_within == 900.0


def test_minimal_file_gets_every_default() -> None:
    s = parse_scenario(BASE)
    assert (s.seed, s.protocol, s.bug_compat, s.faults, s.sources) == (0, "kwil-0.7", (), (), {})
    assert s.network.latency == LatencyModel("fixed", 0.05)
    assert (s.consensus.timeout_propose, s.consensus.timeout_commit) == (3.0, 6.0)
    assert (s.consensus.round_increment, s.consensus.max_block_bytes) == (0.5, 6291456)
    v = s.validators
    assert (v.count, v.power, v.gas, v.storage) == (4, (1, 1, 1, 1), False, "memory")
    assert (v.join_expiry, v.balance, v.rebroadcast_after) == (14400, 0, 10)
    assert [(n.name, n.start, n.byzantine) for n in s.nodes] == [
        (f"v{i}", "validator", None) for i in range(4)]
    assert s.resolutions == {
        "credit_account": ResolutionTypeConfig(Fraction(2, 3), Fraction(1, 3), 600),
        "validator_join": ResolutionTypeConfig(Fraction(2, 3), Fraction(1), 14400),
        "validator_remove": ResolutionTypeConfig(Fraction(2, 3), Fraction(1), 14400),
    }
    assert (s.checks.invariants, s.checks.liveness_within) == ("all", None)


def test_full_example_round_trips() -> None:
    s = parse_scenario(FULL, file="full.toml")
    text = scenario_to_toml(s)
    assert parse_scenario(text) == s
    assert scenario_to_toml(parse_scenario(text)) == text
    assert "seed = 7" in text and "round_increment" in text  # defaults and seed are written


def test_every_scenario_file_round_trips() -> None:
    files = sorted(SCENARIOS.glob("*.toml"))
    for path in files:
        s = load_scenario(path)
        assert parse_scenario(scenario_to_toml(s)) == s, path
    assert all(load_scenario(p).file == str(p) for p in files)


def test_load_scenario_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "quick.toml"
    path.write_text(BASE + '[validators]\ncount = "four"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f'{path}: validators.count: expected an integer >= 1, got "four"'
    path.write_text(BASE)
    assert load_scenario(path, overrides={"scenario.seed": "9"}).seed == 9


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: cannot read the file (No such file or directory)"


def test_file_is_not_part_of_equality() -> None:
    assert parse_scenario(BASE, file="a.toml") == parse_scenario(BASE, file="b.toml")


def test_fault_to_table_is_json_shaped_and_reads_back() -> None:
    s = parse_scenario(FULL)
    skew = next(f for f in s.faults if f.kind == "clock_skew")
    assert skew.to_table() == {"at": "10m", "kind": "clock_skew", "node": "v2", "offset": "-2s"}
    one_way = next(f for f in s.faults if f.kind == "partition" and f.from_)
    assert one_way.to_table() == {"at": "21m", "kind": "partition", "from": ["v0"], "to": ["v1", "v2"]}
    assert isinstance(one_way, FaultSpec) and one_way.groups == () and one_way.duration is None


# -- overrides -----------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "read"), [
    ("validators.count", "7", lambda s: s.validators.count == 7 and len(s.nodes) == 7),
    ("network.drop", "0.1", lambda s: s.network.drop == 0.1),
    ("validators.gas", "true", lambda s: s.validators.gas is True),
    ("consensus.timeout_commit", "3s", lambda s: s.consensus.timeout_commit == 3.0),
    ("consensus.timeout_commit", '"2s"', lambda s: s.consensus.timeout_commit == 2.0),
    ("network.latency", '{ dist = "fixed", value = "1ms" }',
     lambda s: s.network.latency == LatencyModel("fixed", 0.001)),
    ("validators.power", "[1, 2, 3, 4]", lambda s: s.validators.power == (1, 2, 3, 4)),
    ("faults[0].at", "2m", lambda s: s.faults[0].at == 120.0),
    ("sources.script.rate", "2/min", lambda s: s.sources["script"].rate == pytest.approx(1 / 30)),
])
def test_override_sets_a_value(key: str, value: str, read: Any) -> None:
    text = BASE + ('[[faults]]\nat = "1m"\nkind = "heal"\n'
                   '[resolutions.note]\n[sources.script]\nrate = "1/min"\ntype = "note"\n')
    assert read(parse_scenario(text, overrides={key: value}))


def test_override_changes_nothing_on_error() -> None:
    data: dict[str, Any] = {"scenario": {"name": "q", "duration": "1h"}}
    with pytest.raises(ScenarioError) as info:
        apply_override(data, "app.extensions.x[0].y", "1", "quick.toml")
    assert str(info.value) == ("quick.toml: app.extensions.x[0]: expected an existing array "
                               "entry (to set app.extensions.x[0].y), got 0 entries")
    assert data == {"scenario": {"name": "q", "duration": "1h"}}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"consensus.timeout_comit": "3s"},
     "quick.toml: consensus.timeout_comit: unknown key (from override consensus.timeout_comit=3s)"),
    ({"validators.count": "four"},
     'quick.toml: validators.count: expected an integer >= 1, got "four" '
     "(from override validators.count=four)"),
    ({"network.drop": "true"},
     "quick.toml: network.drop: expected a number between 0.0 and 1.0, got true "
     "(from override network.drop=true)"),
    ({"sources.nope.x": "1"},
     'quick.toml: sources.nope: unknown key (known source kinds: "script", "evm", "watcher", '
     '"pubsub") (from override sources.nope.x=1)'),
    ({"scenario.name.x": "1"},
     'quick.toml: scenario.name: expected a table (to set scenario.name.x), got "q"'),
    ({"a..b": "1"},
     'quick.toml: override: expected a dotted key path like "consensus.timeout_commit", got "a..b"'),
    ({"": "1"},
     'quick.toml: override: expected a dotted key path like "consensus.timeout_commit", got ""'),
])
def test_bad_override_names_the_path(overrides: dict[str, str], message: str) -> None:
    assert error_of(BASE, overrides) == message


# -- errors, each with its exact one-line message ------------------------------------------
KINDS = ", ".join(f'"{k}"' for k in (
    "partition", "heal", "delay", "drop", "duplicate", "reorder", "crash", "restart", "clock_skew",
    "listener_error", "promote", "demote", "join", "leave", "remove", "evict_vote", "nonce_gap",
    "rpc_outage", "reorg_burst", "hub_outage"))
NO_NODE = "(validators.count = 4 names v0..v3)"
DURATION = 'a duration with a unit, like "250ms", "6s", "10m" or "64h"'
FRACTION = 'a fraction "num/den" between 0 and 1, like "2/3"'
NOTE = '[resolutions.note]\n[sources.script]\n[[sources.script.events]]\nat = "1m"\ntype = "note"\n'

ERRORS = [
    # [scenario]
    ("", "quick.toml: scenario: is required but missing"),
    ('[scenario]\nname = "q"\n', "quick.toml: scenario.duration: is required but missing"),
    ('[scenario]\nname = "q"\nduration = "0s"\n',
     'quick.toml: scenario.duration: expected a duration > 0, got "0s"'),
    ('[scenario]\nname = "q"\nduration = "-1h"\n',
     f'quick.toml: scenario.duration: expected {DURATION}, got "-1h"'),
    ('[scenario]\nname = "q"\nduration = 60\n',
     f"quick.toml: scenario.duration: expected {DURATION}, got 60"),
    ('[scenario]\nname = "q"\nduration = "1h"\nseed = -1\n',
     "quick.toml: scenario.seed: expected an integer >= 0, got -1"),
    ('[scenario]\nname = "a b"\nduration = "1h"\n',
     'quick.toml: scenario.name: expected a name of letters, digits, "_", "-" and ".", got "a b"'),
    (BASE + 'protocol = "kwil-0.9"\n',
     'quick.toml: scenario.protocol: expected one of "kwil-0.7", "kwil-0.8", got "kwil-0.9"'),
    (BASE + 'bug_compat = ["nope"]\n',
     "quick.toml: scenario.bug_compat[0]: expected one of "
     + ", ".join(f'"{b}"' for b in BUG_COMPAT) + ', got "nope"'),
    (BASE + "naem = 1\n", "quick.toml: scenario.naem: unknown key"),
    # top level
    (BASE + "[netwrk]\n", "quick.toml: netwrk: unknown key"),
    # [network]
    (BASE + "[network]\nlatncy = 1\n", "quick.toml: network.latncy: unknown key"),
    (BASE + '[network]\nlatency = { dist = "gauss" }\n',
     'quick.toml: network.latency.dist: expected one of "fixed", "uniform", "lognormal", got "gauss"'),
    (BASE + '[network]\nlatency = { dist = "fixed", median = "1s" }\n',
     "quick.toml: network.latency.median: unknown key"),
    (BASE + '[network]\nlatency = { dist = "uniform", low = "2s", high = "1s" }\n',
     'quick.toml: network.latency.high: expected a duration >= low (2s), got "1s"'),
    (BASE + '[network]\nlatency = { dist = "lognormal", median = "0s", sigma = 1 }\n',
     'quick.toml: network.latency.median: expected a duration > 0, got "0s"'),
    (BASE + '[network]\nlatency = { dist = "lognormal", median = "1s", sigma = -1 }\n',
     "quick.toml: network.latency.sigma: expected a number between 0.0 and 10.0, got -1"),
    # (a sigma of 1e9 overflowed the cost estimate: a traceback)
    (BASE + '[network]\nlatency = { dist = "lognormal", median = "1s", sigma = 1e9 }\n',
     "quick.toml: network.latency.sigma: expected a number between 0.0 and 10.0, got 1000000000.0"),
    (BASE + '[load]\nrate = "1/s"\nsize = { dist = "lognormal", median = 300, sigma = 1e9 }\n',
     "quick.toml: load.size.sigma: expected a number between 0.0 and 10.0, got 1000000000.0"),
    (BASE + '[network]\nlatency = "50ms"\n', 'quick.toml: network.latency: expected a table, got "50ms"'),
    (BASE + "[network]\ndrop = 1.5\n",
     "quick.toml: network.drop: expected a number between 0.0 and 1.0, got 1.5"),
    (BASE + '[network]\nduplicate = "1%"\n',
     'quick.toml: network.duplicate: expected a number between 0.0 and 1.0, got "1%"'),
    (BASE + "[network]\nblock_sync_rate = 0\n",
     "quick.toml: network.block_sync_rate: expected a number > 0, got 0"),
    # [consensus]
    (BASE + '[consensus]\ntimeout_commit = "-3s"\n',
     f'quick.toml: consensus.timeout_commit: expected {DURATION}, got "-3s"'),
    (BASE + '[consensus]\ntimeout_propose = "0s"\n',
     'quick.toml: consensus.timeout_propose: expected a duration > 0, got "0s"'),
    (BASE + "[consensus]\nmax_block_bytes = 0\n",
     "quick.toml: consensus.max_block_bytes: expected an integer >= 1, got 0"),
    (BASE + "[consensus]\nmax_block_bytes = 179\n",
     "quick.toml: consensus.max_block_bytes: expected an integer >= 180 (the smallest signed tx; a smaller "
     "block holds none, so no vote or tx is ever included), got 179"),
    (BASE + '[consensus]\ntimeout_comit = "1s"\n', "quick.toml: consensus.timeout_comit: unknown key"),
    # [validators]
    (BASE + '[validators]\ncount = "four"\n',
     'quick.toml: validators.count: expected an integer >= 1, got "four"'),
    (BASE + "[validators]\ncount = 0\n", "quick.toml: validators.count: expected an integer >= 1, got 0"),
    (BASE + "[validators]\ncount = 4\npower = [1, 2, 3]\n",
     "quick.toml: validators.power: expected 4 integers (one per node, validators.count = 4), got 3"),
    (BASE + "[validators]\npower = [1, 0, 1, 1]\n",
     "quick.toml: validators.power[1]: expected an integer >= 1, got 0"),
    (BASE + "[validators]\npower = 1.5\n", "quick.toml: validators.power: expected an integer >= 1, got 1.5"),
    (BASE + '[validators]\ngas = "yes"\n', 'quick.toml: validators.gas: expected true or false, got "yes"'),
    (BASE + '[validators]\nstorage = "disk"\n',
     'quick.toml: validators.storage: expected one of "memory", "file", got "disk"'),
    (BASE + "[validators]\njoin_expiry = 0\n",
     "quick.toml: validators.join_expiry: expected an integer >= 1, got 0"),
    (BASE + "[validators]\nbalance = -5\n",
     "quick.toml: validators.balance: expected an integer >= 0, got -5"),
    (BASE + "[validators]\nrebroadcast_after = 0\n",
     "quick.toml: validators.rebroadcast_after: expected an integer >= 1, got 0"),
    (BASE + "[validators]\ncont = 4\n", "quick.toml: validators.cont: unknown key"),
    # [nodes]
    (BASE + "[nodes.v9]\npower = 2\n", f"quick.toml: nodes.v9: no such node {NO_NODE}"),
    (BASE + "[validators]\ncount = 1\n[nodes.v1]\n",
     "quick.toml: nodes.v1: no such node (validators.count = 1 names v0)"),
    (BASE + "[nodes.v1]\npowr = 2\n", "quick.toml: nodes.v1.powr: unknown key"),
    (BASE + '[nodes.v1]\nstart = "asleep"\n',
     'quick.toml: nodes.v1.start: expected one of "validator", "non-validator", "offline", got "asleep"'),
    (BASE + '[nodes.v0]\nbyzantine = "evil"\n',
     'quick.toml: nodes.v0.byzantine: expected one of "silent", "fabricate", "withhold", "propose-invalid" '
     'or "module:Class", got "evil"'),
    (BASE + "[nodes.v0.extensions.e]\nn = 12\n",
     "quick.toml: nodes.v0.extensions.e.n: expected a string (extension config values are strings), got 12"),
    (BASE + '[validators]\ncount = 1\n[nodes.v0]\nstart = "offline"\n',
     'quick.toml: nodes: expected at least one node with start = "validator", got none'),
    # [resolutions]
    (BASE + '[resolutions.note]\nconfirmation_threshold = "3/2"\n',
     f'quick.toml: resolutions.note.confirmation_threshold: expected {FRACTION}, got "3/2"'),
    (BASE + '[resolutions.note]\nrefund_threshold = "abc"\n',
     f'quick.toml: resolutions.note.refund_threshold: expected {FRACTION}, got "abc"'),
    (BASE + "[resolutions.note]\nrefund_threshold = 0.5\n",
     f"quick.toml: resolutions.note.refund_threshold: expected {FRACTION}, got 0.5"),
    (BASE + '[resolutions.credit_account]\nconfirmation_threshold = "0/1"\n',
     'quick.toml: resolutions.credit_account.confirmation_threshold: expected a fraction > 0, '
     'like "2/3", got "0/1"'),
    (BASE + "[resolutions.note]\nexpiration_period = 0\n",
     "quick.toml: resolutions.note.expiration_period: expected an integer >= 1, got 0"),
    (BASE + '[resolutions.note]\nresolve = "not a spec"\n',
     'quick.toml: resolutions.note.resolve: expected "module:function", got "not a spec"'),
    (BASE + '[resolutions.note]\nthreshold = "1/2"\n', "quick.toml: resolutions.note.threshold: unknown key"),
    # [app]
    (BASE + '[app.listeners]\nx = "nocolon"\n',
     'quick.toml: app.listeners.x: expected "module:function", got "nocolon"'),
    (BASE + "[app]\nextra = 1\n", "quick.toml: app.extra: unknown key"),
    (BASE + "[app.extensions.e]\nn = 12\n",
     "quick.toml: app.extensions.e.n: expected a string (extension config values are strings), got 12"),
    # [sources]
    (BASE + "[sources.foo]\n",
     'quick.toml: sources.foo: unknown key (known source kinds: "script", "evm", "watcher", "pubsub")'),
    (BASE + '[sources.script]\nrate = "1/min"\n', "quick.toml: sources.script.type: is required but missing"),
    (BASE + '[sources.script]\nrate = "0/min"\ntype = "credit_account"\n',
     'quick.toml: sources.script.rate: expected a rate > 0, like "1/s", "2/min" or "3/h", got "0/min"'),
    (BASE + '[sources.script]\nrate = "often"\ntype = "credit_account"\n',
     'quick.toml: sources.script.rate: expected a rate like "1/s", "2/min" or "3/h", got "often"'),
    (BASE + '[sources.script]\nrate = "1/min"\ntype = "nope"\n',
     "quick.toml: sources.script.type: expected a resolution type declared under [resolutions] "
     'or built-in, got "nope"'),
    (BASE + '[sources.script]\nseen_by = "some"\n',
     'quick.toml: sources.script.seen_by: expected "all" or a non-empty array of node names, got "some"'),
    (BASE + '[sources.script]\nseen_by = ["v0", "v5"]\n',
     f'quick.toml: sources.script.seen_by[1]: no such node "v5" {NO_NODE}'),
    (BASE + '[sources.script]\ndelay = { dist = "uniform", low = "1s" }\n',
     "quick.toml: sources.script.delay.high: is required but missing"),
    (BASE + '[sources.script]\nsped = 1\n', "quick.toml: sources.script.sped: unknown key"),
    (BASE + NOTE + 'data = "x"\nseen_by = ["v0", "v7"]\n',
     f'quick.toml: sources.script.events[0].seen_by[1]: no such node "v7" {NO_NODE}'),
    (BASE + NOTE + 'data = "x"\ndelay = { v8 = "1s" }\n',
     f'quick.toml: sources.script.events[0].delay.v8: no such node "v8" {NO_NODE}'),
    (BASE + NOTE + 'data = "x"\ndelay = { v0 = "soon" }\n',
     f'quick.toml: sources.script.events[0].delay.v0: expected {DURATION}, got "soon"'),
    (BASE + NOTE, "quick.toml: sources.script.events[0].data: is required but missing"),
    (BASE + NOTE.replace('"note"\n', '"other"\n', 2) + 'data = "x"\n',
     "quick.toml: sources.script.events[0].type: expected a resolution type declared under "
     '[resolutions] or built-in, got "other"'),
    # [[faults]]
    (BASE + '[[faults]]\nat = "1m"\nkind = "crash"\nnode = "v9"\n',
     f'quick.toml: faults[0].node: no such node "v9" {NO_NODE}'),
    (BASE + '[[faults]]\nat = "1m"\nkind = "crash"\nnode = "v1"\nduration = "1m"\n',
     "quick.toml: faults[0].duration: unknown key"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "heal"\nnode = "v1"\n', "quick.toml: faults[0].node: unknown key"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "demote"\nnode = "v1"\npower = 2\n',
     "quick.toml: faults[0].power: unknown key"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "crash"\n', "quick.toml: faults[0].node: is required but missing"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "explode"\n',
     f'quick.toml: faults[0].kind: expected one of {KINDS}, got "explode"'),
    (BASE + '[[faults]]\nat = "2h"\nkind = "heal"\n',
     'quick.toml: faults[0].at: expected a duration <= scenario.duration (1h), got "2h"'),
    (BASE + '[[faults]]\nat = "-1m"\nkind = "heal"\n',
     f'quick.toml: faults[0].at: expected {DURATION}, got "-1m"'),
    (BASE + '[[faults]]\nat = "1m"\nkind = "heal"\n[[faults]]\nkind = "heal"\n',
     "quick.toml: faults[1].at: is required but missing"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "partition"\ngroups = [["v0"], ["v1"]]\nfrom = ["v0"]\n',
     "quick.toml: faults[0]: expected a partition with groups or with from + to, got both"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "partition"\n',
     "quick.toml: faults[0]: expected a partition with groups or with from + to, got neither"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "partition"\ngroups = [["v0", "v1"]]\n',
     "quick.toml: faults[0].groups: expected an array of at least two arrays of node names, got an array"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "partition"\ngroups = [["v0", "v1"], ["v1"]]\n',
     'quick.toml: faults[0].groups[1][0]: expected a node in only one group, got "v1"'),
    (BASE + '[[faults]]\nat = "1m"\nkind = "partition"\ngroups = [["v0", "v9"], ["v1"]]\n',
     f'quick.toml: faults[0].groups[0][1]: no such node "v9" {NO_NODE}'),
    (BASE + '[[faults]]\nat = "1m"\nkind = "partition"\nfrom = ["v0"]\nto = []\n',
     "quick.toml: faults[0].to: expected a non-empty array of node names, got an array"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "clock_skew"\nnode = "v1"\noffset = "minus 2s"\n',
     'quick.toml: faults[0].offset: expected a signed duration like "2s" or "-2s", got "minus 2s"'),
    (BASE + '[[faults]]\nat = "1m"\nkind = "delay"\nlink = ["v1", "v1"]\nextra = "1s"\n',
     "quick.toml: faults[0].link: expected an array of two different node names, got an array"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "delay"\nlink = ["v1", "v2"]\nnodes = ["v1"]\nextra = "1s"\n',
     "quick.toml: faults[0]: expected nodes or link, got both"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "delay"\nnodes = ["v1"]\n',
     "quick.toml: faults[0].extra: is required but missing"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "drop"\nprobability = 2\n',
     "quick.toml: faults[0].probability: expected a number between 0.0 and 1.0, got 2"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "reorder"\nprobability = 0.5\nduration = "0s"\n',
     'quick.toml: faults[0].duration: expected a duration > 0, got "0s"'),
    (BASE + '[[faults]]\nat = "1m"\nkind = "reorg_burst"\ndepth = 0\n',
     "quick.toml: faults[0].depth: expected an integer >= 1, got 0"),
    # deeper than the blocks mined by then (used to raise from the chain during the run)
    (BASE + EVM_WORLD + '[[faults]]\nat = "5s"\nkind = "reorg_burst"\ndepth = 1\n',
     "quick.toml: faults[0].depth: expected at most 0 (the blocks the EVM chain mines before 5s, one every "
     "12s), got 1"),
    (BASE + EVM_WORLD + '[[faults]]\nat = "30s"\nkind = "reorg_burst"\ndepth = 3\ncount = 2\n',
     "quick.toml: faults[0].depth: expected at most 2 (the blocks the EVM chain mines before 30s, one every "
     "12s), got 3"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "hub_outage"\n',
     "quick.toml: faults[0].duration: is required but missing"),
    (BASE + '[[faults]]\nat = "1m"\nkind = "promote"\nnode = "v1"\noverride = "yes"\n',
     'quick.toml: faults[0].override: expected true or false, got "yes"'),
    (BASE + "[faults]\nat = 1\n", "quick.toml: faults: expected an array of tables, got a table"),
    # [checks]
    (BASE + '[checks]\ninvariants = ["same-state", "nope"]\n',
     "quick.toml: checks.invariants[1]: expected one of " + ", ".join(f'"{i}"' for i in INVARIANTS)
     + ', got "nope"'),
    (BASE + '[checks]\ninvariants = "some"\n',
     'quick.toml: checks.invariants: expected "all" or an array of invariant names, got "some"'),
    (BASE + '[checks]\nliveness = { within = "0s" }\n',
     'quick.toml: checks.liveness.within: expected a duration > 0, got "0s"'),
    (BASE + '[checks]\nliveness = { witin = "1m" }\n',
     "quick.toml: checks.liveness.within: is required but missing"),
    (BASE + '[checks]\nliveness = "15m"\n', 'quick.toml: checks.liveness: expected a table, got "15m"'),
    (BASE + '[network]\ndrop = 1.0\n', "quick.toml: network.drop: expected a probability below 1 (1 delivers "
     "nothing, ever; a `drop` fault cuts links for a while), got 1.0"),
    # malformed TOML
    ('[scenario\nname = 1', "quick.toml: invalid TOML: Expected ']' at the end of a table declaration "
     "(at line 1, column 10)"),
    (BASE + "x = \n", "quick.toml: invalid TOML: Invalid value (at line 4, column 5)"),
    (BASE + "[network]\ndrop = 0\ndrop = 1\n",
     "quick.toml: invalid TOML: Cannot overwrite a value (at line 6, column 9)"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_error_message(text: str, message: str) -> None:
    assert error_of(text) == message


def test_scenario_from_dict_rejects_a_non_table() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict([1, 2], file="x")  # type: ignore[arg-type]
    assert str(info.value) == "x: expected a table, got an array"


# -- generated scenarios -------------------------------------------------------------------
DURATIONS = st.sampled_from(["0s", "250ms", "1s", "1.5s", "90s", "7m", "2h", "0.125s"])


@st.composite
def raw_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Valid raw scenario dicts covering every section and fault kind."""
    count = draw(st.integers(1, 5))
    node = st.sampled_from([f"v{i}" for i in range(count)])
    nodes = st.lists(node, min_size=1, max_size=3, unique=True)
    duration = draw(st.sampled_from(["10m", "2h", "1d"]))
    data: dict[str, Any] = {"scenario": {
        "name": draw(st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)),
        "seed": draw(st.integers(0, 2**40)), "duration": duration,
        "protocol": draw(st.sampled_from(["kwil-0.7", "kwil-0.8"])),
        "bug_compat": draw(st.lists(st.sampled_from(BUG_COMPAT), unique=True))}}
    latency = draw(st.sampled_from([
        {}, {"dist": "fixed", "value": "20ms"}, {"dist": "uniform", "low": "0s", "high": "3s"},
        {"dist": "lognormal", "median": "80ms", "sigma": 0.6}]))
    data["network"] = {"latency": latency, "drop": draw(st.floats(0, 1, exclude_max=True)),
                       "block_sync_rate": draw(st.floats(0.5, 1000))}
    data["consensus"] = {"timeout_commit": draw(DURATIONS),
                         "timeout_propose": draw(DURATIONS.filter(lambda d: d != "0s"))}
    power: Any = draw(st.one_of(st.integers(1, 9), st.lists(st.integers(1, 9), min_size=count,
                                                            max_size=count)))
    data["validators"] = {"count": count, "power": power, "gas": draw(st.booleans()),
                          "join_expiry": draw(st.integers(1, 50000))}
    extensions = {"e": {"a": "1", "b": "x"}} if draw(st.booleans()) else {}
    data["app"] = {"extensions": extensions, "listeners": {"l": "pkg.mod:fn"}}
    overridden = draw(st.lists(st.integers(1, count - 1), unique=True, max_size=2)) if count > 1 else []
    data["nodes"] = {f"v{i}": {"power": draw(st.integers(1, 3)),
                               "extensions": {"e": {"a": draw(st.sampled_from(["1", "2"]))}}}
                     for i in overridden}
    data["nodes"]["v0"] = {"byzantine": draw(st.sampled_from(["silent", "fabricate", "withhold"]))}
    powers = [data["nodes"].get(f"v{i}", {}).get("power", power if isinstance(power, int) else power[i])
              for i in range(count)]
    if data["consensus"]["timeout_commit"] == "0s" and any(3 * p > 2 * sum(powers) for p in powers):
        data["consensus"]["timeout_commit"] = "1s"  # a validator deciding alone needs one
    data["resolutions"] = {"note": {"confirmation_threshold": draw(st.sampled_from(["1/2", "2/3", "1/1"])),
                                    "refund_threshold": "0/1"}}
    events = [{"at": draw(DURATIONS), "type": "note", "data": f"d{i}", "seen_by": draw(nodes),
               "delay": {draw(node): draw(DURATIONS)}} for i in range(draw(st.integers(0, 3)))]
    data["sources"] = {"script": {"rate": draw(st.sampled_from(["1/s", "3/min", "7/h", "0.25/s"])),
                                  "type": "note", "events": events,
                                  "seen_by": draw(st.one_of(st.just("all"), nodes))}}
    kinds: list[dict[str, Any]] = [
        {"kind": "partition", "groups": [["v0"], [f"v{count - 1}"]]},
        {"kind": "partition", "from": draw(nodes), "to": draw(nodes), "duration": "30s"},
        {"kind": "heal"}, {"kind": "delay", "link": ["v0", f"v{count - 1}"], "extra": "1s"},
        {"kind": "drop", "probability": 0.5, "nodes": draw(nodes)}, {"kind": "reorder", "probability": 0.1},
        {"kind": "crash", "node": draw(node)}, {"kind": "clock_skew", "node": draw(node),
                                                "offset": draw(st.sampled_from(["-2s", "3s", "-250ms"]))},
        {"kind": "promote", "node": draw(node), "override": draw(st.booleans())},
        {"kind": "demote", "node": draw(node)}, {"kind": "listener_error", "node": draw(node)},
        {"kind": "rpc_outage", "node": draw(node), "duration": "1m"},
        {"kind": "reorg_burst", "depth": 3, "count": 2}, {"kind": "hub_outage", "duration": "5m"},
    ]
    faults = []
    for fault in draw(st.lists(st.sampled_from(kinds), max_size=6)):
        if fault["kind"] in ("partition", "delay") and count == 1:
            continue  # both name two different nodes
        faults.append({"at": draw(st.sampled_from(["0s", "1m", "90s", "5m"])), **fault})
    data["faults"] = faults
    data["checks"] = draw(st.sampled_from([{}, {"invariants": ["same-state"]},
                                           {"invariants": "all", "liveness": {"within": "15m"}}]))
    return data


@settings(max_examples=60, deadline=None)
@given(raw_scenarios())
def test_generated_scenarios_round_trip(data: dict[str, Any]) -> None:
    """Any valid scenario written by scenario_to_toml reads back equal, and writing it again
    gives the same text."""
    s = scenario_from_dict(data, file="gen")
    text = scenario_to_toml(s)
    again = parse_scenario(text)
    assert again == s
    assert scenario_to_toml(again) == text
    assert [f.at for f in s.faults] == sorted(f.at for f in s.faults)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_duration_text_reads_back_exactly(seconds: float) -> None:
    """Every non-negative duration is written as text that parses back to the same float."""
    assert parse_duration(duration_text(seconds)) == seconds


@given(st.floats(min_value=1e-9, max_value=1e6, allow_nan=False))
def test_rate_text_reads_back_exactly(per_second: float) -> None:
    """Every positive rate is written as text that parses back to the same float."""
    assert parse_rate(rate_text(per_second)) == per_second
