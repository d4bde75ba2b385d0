"""Sweep parameters: ``--param key=v1,v2`` specs, their cartesian product, their table values.

A parameter is a dotted scenario key (as ``sim.scenario.apply_override`` takes it) with a list
of values, each kept as the override *text* (what the scenario loader reads) and shown in the
sweep table as the TOML value it reads as (``4`` an integer, ``0.1`` a float, ``3s`` text).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

import tomli_w

from sim.errors import NodesimError

Params = dict[str, list[str]]  # key -> override texts, in the order given


def parse_param_specs(specs: Sequence[str]) -> Params:
    """``["consensus.timeout_commit=1s,3s", "validators.count=4,7"]`` -> ordered ``Params``.

    Commas inside brackets or quotes do not split (``x=[1,2],[3,4]`` is two values).
    """
    params: Params = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise NodesimError(f"--param {spec!r}: expected KEY=V1,V2,... like "
                               f"consensus.timeout_commit=1s,3s")
        if key in params:
            raise NodesimError(f"--param {key}: given twice; list all its values in one --param")
        texts = split_values(values)
        if not texts or any(not text for text in texts):
            raise NodesimError(f"--param {spec!r}: expected a non-empty comma-separated list of values")
        params[key] = texts
    return params


def split_values(text: str) -> list[str]:
    """Split on top-level commas (not inside ``[]``, ``{}`` or quotes); strip each value."""
    values: list[str] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    for char in text:
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return values


def normalize_params(params: Mapping[str, Sequence[Any]] | Sequence[str] | None) -> Params:
    """Python-API params (a mapping of key -> values, or CLI-style specs) as ``Params``."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        out: Params = {}
        for key, values in params.items():
            if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
                raise NodesimError(f"sweep param {key}: expected a non-empty list of values, got {values!r}")
            out[str(key)] = [override_text(value) for value in values]
        return out
    return parse_param_specs(list(params))


def override_text(value: Any) -> str:
    """A Python value as the override text that reads back as it (strings pass through)."""
    if isinstance(value, str):
        return value
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def table_value(text: str) -> Any:
    """The TOML value an override text reads as, or the text itself (``3s``)."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    value = parsed.get("v", text)
    return value if isinstance(value, bool | int | float | str) else text


def table_values(params: Params) -> dict[str, list[Any]]:
    """Each key's column values; a key whose values read as mixed kinds keeps its texts.

    (A table column holds one kind: integers and floats mix as floats, anything else is text.)
    """
    columns: dict[str, list[Any]] = {}
    for key, texts in params.items():
        values = [table_value(text) for text in texts]
        kinds = {_kind(value) for value in values}
        if kinds == {"int", "float"}:
            values = [float(value) for value in values]
        elif len(kinds) > 1:
            values = list(texts)
        columns[key] = values
    return columns


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return type(value).__name__


def combinations(params: Params) -> list[dict[str, str]]:
    """The cartesian product, the last key varying fastest; ``[{}]`` when there are no params."""
    keys = list(params)
    return [dict(zip(keys, texts, strict=True)) for texts in itertools.product(*params.values())]
