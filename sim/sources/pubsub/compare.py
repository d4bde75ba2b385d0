"""Filter comparisons that follow the candy types (candy-utils v0.2.0 ``compareValue.mo``
and ``compareCandy.mo``).

Two cases:

- **A value against a literal word** (``side == buy``, ``price > 100``, ``x == ?``). The word
  has no type of its own: it is read as the compared value's type. Against a ``Text`` it is
  that text; a ``Principal`` compares its text; a ``Blob`` the word's UTF-8 bytes; a ``Bool``
  needs ``true`` or ``false``; any integer width needs an integer word (``7``, ``-3``); a
  ``Float`` a decimal word (``7``, ``7.5``, ``.5``). A word that cannot be read as the type
  makes ``==`` false (and ``!=`` true). ``?`` equals only null (``Option(None)``) and ``??``
  only ``Empty`` (a missing property). An ``Option`` holding a value compares that value.
- **A value against a value** (a quoted string, ``$.other``): only the same variant
  compares; ``Int(5)`` is not ``Nat(5)``, and arrays and classes never equal anything.

Operators: ``==``, ``!=`` (not ``==``), ``<>`` (different, but false for mismatched types,
null and ``Empty``), ``> >= < <=`` (false across types), ``~=`` (text contains), ``~~=``
(contains, ignoring case), ``!~=`` and ``!~~=`` (their negations, still false for non-text).

Where v0.2.0's code does something plainly unintended, the rule its README states is followed
instead: ``!~=`` and ``!~~=`` read the right search table and ``~~=`` ignores case on both
sides (v0.2.0 mixes them up), ordering of booleans is false < true, and ordering of options
compares their contents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import attrs

from sim.sources.pubsub.candy import (
    EMPTY,
    INTEGER_TYPES,
    NULL,
    Blob,
    Bool,
    Candy,
    Empty,
    Float,
    Int,
    Option,
    Principal,
    Text,
)

EQUALITY: Final = ("==", "!=", "<>")
ORDERING: Final = (">", ">=", "<", "<=")
TEXT_SEARCH: Final = ("~=", "~~=", "!~=", "!~~=")
OPERATORS: Final = (*EQUALITY, *ORDERING, *TEXT_SEARCH)

_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b),
    "<": lambda a, b: bool(a < b), "<=": lambda a, b: bool(a <= b),
}


@attrs.frozen
class Word:
    """An unquoted literal on the value side of a comparison, typed by what it meets.

    ``kind`` is "word" for ordinary text, "null" for ``?`` and "empty" for ``??``.
    """

    text: str
    kind: str = "word"

    @property
    def as_int(self) -> int | None:
        return int(self.text) if self.kind == "word" and _INT.fullmatch(self.text) else None

    @property
    def as_float(self) -> float | None:
        return float(self.text) if self.kind == "word" and _DECIMAL.fullmatch(self.text) else None

    @property
    def as_bool(self) -> bool | None:
        if self.kind != "word" or self.text not in ("true", "false"):
            return None
        return self.text == "true"

    @property
    def as_text(self) -> str | None:
        return self.text if self.kind == "word" else None

    def natural(self) -> Candy:
        """The word as a value on its own: a number, a boolean, null, Empty or text."""
        if self.kind == "null":
            return NULL
        if self.kind == "empty":
            return EMPTY
        if self.as_int is not None:
            return Int(self.as_int)
        if self.as_float is not None:
            return Float(self.as_float)
        if self.as_bool is not None:
            return Bool(self.as_bool)
        return Text(self.text)


def _scalar_of(value: Candy, word: Word) -> tuple[Any, Any] | None:
    """(value's scalar, the word read as that type), or None when they do not meet."""
    target: Any
    if isinstance(value, Text):
        target = word.as_text
        return None if target is None else (value.value, target)
    if isinstance(value, Principal):
        target = word.as_text
        return None if target is None else (value.text, target)
    if isinstance(value, Blob):
        target = word.as_text
        return None if target is None else (value.data, target.encode())
    if isinstance(value, Bool):
        target = word.as_bool
        return None if target is None else (value.value, target)
    if isinstance(value, INTEGER_TYPES):
        target = word.as_int
        return None if target is None else (value.value, target)
    if isinstance(value, Float):
        target = word.as_float
        return None if target is None else (value.value, target)
    return None


def compare_with_word(value: Candy, op: str, word: Word) -> bool:
    """``value <op> word`` with the word read as the value's type (``compareValue.mo``)."""
    if op == "!=":
        return not compare_with_word(value, "==", word)
    if isinstance(value, Option) and value.value is not None:
        return compare_with_word(value.value, op, word)
    if op == "==":
        if isinstance(value, Option):
            return word.kind == "null"
        if isinstance(value, Empty):
            return word.kind == "empty"
        pair = _scalar_of(value, word)
        return pair is not None and pair[0] == pair[1]
    if op in TEXT_SEARCH:
        return isinstance(value, Text) and _search(op, value.value, word.text)
    pair = _scalar_of(value, word)
    if pair is None:
        return False
    if op == "<>":
        return bool(pair[0] != pair[1])
    return _ORDER[op](*pair)


def compare_values(left: Candy, op: str, right: Candy) -> bool:
    """``left <op> right`` for two values: only the same variant compares (``compareCandy.mo``)."""
    if op == "!=":
        return not compare_values(left, "==", right)
    if isinstance(left, Option) and isinstance(right, Option):
        if left.value is None or right.value is None:
            return op == "==" and left.value is None and right.value is None
        return compare_values(left.value, op, right.value)
    if op == "==" and isinstance(left, Empty):
        return isinstance(right, Empty)
    if type(left) is not type(right):
        return False
    if op in TEXT_SEARCH:
        return isinstance(left, Text) and isinstance(right, Text) \
            and _search(op, left.value, right.value)
    scalars = _scalars(left, right)
    if scalars is None:
        return False  # arrays, classes and Empty equal nothing and have no order
    a, b = scalars
    if op == "==":
        return bool(a == b)
    if op == "<>":
        return bool(a != b)
    return _ORDER[op](a, b)


def _scalars(left: Candy, right: Candy) -> tuple[Any, Any] | None:
    if isinstance(left, (Text, Bool, Float, *INTEGER_TYPES)):
        return left.value, right.value  # type: ignore[attr-defined]
    if isinstance(left, Principal) and isinstance(right, Principal):
        return left.text, right.text
    if isinstance(left, Blob) and isinstance(right, Blob):
        return left.data, right.data
    return None


def _search(op: str, text: str, needle: str) -> bool:
    ignore_case = op in ("~~=", "!~~=")
    found = needle.casefold() in text.casefold() if ignore_case else needle in text
    return found if op in ("~=", "~~=") else not found
