"""Loading scenario files: TOML in, a validated ``Scenario`` out, and back to TOML.

Every way in (a file, a string, a dict, with ``--param`` style overrides) ends in
``scenario_from_dict``, which reads each section through a ``TableReader`` and then checks
what one section says about another. Only ``ScenarioError`` escapes, naming the file, the key
path, what was expected and what was found. ``scenario_to_toml`` writes the fully resolved
form (every default, the seed) that reads back equal.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from sim.errors import ScenarioError
from sim.estimate import estimate, refuse_over_limits
from sim.faults.kinds import read_fault
from sim.faults.readers import ReadContext, node_range_text
from sim.limits import LimitsConfig
from sim.load_model import LoadConfig
from sim.network_model import NetworkConfig
from sim.scenario_checks import check_scenario
from sim.scenario_model import (
    BUG_COMPAT,
    PROTOCOLS,
    SEED_MAX,
    ChecksConfig,
    ConsensusConfig,
    NodeConfig,
    ResolutionTypeConfig,
    Scenario,
    ValidatorsConfig,
    builtin_resolutions,
    duration_text,
    is_function_spec,
)
from sim.sources.registry import load, source_kind, source_kinds
from sim.tables import TableReader, describe

__all__ = ["Scenario", "apply_override", "load_scenario", "parse_scenario", "scenario_from_dict",
           "scenario_to_toml"]

TOP_LEVEL = ("scenario", "network", "consensus", "validators", "nodes", "resolutions", "app",
             "sources", "faults", "checks", "load", "limits")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # ASCII only: the name becomes a folder name
_NAME_MAX = 100
_KEY_SEGMENT = re.compile(r"^([\w-]+)(?:\[(\d+)\])?$")
_HEADER = "# nodesim scenario, fully resolved: every default is written and the seed included.\n"
_NO_OVERRIDES: Mapping[str, str] = {}


# -- ways in -------------------------------------------------------------------------------
def load_scenario(path: str | Path, *, overrides: Mapping[str, str] = _NO_OVERRIDES,
                  allow_large: bool = False) -> Scenario:
    """Read and validate the scenario file at ``path`` (``overrides``: see ``apply_override``;
    ``allow_large``: lift the ``[limits]``, see ``sim.limits``)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(file, "", f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScenarioError(file, "", "expected UTF-8 text, got undecodable bytes") from None
    return parse_scenario(text, file=file, overrides=overrides, allow_large=allow_large)


def parse_scenario(text: str, *, file: str = "<string>",
                   overrides: Mapping[str, str] = _NO_OVERRIDES, allow_large: bool = False) -> Scenario:
    """Validate scenario TOML ``text``; ``file`` is what error messages call it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(file, "", f"invalid TOML: {exc}") from None
    for key, value in overrides.items():
        apply_override(data, key, value, file)
    try:
        return scenario_from_dict(data, file=file, allow_large=allow_large)
    except ScenarioError as exc:
        raise _blame_override(exc, overrides) from None


def apply_override(data: dict[str, Any], key: str, value: str, file: str) -> None:
    """Set dotted ``key`` (``"consensus.timeout_commit"``, ``"faults[0].at"``) in raw ``data``.

    ``value`` is read as a TOML value (``7``, ``0.1``, ``true``, ``"3s"``, ``[1, 2]``); text
    that is not one (``3s``) is taken as a string. Missing tables on the way are created, so an
    unknown key is reported by validation, naming the path. On an error ``data`` is unchanged.
    """
    work = copy.deepcopy(data)  # so a failure half-way leaves no tables behind
    _set_path(work, key, value, file)
    data.clear()
    data.update(work)


def _set_path(data: dict[str, Any], key: str, value: str, file: str) -> None:
    segments = [_KEY_SEGMENT.match(part) for part in key.split(".")]
    if not key or any(match is None for match in segments):
        raise ScenarioError(file, "", f'override: expected a dotted key path like '
                            f'"consensus.timeout_commit", got {describe(key)}')
    parsed = _override_value(value)
    node: Any = data
    walked = ""  # the path of ``node``
    for i, match in enumerate(segments):
        assert match is not None
        if not isinstance(node, dict):
            raise ScenarioError(file, walked, f"expected a table (to set {key}), got {describe(node)}")
        name, index = match.group(1), match.group(2)
        last = i == len(segments) - 1
        walked = f"{walked}.{name}" if walked else name
        if index is None:
            if last:
                node[name] = parsed
            else:
                node = node.setdefault(name, {})
            continue
        items = node.get(name)
        if not isinstance(items, list) or int(index) >= len(items):
            count = len(items) if isinstance(items, list) else 0
            raise ScenarioError(file, f"{walked}[{index}]", f"expected an existing array entry "
                                f"(to set {key}), got {count} entries")
        walked = f"{walked}[{index}]"
        if last:
            items[int(index)] = parsed
        else:
            node = items[int(index)]


def _override_value(text: str) -> Any:
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


def _blame_override(exc: ScenarioError, overrides: Mapping[str, str]) -> ScenarioError:
    """Say which override an error came from, when its key path is the override's."""
    for key, value in overrides.items():
        if exc.path and (exc.path == key or exc.path.startswith((key + ".", key + "["))
                         or key.startswith(exc.path + ".")):
            return ScenarioError(exc.file, exc.path, f"{exc.message} (from override {key}={value})")
    return exc


# -- validation ----------------------------------------------------------------------------
def scenario_from_dict(data: dict[str, Any], *, file: str = "<dict>", allow_large: bool = False) -> Scenario:
    """Validate raw TOML data (as ``tomllib`` gives it) into a ``Scenario``.

    Unless ``allow_large``, a scenario over its ``[limits]`` is refused (``sim.limits``).
    """
    root = TableReader(data, "", file)
    present = root.keys()  # (a TableReader, not a dict)
    for key in present:
        if key not in TOP_LEVEL:
            raise ScenarioError(file, key, "unknown key")
    head = root.table("scenario")
    name = head.string("name")
    if not _NAME.match(name):
        raise head.error("name", 'a name of letters, digits, "_", "-" and "."', name)
    if name.startswith(".") or len(name) > _NAME_MAX:
        raise head.error("name", f'a name that does not start with "." and has at most {_NAME_MAX} '
                         "characters", name)
    seed = head.integer("seed", 0, min=0)
    if seed > SEED_MAX:
        raise head.error("seed", f"an integer <= {SEED_MAX} (seeds are 64-bit)", seed)
    duration = head.duration("duration", positive=True)
    protocol = head.string("protocol", "kwil-0.7", choices=PROTOCOLS)
    bug_compat = _bug_compat(head)
    head.finish()
    network = NetworkConfig.from_table(root.table("network", {}))
    consensus = ConsensusConfig.from_table(root.table("consensus", {}))
    limits = LimitsConfig.from_table(root.table("limits", {}))
    validators_table = root.table("validators", {})
    if not allow_large:
        limits.check_count(validators_table)  # before anything is built per node
    validators = ValidatorsConfig.from_table(validators_table)
    app = root.table("app", {})
    extensions = _extensions(app.table("extensions", {}))
    listeners = _listeners(app.table("listeners", {}))
    app.finish()
    nodes = _nodes(root.table("nodes", {}), validators, extensions)
    resolutions = _resolutions(root.table("resolutions", {}), validators.join_expiry)
    sources = _sources(root.table("sources", {}))
    ctx = ReadContext({node.name: node.power for node in nodes}, duration)
    faults = [read_fault(reader, ctx) for reader in root.tables("faults", [])]
    checks = ChecksConfig.from_table(root.table("checks", {}))
    load = LoadConfig.from_table(root.table("load")) if root.has("load") else None
    root.finish()
    scenario = Scenario(
        name=name, seed=seed, duration=duration, protocol=protocol, bug_compat=bug_compat,
        network=network, consensus=consensus, validators=validators, nodes=nodes,
        resolutions=resolutions, extensions=extensions, listeners=listeners, sources=sources,
        faults=tuple(sorted(faults, key=lambda fault: fault.at)),  # sorted() is stable
        checks=checks, load=load, limits=limits, file=file,
    )
    check_scenario(scenario, faults)
    if not allow_large:
        refuse_over_limits(limits, file, estimate(scenario))
    return scenario


def _bug_compat(head: TableReader) -> tuple[str, ...]:
    names = head.string_list("bug_compat", [])
    for i, name in enumerate(names):
        if name not in BUG_COMPAT:
            raise head.error(f"bug_compat[{i}]", _one_of(BUG_COMPAT), name)
    return tuple(dict.fromkeys(names))  # a switch named twice is still one switch


def _one_of(choices: tuple[str, ...] | list[str]) -> str:
    return "one of " + ", ".join(describe(choice) for choice in choices)


def _extensions(reader: TableReader) -> dict[str, dict[str, str]]:
    present = reader.keys()  # (a TableReader, not a dict)
    extensions = {name: reader.string_map(name) for name in present}
    reader.finish()
    return extensions


def _listeners(reader: TableReader) -> dict[str, str]:
    listeners: dict[str, str] = {}
    present = reader.keys()  # (a TableReader, not a dict)
    for name in present:
        spec = reader.string(name)
        if not is_function_spec(spec):
            raise reader.error(name, '"module:function"', spec)
        listeners[name] = spec
    reader.finish()
    return listeners


def _nodes(reader: TableReader, validators: ValidatorsConfig,
           extensions: dict[str, dict[str, str]]) -> tuple[NodeConfig, ...]:
    names = [f"v{i}" for i in range(validators.count)]
    present = reader.keys()  # (a TableReader, not a dict)
    for key in present:
        if key not in names:
            raise ScenarioError(reader.file, reader.key_path(key),
                                f"no such node {node_range_text(validators.count)}")
    nodes = tuple(NodeConfig.from_table(reader.table(name, {}), name, validators.power[i], extensions)
                  for i, name in enumerate(names))
    reader.finish()
    if not any(node.start == "validator" for node in nodes):
        raise ScenarioError(reader.file, "nodes",
                            'expected at least one node with start = "validator", got none')
    return nodes


def _resolutions(reader: TableReader, join_expiry: int) -> dict[str, ResolutionTypeConfig]:
    resolutions = builtin_resolutions(join_expiry)
    present = reader.keys()  # (a TableReader, not a dict)
    for name in present:
        base = resolutions.get(name, ResolutionTypeConfig())
        resolutions[name] = ResolutionTypeConfig.from_table(reader.table(name), base)
    reader.finish()
    return resolutions


def _sources(reader: TableReader) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    present = reader.keys()  # (a TableReader, not a dict)
    kinds = source_kinds()
    for kind in present:
        if kind not in kinds:
            known = ", ".join(describe(k) for k in kinds)
            raise ScenarioError(reader.file, reader.key_path(kind),
                                f"unknown key (known source kinds: {known})")
        sources[kind] = _source_class(reader, kind).from_table(reader.table(kind))
    reader.finish()
    return sources


def _source_class(reader: TableReader, kind: str) -> Any:
    """The kind's config class (``sim.sources.registry``), imported only when a scenario uses
    it, so a source's dependencies never affect scenarios that do not name it."""
    spec = source_kind(kind).config
    try:
        return load(spec)
    except (ImportError, AttributeError) as exc:
        raise ScenarioError(reader.file, reader.key_path(kind),
                            f"cannot load the {kind} source's config ({spec}): {exc}") from None


# -- the way out ---------------------------------------------------------------------------
def scenario_to_toml(s: Scenario) -> str:
    """The fully resolved TOML of ``s``: every default written, seed included.

    ``parse_scenario(scenario_to_toml(s)) == s``; ``[nodes.vN]`` tables are written only for
    nodes that differ from ``[validators]`` and ``[app.extensions]``.
    """
    table: dict[str, Any] = {
        "scenario": {"name": s.name, "seed": s.seed, "duration": duration_text(s.duration),
                     "protocol": s.protocol, "bug_compat": list(s.bug_compat)},
        "network": s.network.to_table(),
        "consensus": s.consensus.to_table(),
        "validators": s.validators.to_table(),
    }
    nodes = {node.name: node.to_table(s.validators.power[i], s.extensions)
             for i, node in enumerate(s.nodes)}
    nodes = {name: node for name, node in nodes.items() if node}
    if nodes:
        table["nodes"] = nodes
    table["resolutions"] = {name: cfg.to_table() for name, cfg in s.resolutions.items()}
    app: dict[str, Any] = {}
    if s.extensions:
        app["extensions"] = {name: dict(cfg) for name, cfg in s.extensions.items()}
    if s.listeners:
        app["listeners"] = dict(s.listeners)
    if app:
        table["app"] = app
    if s.sources:
        table["sources"] = {kind: cfg.to_table() for kind, cfg in s.sources.items()}
    if s.faults:
        table["faults"] = [fault.to_table() for fault in s.faults]
    table["checks"] = s.checks.to_table()
    if s.load is not None:
        table["load"] = s.load.to_table()
    table["limits"] = s.limits.to_table()
    return _HEADER + tomli_w.dumps(table)


def with_faults(scenario: Scenario, *faults: Mapping[str, Any]) -> Scenario:
    """``scenario`` with more ``[[faults]]`` entries, given as tables, validated like a file.

    The code-level way to inject faults: ``with_faults(s, {"at": "1m", "kind": "crash",
    "node": "v1"})``. A bad entry raises ``ScenarioError`` naming its index.
    """
    data = tomllib.loads(scenario_to_toml(scenario))
    data.setdefault("faults", []).extend(dict(f) for f in faults)
    # The scenario was accepted once; faults do not change its size.
    return scenario_from_dict(data, file=scenario.file, allow_large=True)
