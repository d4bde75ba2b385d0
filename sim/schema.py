"""``nodesim schema``: a JSON Schema of scenario files, for editors' TOML language servers.

The schema is generated from the model: each section's keys and default values come from its
attrs class's own ``to_table()`` (what the loader writes and reads back: the round trip is
tested), choices from the model's constants (``PROTOCOLS``, ``FAULT_KINDS``, ...), and the
shapes a default does not show (latency variants, scripted deposits, per-kind fault keys) from
example instances of the same classes. A test validates every shipped scenario against it and
checks that every key the loader accepts is in it, so it cannot drift from the loader.
Durations, rates and fractions are strings with a pattern; every table rejects unknown keys,
as the loader does.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from typing import Any

from sim.scenario_model import SEED_MAX
from sim.tables import MAX_SIGMA

SIGMA = {"type": "number", "minimum": 0, "maximum": MAX_SIGMA}  # a lognormal's shape
DURATION = {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|min|h|d)\s*$",
            "description": 'a duration with a unit, like "250ms", "6s", "10m" or "64h"'}
RATE = {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*/\s*(s|min|h)\s*$",
        "description": 'a rate like "1/s", "2/min" or "3/h"'}
FRACTION = {"type": "string", "pattern": r"^\s*\d+\s*/\s*\d+\s*$", "description": 'a fraction like "2/3"'}
FUNCTION = {"type": "string", "pattern": r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$",
            "description": '"module:function" (imported from sys.path and the scenario\'s folder)'}
STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
NODE_NAMES = {"type": "array", "items": {"type": "string", "pattern": r"^v\d+$"}, "minItems": 1}


def _table(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _of(value: Any, key: str = "") -> dict[str, Any]:
    """The schema of a value as ``to_table()`` writes it (a default shows the type)."""
    if isinstance(value, bool):
        return {"type": "boolean", "default": value}
    if isinstance(value, int):
        return {"type": "integer", "default": value}
    if isinstance(value, float):
        return {"type": "number", "default": value}
    if isinstance(value, dict):
        return _table({k: _of(v, k) for k, v in value.items()})
    if isinstance(value, list):
        items = _of(value[0], key) if value else {}
        return {"type": "array", "items": {k: v for k, v in items.items() if k != "default"}}
    if isinstance(value, str):
        return _string(value)
    return {}


def _string(text: str) -> dict[str, Any]:
    from sim.units import parse_duration, parse_fraction, parse_rate

    for shape, parse in ((DURATION, parse_duration), (RATE, parse_rate), (FRACTION, parse_fraction)):
        try:
            parse(text)
        except ValueError:
            continue
        return {**shape, "default": text}
    return {"type": "string", "default": text}


def _merge(*tables: dict[str, Any]) -> dict[str, Any]:
    """One table schema holding every key of ``tables`` (the first one's default wins)."""
    merged: dict[str, Any] = {}
    for table in tables:
        for key, value in table.items():
            merged.setdefault(key, value)
    return merged


def _latency() -> dict[str, Any]:
    from sim.network_model import LATENCY_DISTS, LatencyModel

    examples = [LatencyModel("fixed", 0.05), LatencyModel("uniform", 0.0, 0.02, 0.12),
                LatencyModel("lognormal", 0.0, median=0.08, sigma=0.6)]
    keys = _merge(*(_of(m.to_table())["properties"] for m in examples))
    keys["dist"] = {"enum": list(LATENCY_DISTS), "default": "fixed"}
    keys["sigma"] = SIGMA
    return _table(keys)


def _sources() -> dict[str, Any]:
    from sim.sources.evm import EvmConfig
    from sim.sources.registry import load, source_kinds
    from sim.sources.script_config import ScriptConfig, ScriptEvent

    tables: dict[str, Any] = {}
    for kind, spec in source_kinds().items():
        cls = load(spec.config)
        example: Any = {
            "script": ScriptConfig(rate=1 / 60, type="note", data="d", events=(
                ScriptEvent(at=60.0, type="note", data="x", seen_by=("v0",), delay={"v0": 0.25}),)),
            "evm": EvmConfig(deposit_times=(60.0,)),
        }.get(kind) or cls()
        tables[kind] = _of(example.to_table())
    latency = _latency()
    script = tables["script"]["properties"]
    script["seen_by"] = {"oneOf": [{"const": "all"}, NODE_NAMES], "default": "all"}
    script["delay"] = latency
    event = script["events"]["items"]["properties"]
    event["seen_by"] = script["seen_by"]
    event["delay"] = {"type": "object", "additionalProperties": DURATION}
    tables["script"]["properties"]["events"]["items"]["required"] = ["at", "type", "data"]
    for kind in ("evm",):
        tables[kind]["properties"]["rpc_latency"] = latency
    if "pubsub" in tables and "latency" in tables["pubsub"]["properties"]:
        tables["pubsub"]["properties"]["latency"] = DURATION
    return _table(tables)


def _load() -> dict[str, Any]:
    from sim.load_model import MAX_ACCOUNTS, MIN_TX_BYTES, SIZE_DISTS

    size = {"type": "integer", "minimum": MIN_TX_BYTES}
    return _table({
        "rate": RATE,
        "accounts": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ACCOUNTS},
                               {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}],
                     "default": 10},
        "size": {"oneOf": [{**size, "default": 300},
                           _table({"dist": {"enum": list(SIZE_DISTS)}, "value": size, "low": size, "high": size,
                                   "median": size, "sigma": SIGMA})]},
        "fee": {"type": "integer", "minimum": 0, "default": 0},
    }, ("rate",))


