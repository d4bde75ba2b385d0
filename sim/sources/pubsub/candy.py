"""Candy values: the typed payloads the hub stores, filters and pushes.

The real hub takes a ``CandyValue`` (candy library v0.1.9) as an event's payload. Each variant
here is a small frozen class named after the Motoko one: ``Int``, ``Int8`` ... ``Int64``,
``Nat``, ``Nat8`` ... ``Nat64``, ``Float``, ``Text``, ``Bool``, ``Principal``, ``Blob``,
``Option``, ``Array``, ``Class`` (a list of named properties) and ``Empty`` (what a missing
property reads as).

Two views of the same value:

- **The Python form** (``to_python``/``to_candy``), which round-trips exactly. The plain
  variants become plain Python values: ``Int`` <-> ``int``, ``Float`` <-> ``float``, ``Text``
  <-> ``str``, ``Bool`` <-> ``bool``, ``Blob`` <-> ``bytes``, ``Option(None)`` <-> ``None``,
  ``Array`` <-> ``list`` and ``Class`` <-> ``dict`` (when its property names are unique). Every
  other value stays its candy object (``Nat8(5)``, ``Principal("aaaaa-aa")``,
  ``Option(Int(5))``, ``Empty()``). So a JSON-like payload is its own Python form, and a
  payload can mix both: ``{"amount": Nat64(5), "owner": Principal("pub0")}``.
- **The JSON view** (``to_json``), lossy, as candy-utils' ``candyToJson`` writes it: every
  integer width is a number, a principal is its text, a blob is a list of byte values, an
  option is its content or null, ``Empty`` is null.

``repr`` of a value is Python that builds it again, e.g. ``Class({'a': Nat8(5)})``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from sim.sources.pubsub.errors import PubSubError


class Candy:
    """A candy value; build one of the variants, or convert Python with ``to_candy``."""

    __slots__ = ()

    def to_python(self) -> Any:
        """The value's Python form (see the module docstring); ``to_candy`` reads it back."""
        return self

    def to_json(self) -> Any:
        """The JSON value candy-utils' ``candyToJson`` would write for this value."""
        raise NotImplementedError


# -- scalars -----------------------------------------------------------------------------


def _check_integer(instance: _Integer, _attribute: Any, value: Any) -> None:
    name = type(instance).__name__
    if isinstance(value, bool) or not isinstance(value, int):
        raise PubSubError(f"{name} needs an integer, got {value!r}")
    low, high = type(instance).LOW, type(instance).HIGH
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise PubSubError(f"{name} must be an integer {bounds}, got {value}")


@attrs.frozen(repr=False)
class _Integer(Candy):
    """An integer of one Motoko type; the subclasses fix its range."""

    value: int = attrs.field(validator=_check_integer)
    LOW: ClassVar[int | None] = None
    HIGH: ClassVar[int | None] = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"

    def to_json(self) -> Any:
        return self.value


class Int(_Integer):
    """``#Int``: an integer of any size (the Python form is a plain ``int``)."""

    __slots__ = ()

    def to_python(self) -> Any:
        return self.value


class Int8(_Integer):
    __slots__ = ()
    LOW, HIGH = -(2**7), 2**7 - 1


class Int16(_Integer):
    __slots__ = ()
    LOW, HIGH = -(2**15), 2**15 - 1


class Int32(_Integer):
    __slots__ = ()
    LOW, HIGH = -(2**31), 2**31 - 1


class Int64(_Integer):
    __slots__ = ()
    LOW, HIGH = -(2**63), 2**63 - 1


class Nat(_Integer):
    """``#Nat``: an integer >= 0 of any size."""

    __slots__ = ()
    LOW = 0


class Nat8(_Integer):
    __slots__ = ()
    LOW, HIGH = 0, 2**8 - 1


class Nat16(_Integer):
    __slots__ = ()
    LOW, HIGH = 0, 2**16 - 1


class Nat32(_Integer):
    __slots__ = ()
    LOW, HIGH = 0, 2**32 - 1


class Nat64(_Integer):
    __slots__ = ()
    LOW, HIGH = 0, 2**64 - 1


INTEGER_TYPES: tuple[type[_Integer], ...] = (Int, Int8, Int16, Int32, Int64,
                                             Nat, Nat8, Nat16, Nat32, Nat64)


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PubSubError(f"Float needs a number, got {value!r}")
    if not math.isfinite(value):
        raise PubSubError(f"payload numbers must be finite, got {value!r}")
    return float(value)


@attrs.frozen(repr=False)
class Float(Candy):
    """``#Float``: a finite 64-bit float (the Python form is a plain ``float``)."""

    value: float = attrs.field(converter=_to_float)

    def __repr__(self) -> str:
        return f"Float({self.value!r})"

    def to_python(self) -> Any:
        return self.value

    def to_json(self) -> Any:
        return self.value


def _check_type(kind: type, what: str) -> Any:
    def check(instance: Candy, _attribute: Any, value: Any) -> None:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise PubSubError(f"{type(instance).__name__} needs {what}, got {value!r}")
    return check


@attrs.frozen(repr=False)
class Text(Candy):
    """``#Text`` (the Python form is a plain ``str``)."""

    value: str = attrs.field(validator=_check_type(str, "a string"))

    def __repr__(self) -> str:
        return f"Text({self.value!r})"

    def to_python(self) -> Any:
        return self.value

    def to_json(self) -> Any:
        return self.value


