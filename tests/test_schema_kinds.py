"""`nodesim schema` cannot drift from the loader; `nodesim kinds` lists what the loader takes."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings

from sim.faults.kinds import fault_kinds as fault_table
from sim.kinds import behaviours, fault_kinds, invariants, kinds_text, sources
from sim.scenario import parse_scenario, scenario_from_dict, scenario_to_toml
from sim.scenario_model import BYZANTINE, INVARIANTS
from sim.schema import scenario_schema
from sim.sources.registry import source_kinds
from tests.test_scenario import FULL, raw_scenarios

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = jsonschema.Draft202012Validator(scenario_schema())


def problems(data: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(data)]


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(scenario_schema())


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates(path: Path) -> None:
    assert problems(tomllib.loads(path.read_text())) == []


def test_every_key_of_a_full_and_a_fully_resolved_scenario_is_in_the_schema() -> None:
    assert problems(tomllib.loads(FULL)) == []
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        resolved = scenario_to_toml(parse_scenario(path.read_text(), allow_large=True))
        assert problems(tomllib.loads(resolved)) == [], path


@settings(max_examples=60, deadline=None)
@given(raw_scenarios())
def test_every_scenario_the_loader_accepts_validates(data: dict[str, Any]) -> None:
    """Whatever the loader accepts (drawn over every section and fault kind), the schema
    accepts too, and so does its fully resolved form: no key the loader reads is missing."""
    scenario = scenario_from_dict(data, allow_large=True)
    assert problems(data) == []
    assert problems(tomllib.loads(scenario_to_toml(scenario))) == []


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    base = tomllib.loads('[scenario]\nname = "q"\nduration = "1h"\n')
    assert problems(base) == []
    assert problems({**base, "netwrk": {}})
    assert problems({**base, "consensus": {"timeout_comit": "1s"}})
    assert problems({**base, "scenario": {**base["scenario"], "protocol": "kwil-0.9"}})
    assert problems({**base, "network": {"drop": 1.0}}) and not problems({**base, "network": {"drop": 0.99}})


def test_schema_command_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "nodesim.schema.json"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "schema", "--out", str(out)], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == scenario_schema()


SAMPLES: dict[str, Any] = {"node": "v1", "nodes": ["v1"], "link": ["v0", "v1"], "groups": [["v0"], ["v1"]],
                           "from": ["v0"], "to": ["v1"], "duration": "1m", "extra": "1s", "probability": 0.5,
                           "offset": "-1s", "override": True, "power": 2, "listener": "script", "depth": 1,
                           "count": 1}


def test_kinds_lists_every_fault_kind_with_the_keys_the_loader_takes() -> None:
    """Every listed key set loads (each `|` alternative on its own), so the list cannot drift."""
    listed = {kind.name: kind for kind in fault_kinds()}
    assert list(listed) == list(fault_table())
    for name, kind in listed.items():
        assert kind.line != "(no description)", name
        keys = [k.strip() for k in kind.keys.split(",") if k.strip()]
        first = [k.split("|")[0].strip().split(" + ") for k in keys]
        table = {"at": "1m", "kind": name, **{key: SAMPLES[key] for group in first for key in group}}
        data = {"scenario": {"name": "k", "duration": "1h"}, "faults": [table]}
        scenario_from_dict(data)


def test_kinds_lists_sources_behaviours_and_invariants() -> None:
    assert [s.name for s in sources()] == list(source_kinds())
    assert [b.name for b in behaviours()] == list(BYZANTINE)
    assert [i.name for i in invariants()] == [*INVARIANTS, "liveness"]
    assert all(item.line and item.line != "(no description)"
               for item in [*sources(), *behaviours(), *invariants()])
    text = kinds_text()
    for name in [*fault_table(), *source_kinds(), *BYZANTINE, *INVARIANTS]:
        assert f"  {name} " in text
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "kinds"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == text
