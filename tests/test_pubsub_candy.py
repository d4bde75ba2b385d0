"""Candy values, the hub's payloads (candy library v0.1.9 ``CandyValue``; candy-utils v0.2.0
``toJson.mo``): construction, the Python form and its round trip, the JSON view."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.extensions.pubsub_events import event_body
from sim.sources.pubsub import candy as cv
from sim.sources.pubsub.candy import (
    NULL,
    Array,
    Blob,
    Bool,
    Candy,
    Class,
    Empty,
    Float,
    Int,
    Int8,
    Int16,
    Int32,
    Int64,
    Nat,
    Nat8,
    Nat16,
    Nat32,
    Nat64,
    Option,
    Principal,
    Text,
    to_candy,
    to_python,
)
from sim.sources.pubsub.errors import PubSubError

WIDTHS = [(Int8, -(2**7), 2**7 - 1), (Int16, -(2**15), 2**15 - 1),
          (Int32, -(2**31), 2**31 - 1), (Int64, -(2**63), 2**63 - 1),
          (Nat8, 0, 2**8 - 1), (Nat16, 0, 2**16 - 1), (Nat32, 0, 2**32 - 1),
          (Nat64, 0, 2**64 - 1)]


@pytest.mark.parametrize(("kind", "low", "high"), WIDTHS)
def test_integer_widths_hold_exactly_their_range(kind: type[Candy], low: int, high: int) -> None:
    """candy types.mo: ``#Int8`` ... ``#Nat64`` are Motoko's fixed-width integers."""
    assert kind(low).value == low and kind(high).value == high  # type: ignore[call-arg,attr-defined]
    for outside in (low - 1, high + 1):
        with pytest.raises(PubSubError, match=rf"^{kind.__name__} must be an integer from "
                                              rf"{low} to {high}, got {outside}$"):
            kind(outside)  # type: ignore[call-arg]


def test_unbounded_integers_and_type_checks() -> None:
    """candy types.mo: ``#Int`` is any integer, ``#Nat`` any integer >= 0."""
    assert Int(-(10**30)).value == -(10**30) and Nat(10**30).value == 10**30
    with pytest.raises(PubSubError, match="^Nat must be an integer >= 0, got -1$"):
        Nat(-1)
    with pytest.raises(PubSubError, match="^Int needs an integer, got True$"):
        Int(True)
    with pytest.raises(PubSubError, match="^Text needs a string, got 3$"):
        Text(3)  # type: ignore[arg-type]
    with pytest.raises(PubSubError, match="^Principal needs a non-empty principal name"):
        Principal("")
    with pytest.raises(PubSubError, match="^payload numbers must be finite, got inf$"):
        Float(float("inf"))
    with pytest.raises(PubSubError, match=r"^Class properties are \(name, value\) pairs"):
        Class([("a", 1, 2)])


def test_variants_of_equal_numbers_are_different_values() -> None:
    """candy types.mo: the variant is part of the value (``#Nat(5)`` is not ``#Int(5)``)."""
    assert Int(5) != Nat(5) and Nat8(5) != Nat16(5) and Float(5.0) != Int(5)
    assert Nat8(5) == Nat8(5)


@pytest.mark.parametrize(("python", "candy"), [
    (None, Option(None)),
    (True, Bool(True)),
    (5, Int(5)),
    (2.5, Float(2.5)),
    ("x", Text("x")),
    (b"\x00\xff", Blob(b"\x00\xff")),
    ([1, "a"], Array([Int(1), Text("a")])),
    ({"a": 1, "b": [None]}, Class({"a": Int(1), "b": Array([NULL])})),
    (Nat8(5), Nat8(5)),
    (Principal("v0"), Principal("v0")),
    (Option(Int(3)), Option(Int(3))),
    (Empty(), Empty()),
    (Class([("a", 1), ("a", 2)]), Class([("a", Int(1)), ("a", Int(2))])),  # repeated names
])
def test_python_form_maps_each_variant(python: Any, candy: Candy) -> None:
    """The Python form: plain values for the plain variants, candy objects for the rest."""
    assert to_candy(python) == candy
    assert to_python(candy) == python


candies: st.SearchStrategy[Candy] = st.deferred(lambda: st.one_of(
    st.builds(Int, st.integers()),
    *[st.builds(kind, st.integers(low, high)) for kind, low, high in WIDTHS],
    st.builds(Nat, st.integers(min_value=0)),
    st.builds(Float, st.floats(allow_nan=False, allow_infinity=False)),
    st.builds(Text, st.text(max_size=5)),
    st.builds(Bool, st.booleans()),
    st.builds(Principal, st.text(min_size=1, max_size=5)),
    st.builds(Blob, st.binary(max_size=5)),
    st.just(Empty()),
    st.builds(Option, st.none() | candies),
    st.builds(Array, st.lists(candies, max_size=3)),
    st.builds(Class, st.lists(st.tuples(st.sampled_from("abc"), candies), max_size=3)),
))


@given(candies)
def test_python_form_round_trips(value: Candy) -> None:
    """For every candy value: ``to_candy(to_python(v)) == v``, ``to_python`` of that is the
    same Python form again, and ``repr`` is Python that builds an equal value."""
    python = to_python(value)
    assert to_candy(python) == value
    assert to_python(to_candy(python)) == python
    assert eval(repr(value), vars(cv)) == value


def test_json_view_is_candy_to_json() -> None:
    """toJson.mo ``candyToJson``: every width is a number, a principal its text, a blob its
    bytes, an option its content or null, ``#Empty`` null."""
    value = Class({"n": Nat64(7), "i": Int8(-1), "p": Principal("pub0"), "b": Blob(b"\x01\x02"),
                   "o": Option(Text("x")), "z": NULL, "e": Empty(), "f": 1.5,
                   "a": [True, None]})
    assert value.to_json() == {"n": 7, "i": -1, "p": "pub0", "b": [1, 2], "o": "x", "z": None,
                               "e": None, "f": 1.5, "a": [True, None]}


def test_the_listener_writes_typed_payloads_as_candy_json() -> None:
    """The pubsub_events listener votes on canonical JSON of the pushed payload; typed values
    are written as ``candyToJson`` writes them."""
    body = event_body(3, "pub0", "price", {"amount": Nat64(7), "owner": Principal("pub0"),
                                           "memo": b"\x01"})
    assert body == (b'{"id":3,"name":"price","payload":{"amount":7,"memo":[1],'
                    b'"owner":"pub0"},"publisher":"pub0"}')
    with pytest.raises(TypeError, match="a set in a pushed payload has no JSON form"):
        event_body(3, "pub0", "price", {1, 2})
