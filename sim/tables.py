"""Reading one TOML table into typed values, with errors that name the key path.

Every scenario section (core or a source's) is read through a ``TableReader``. Reading a key
marks it as known; ``finish()`` then rejects whatever was not read, because a typo must never
be silently ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, TypeVar

from sim.errors import ScenarioError
from sim.units import parse_duration, parse_fraction, parse_rate

T = TypeVar("T")

# A lognormal's sigma at most this: its largest draws are e^(4.2 sigma) = 1.7e18 times its median,
# past anything a latency or a tx size means (a sigma of a few hundred overflows a float).
MAX_SIGMA = 10.0
# The largest value of an int64, the type CometBFT and kwil keep voting power and block numbers in.
INT64_MAX = 2**63 - 1


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def describe(value: object) -> str:
    """How a found value is quoted in an error: TOML-like, strings in double quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # unicode shown as characters
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


class TableReader:
    """Typed, path-aware access to one table of a scenario file."""

    def __init__(self, table: Any, path: str, file: str) -> None:
        if not isinstance(table, dict):
            raise ScenarioError(file, path, f"expected a table, got {describe(table)}")
        self._table = table
        self._seen: set[str] = set()
        self.path = path
        self.file = file

    # -- plumbing -----------------------------------------------------------------
    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, expected: str, got: object) -> ScenarioError:
        """A ScenarioError for ``key``: ``path.key: expected <expected>, got <got>``."""
        return ScenarioError(self.file, self.key_path(key), f"expected {expected}, got {describe(got)}")

    def has(self, key: str) -> bool:
        return key in self._table

    def keys(self) -> list[str]:
        """The keys present, in file order (TOML tables keep insertion order)."""
        return list(self._table)

    def _get(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self._table:
            return self._table[key]
        if default is MISSING:
            raise ScenarioError(self.file, self.key_path(key), "is required but missing")
        return default

    def _convert(self, key: str, value: Any, parse: Callable[[str], T], expected: str) -> T:
        if not isinstance(value, str):
            raise self.error(key, expected, value)
        try:
            return parse(value)
        except ValueError:
            raise self.error(key, expected, value) from None

    # -- typed getters --------------------------------------------------------------
    def raw(self, key: str, default: Any = MISSING) -> Any:
        return self._get(key, default)

    def integer(self, key: str, default: Any = MISSING, *, min: int | None = None,
                max: int | None = None) -> int:
        value = self._get(key, default)
        expected = "an integer" + _bounds(min, max)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, expected, value)
        if (min is not None and value < min) or (max is not None and value > max):
            raise self.error(key, expected, value)
        return value

    def number(self, key: str, default: Any = MISSING, *, min: float | None = None,
               max: float | None = None) -> float:
        value = self._get(key, default)
        expected = "a number" + _bounds(min, max)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, expected, value)
        if not math.isfinite(value):  # TOML has nan and inf; no scenario number may be either
            raise self.error(key, "a finite number" + _bounds(min, max), value)
        if (min is not None and value < min) or (max is not None and value > max):
            raise self.error(key, expected, value)
        return float(value)

    def sigma(self, key: str) -> float:
        """A lognormal's shape, 0 to ``MAX_SIGMA``."""
        return self.number(key, min=0.0, max=MAX_SIGMA)

    def probability(self, key: str, default: Any = MISSING) -> float:
        return self.number(key, default, min=0.0, max=1.0)

    def string(self, key: str, default: Any = MISSING, *,
               choices: Sequence[str] | None = None) -> str:
        value = self._get(key, default)
        if choices is not None:
            expected = "one of " + ", ".join(json.dumps(c) for c in choices)
            if value not in choices:
                raise self.error(key, expected, value)
        elif not isinstance(value, str):
            raise self.error(key, "a string", value)
        return str(value)

    def boolean(self, key: str, default: Any = MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "true or false", value)
        return value

    def duration(self, key: str, default: Any = MISSING, *, min: float = 0.0,
                 positive: bool = False) -> float:
        """A duration string; ``default`` is given in seconds (a float) or as a string."""
        value = self._get(key, default)
        if isinstance(value, float | int) and not isinstance(value, bool) and value is default:
            seconds = float(value)
        else:
            expected = 'a duration with a unit, like "250ms", "6s", "10m" or "64h"'
            seconds = self._convert(key, value, parse_duration, expected)
        if seconds < min or (positive and seconds <= 0):
            bound = "a duration > 0" if positive else f"a duration >= {min}s"
            raise self.error(key, bound, value)
        return seconds

    def rate(self, key: str, default: Any = MISSING) -> float:
        value = self._get(key, default)
        if isinstance(value, float | int) and value is default:
            return float(value)
        return self._convert(key, value, parse_rate, 'a rate like "1/s", "2/min" or "3/h"')

    def fraction(self, key: str, default: Any = MISSING) -> Fraction:
        value = self._get(key, default)
        if isinstance(value, Fraction):
            return value
        return self._convert(key, value, parse_fraction,
                             'a fraction "num/den" between 0 and 1, like "2/3"')

    def string_list(self, key: str, default: Any = MISSING) -> tuple[str, ...]:
        value = self._get(key, default)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "an array of strings", value)
        return tuple(value)

    def string_map(self, key: str, default: Any = MISSING) -> dict[str, str]:
        """A table whose values are all strings (kwil's extension config shape)."""
        value = self._get(key, default)
        if not isinstance(value, dict):
            raise self.error(key, "a table of strings", value)
        for k, v in value.items():
            if not isinstance(v, str):
                raise ScenarioError(self.file, f"{self.key_path(key)}.{k}",
                                    f"expected a string (extension config values are strings), "
                                    f"got {describe(v)}")
        return dict(value)

    def table(self, key: str, default: Any = MISSING) -> TableReader:
        value = self._get(key, default)
        return TableReader(value, self.key_path(key), self.file)

    def tables(self, key: str, default: Any = MISSING) -> list[TableReader]:
        """An array of tables (``[[faults]]``); each reader's path carries its index."""
        value = self._get(key, default)
        if not isinstance(value, list):
            raise self.error(key, "an array of tables", value)
        return [TableReader(item, f"{self.key_path(key)}[{i}]", self.file)
                for i, item in enumerate(value)]

    def finish(self) -> None:
        """Reject keys that were never read: they are typos or unsupported options."""
        unknown = [k for k in self._table if k not in self._seen]
        if unknown:
            raise ScenarioError(self.file, self.key_path(unknown[0]), "unknown key")


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" between {low} and {high}"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