def _faults() -> dict[str, Any]:
    from sim.faults.kinds import fault_kinds

    keys = {"at": DURATION, "kind": {"enum": list(fault_kinds())}, "node": {"type": "string"},
            "nodes": NODE_NAMES, "link": NODE_NAMES, "from": NODE_NAMES, "to": NODE_NAMES,
            "groups": {"type": "array", "items": NODE_NAMES, "minItems": 2},
            "duration": DURATION, "extra": DURATION, "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "offset": {"type": "string", "description": 'a signed duration like "2s" or "-2s"'},
            "override": {"type": "boolean"}, "power": {"type": "integer", "minimum": 1},
            "listener": {"type": "string"}, "depth": {"type": "integer", "minimum": 1},
            "count": {"type": "integer", "minimum": 1}}
    return {"type": "array", "items": _table(keys, ("at", "kind"))}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file."""
    from sim.limits import LimitsConfig
    from sim.load_model import MIN_TX_BYTES
    from sim.network_model import NetworkConfig
    from sim.scenario_model import (
        BUG_COMPAT,
        BYZANTINE,
        INVARIANTS,
        NODE_STARTS,
        PROTOCOLS,
        STORAGE,
        ChecksConfig,
        ConsensusConfig,
        ResolutionTypeConfig,
        ValidatorsConfig,
    )

    network = _of(NetworkConfig().to_table())
    network["properties"]["latency"] = _latency()
    network["properties"]["drop"] = {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.0}
    consensus = _of(ConsensusConfig().to_table())
    consensus["properties"]["max_block_bytes"]["minimum"] = MIN_TX_BYTES
    validators = _of(ValidatorsConfig().to_table())
    validators["properties"]["power"] = {"oneOf": [{"type": "integer", "minimum": 1},
                                                   {"type": "array", "items": {"type": "integer", "minimum": 1}}],
                                         "default": 1}
    validators["properties"]["storage"] = {"enum": list(STORAGE), "default": "memory"}
    resolution = _of(ResolutionTypeConfig(Fraction(2, 3), Fraction(1), 14400, "m:f").to_table())
    resolution["properties"]["resolve"] = FUNCTION
    checks = _of(ChecksConfig(liveness_within=900.0).to_table())
    checks["properties"]["invariants"] = {"oneOf": [{"const": "all"},
                                                    {"type": "array", "items": {"enum": list(INVARIANTS)}}],
                                          "default": "all"}
    node = _table({"power": {"type": "integer", "minimum": 1}, "start": {"enum": list(NODE_STARTS)},
                   "byzantine": {"enum": list(BYZANTINE)},
                   "extensions": {"type": "object", "additionalProperties": STRINGS}})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "nodesim scenario",
        "description": "A nodesim scenario file (TOML). Generated by `nodesim schema`.",
        **_table({
            "scenario": _table({
                "name": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$"},
                "duration": DURATION,
                "seed": {"type": "integer", "minimum": 0, "maximum": SEED_MAX, "default": 0},
                "protocol": {"enum": list(PROTOCOLS), "default": "kwil-0.7"},
                "bug_compat": {"type": "array", "items": {"enum": list(BUG_COMPAT)}, "default": []},
            }, ("name", "duration")),
            "network": network,
            "consensus": consensus,
            "validators": validators,
            "nodes": {"type": "object", "patternProperties": {r"^v\d+$": node}, "additionalProperties": False},
            "resolutions": {"type": "object", "additionalProperties": resolution},
            "app": _table({"extensions": {"type": "object", "additionalProperties": STRINGS},
                           "listeners": {"type": "object", "additionalProperties": FUNCTION}}),
            "sources": _sources(),
            "faults": _faults(),
            "checks": checks,
            "load": _load(),
            "limits": _of(LimitsConfig().to_table()),
        }, ("scenario",)),
    }


def write_schema(out: str | None) -> int:
    """Write the schema to ``out`` (a file) or stdout; 0."""
    text = json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return 0
    from pathlib import Path

    from sim.errors import NodesimError

    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NodesimError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    print(f"wrote {out}", file=sys.stderr)
    return 0