@attrs.frozen(repr=False)
class Bool(Candy):
    """``#Bool`` (the Python form is a plain ``bool``)."""

    value: bool = attrs.field(validator=_check_type(bool, "true or false"))

    def __repr__(self) -> str:
        return f"Bool({self.value!r})"

    def to_python(self) -> Any:
        return self.value

    def to_json(self) -> Any:
        return self.value


def _check_principal(instance: Principal, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise PubSubError(f"Principal needs a non-empty principal name, got {value!r}")


@attrs.frozen(repr=False)
class Principal(Candy):
    """``#Principal``, by its text (here any non-empty name, such as ``"v0"``)."""

    text: str = attrs.field(validator=_check_principal)

    def __repr__(self) -> str:
        return f"Principal({self.text!r})"

    def to_json(self) -> Any:
        return self.text


def _to_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise PubSubError(f"Blob needs bytes, got {value!r}")
    return bytes(value)


@attrs.frozen(repr=False)
class Blob(Candy):
    """``#Blob`` (the Python form is ``bytes``; JSON is the list of byte values)."""

    data: bytes = attrs.field(converter=_to_bytes)

    def __repr__(self) -> str:
        return f"Blob({self.data!r})"

    def to_python(self) -> Any:
        return self.data

    def to_json(self) -> Any:
        return list(self.data)


@attrs.frozen(repr=False)
class Empty(Candy):
    """``#Empty``: no value; what a missing property or index reads as."""

    def __repr__(self) -> str:
        return "Empty()"

    def to_json(self) -> Any:
        return None


EMPTY = Empty()


# -- containers --------------------------------------------------------------------------


def _to_optional(value: Any) -> Candy | None:
    return None if value is None else to_candy(value)


@attrs.frozen(repr=False)
class Option(Candy):
    """``#Option``: ``Option(None)`` is null (Python form ``None``); ``Option(x)`` holds x."""

    value: Candy | None = attrs.field(default=None, converter=_to_optional)

    def __repr__(self) -> str:
        return f"Option({self.value!r})"

    def to_python(self) -> Any:
        return None if self.value is None else self

    def to_json(self) -> Any:
        return None if self.value is None else self.value.to_json()


NULL = Option(None)


def _to_items(values: Any) -> tuple[Candy, ...]:
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise PubSubError(f"Array needs a list of values, got {values!r}")
    return tuple(to_candy(v) for v in values)


@attrs.frozen(repr=False)
class Array(Candy):
    """``#Array`` (the Python form is a ``list``)."""

    items: tuple[Candy, ...] = attrs.field(converter=_to_items)

    def __repr__(self) -> str:
        return f"Array({list(self.items)!r})"

    def to_python(self) -> Any:
        return [item.to_python() for item in self.items]

    def to_json(self) -> Any:
        return [item.to_json() for item in self.items]


def _to_props(values: Any) -> tuple[tuple[str, Candy], ...]:
    pairs = values.items() if isinstance(values, Mapping) else values
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise PubSubError(f"Class needs a dict or a list of (name, value) pairs, got {values!r}")
    props = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not isinstance(pair[0], str):
            raise PubSubError(f"Class properties are (name, value) pairs with a string name, "
                              f"got {pair!r}")
        props.append((pair[0], to_candy(pair[1])))
    return tuple(props)


@attrs.frozen(repr=False)
class Class(Candy):
    """``#Class``: named properties in order (names may repeat; a read takes the first)."""

    props: tuple[tuple[str, Candy], ...] = attrs.field(converter=_to_props)

    def __repr__(self) -> str:
        if self._unique():
            return f"Class({dict(self.props)!r})"
        return f"Class({list(self.props)!r})"

    def _unique(self) -> bool:
        return len({name for name, _ in self.props}) == len(self.props)

    def get(self, name: str) -> Candy:
        """The first property called ``name``, or ``EMPTY``."""
        for prop, value in self.props:
            if prop == name:
                return value
        return EMPTY

    def to_python(self) -> Any:
        if not self._unique():
            return self
        return {name: value.to_python() for name, value in self.props}

    def to_json(self) -> Any:
        # Like a JSON reader of candyToJson's output: a repeated name keeps its last value.
        return {name: value.to_json() for name, value in self.props}


# -- conversions -------------------------------------------------------------------------


def to_candy(value: Any) -> Candy:
    """The candy value of a Python form (or of a candy value: itself), or ``PubSubError``."""
    if isinstance(value, Candy):
        return value
    if value is None:
        return NULL
    if isinstance(value, bool):
        return Bool(value)
    if isinstance(value, int):
        return Int(value)
    if isinstance(value, float):
        return Float(value)
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, bytes | bytearray):
        return Blob(value)
    if isinstance(value, list | tuple):
        return Array(value)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise PubSubError("payload object keys must be strings")
        return Class(value)
    raise PubSubError(f"payload must be JSON-like, found a {type(value).__name__} (typed values "
                      "are candy objects such as Nat8(5) or Principal(\"p\"))")


def to_python(value: Candy) -> Any:
    """The Python form of a candy value (fresh lists and dicts each call)."""
    return value.to_python()
