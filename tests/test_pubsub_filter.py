"""The filter language: parsing, evaluation, typed comparisons, and errors that point at the
position (candy-utils v0.2.0 ``path.mo``, ``get.mo``, ``compareValue.mo``, ``compareCandy.mo``;
used by the hub's ``publish.mo``)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.sources.pubsub.candy import (
    Class,
    Empty,
    Float,
    Int,
    Int8,
    Nat,
    Nat8,
    Nat64,
    Option,
    Principal,
    Text,
)
from sim.sources.pubsub.errors import FilterSyntaxError
from sim.sources.pubsub.filter import parse_filter
from tests.pubsub_harness import Harness

PAYLOAD: dict[str, Any] = {
    "name": "btc",
    "price": 101.5,
    "volume": 7,
    "flag": True,
    "off": False,
    "nothing": None,
    "tags": ["a", "b", "c"],
    "items": [{"id": 1, "price": 5}, {"id": 3, "price": 12}, {"id": 4, "price": 30}],
    "odd key": 9,
    "nested": {"deep": {"x": [10, 20, 30]}},
}


@pytest.mark.parametrize(("text", "expected"), [
    ("$.name", "btc"),
    ("name", "btc"),
    ("@.name", "btc"),
    ("$.price > 100", True),
    ("price >= 101.5", True),
    ("price < 100", False),
    ("volume <= 7", True),
    ("volume == 7.0", False),  # an Int is compared with an integer word only
    ("name == 'btc'", True),
    ('name == "btc"', True),
    ("name != 'eth'", True),
    ("name > 'a'", True),
    ("$.tags.0", "a"),
    ("$.tags.-1", "c"),
    ("$.tags.-4", None),
    ("$.tags.3", None),
    ("$.nested.deep.x.1", 20),
    ('$."odd key"', 9),
    ("$.missing.deeper", None),
    ("$.items[@.id == 3].price", 12),
    ("$.items[id == 3].price", 12),
    ("$.items[@.id == 99]", None),
    ("$.tags[@ == 'b']", "b"),
    ("$.items.*.price", [5, 12, 30]),
    ("$.items.*.price > 20", True),
    ("$.items.*.price > 50", False),
    ("$.items.*.id == 4", True),
    ("$.nothing == ?", True),
    ("$.nothing == null", False),  # a word: the text "null", not null
    ("flag == true", True),
    ("flag == 1", False),
    ("volume > '5'", False),
    ("price > 100 & volume < 10", True),
    ("price > 100 & volume > 10", False),
    ("price < 100 | volume < 10", True),
    ("price < 100 | volume > 10", False),
    ("price < 100 | volume > 10 & true", False),
    ("(price < 100 | volume < 10) & name == 'btc'", True),
    ("true & 'text'", None),
    ("false | nothing", None),
    ("off & nothing", False),
    ("flag | nothing", True),
    ("$.items.-1.price == 30", True),
    ("$", PAYLOAD),
    ("42", 42),
    ("-1.5e2", -150.0),
])
def test_evaluation(text: str, expected: Any) -> None:
    """get.mo ``get``: a path's value, or a condition's boolean."""
    assert parse_filter(text).evaluate(PAYLOAD) == expected


@pytest.mark.parametrize(("text", "passes"), [
    ("price > 1000", False),       # exactly false blocks
    ("off", False),
    ("price > 100", True),
    ("nothing", True),             # null passes
    ("$.missing", True),
    ("name", True),                # a non-boolean passes
    ("$.items.*.price", True),
    ("true & 'x'", True),
])
def test_only_an_exact_false_blocks(text: str, passes: bool) -> None:
    """publish.mo ``publish``: only ``#Bool(false)`` blocks."""
    assert parse_filter(text).passes(PAYLOAD) is passes


@pytest.mark.parametrize(("text", "position", "reason"), [
    ("  ", 2, "expected an expression, found the end"),
    ("$.price >", 9, "expected a value (a path, number, string, true, false or null), "
                     "found the end"),
    ("$.a == )", 7, "expected a value (a path, number, string, true, false or null), found ')'"),
    ("$.a & == 1", 6, "expected a value (a path, number, string, true, false or null), "
                      "found '=='"),
    ("a == what?", 5, "? is null and ?? is empty, alone; write \\? for a question mark in a "
                      "word"),
    ("a == ???", 5, "? is null and ?? is empty, alone; write \\? for a question mark in a word"),
    ("a == b\\", 6, "a '\\' at the end escapes nothing"),
    ("a ~= x y", 7, "expected '&', '|' or the end, found 'y'"),
    ("$.a..b", 4, "expected a property name, an index or '*' after '.', found '.'"),
    ("$.a == 1 == 2", 9, "expected '&', '|' or the end, found '=='"),
    ("(a == 1", 7, "expected ')', found the end"),
    ("$.items[@.id == 1", 17, "expected ']', found the end"),
    ("$.a # 1", 4, "unexpected character '#'"),
    ("name == 'btc", 8, "unterminated string"),
    ('name == "\\q"', 8, "invalid escape in string"),
    ("a b", 2, "expected '&', '|' or the end, found 'b'"),
])
def test_syntax_errors_point_at_the_position(text: str, position: int, reason: str) -> None:
    """path.mo ``path`` traps on a filter it cannot read; here the error names the position."""
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.position == position
    assert info.value.reason == reason
    assert str(info.value) == f"invalid filter {text!r}: at position {position}, {reason}"
    assert info.value.pointer() == f"{text}\n{' ' * position}^"


def test_a_filter_is_a_string() -> None:
    """subscribe.mo ``#filter: ?Text``."""
    with pytest.raises(TypeError, match="a filter must be a string, got int"):
        parse_filter(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "payload", "passes"), [
    ("side == buy", {"side": "buy"}, True),
    ("side == buy", {"side": "sell"}, False),
    ("a == b", {"a": "b", "b": "zzz"}, True),           # b is the text "b", not the property
    ("a == b", {"a": "zzz", "b": "zzz"}, False),
    ("side == buy & qty >= 2", {"side": "buy", "qty": 2}, True),
    ("side != buy", {"side": "sell"}, True),
    ("name == bit-coin", {"name": "bit-coin"}, True),   # a word runs to a space
    ("name == a\\ b", {"name": "a b"}, True),            # "\\" escapes the space
    ("$.items[kind == fee].amount > 3", {"items": [{"kind": "buy", "amount": 9},
                                                    {"kind": "fee", "amount": 5}]}, True),
    ("flag == true", {"flag": "true"}, True),           # a word is text against a text
    ("n == 7", {"n": "7"}, True),
])
def test_unquoted_words_on_the_value_side_are_text(text: str, payload: Any,
                                                   passes: bool) -> None:
    """path.mo ``processCondition`` reads the value side as raw text, and compareValue.mo
    compares a ``#Text`` with that text: ``side == buy`` means the text "buy"."""
    assert parse_filter(text).passes(payload) is passes


@pytest.mark.parametrize(("text", "payload", "result"), [
    ("n <> 5", {"n": 6}, True),
    ("n <> 5", {"n": 5}, False),
    ("n <> 5", {}, False),              # Empty: never "different"
    ("n <> 5", {"n": None}, False),     # null: never "different"
    ("n <> 5", {"n": [5]}, False),      # an array has no order
    ("n != 5", {}, True),               # while != is just "not equal"
    ("n <> 5", {"n": "x"}, True),       # against a text the word is text
    ("name ~= tc", {"name": "btc"}, True),
    ("name ~= TC", {"name": "btc"}, False),
    ("name ~~= TC", {"name": "bTc"}, True),
    ("name !~= eth", {"name": "btc"}, True),
    ("name !~= bt", {"name": "btc"}, False),
    ("name !~~= BT", {"name": "btc"}, False),
    ("name !~~= ETH", {"name": "btc"}, True),
    ("n ~= 1", {"n": 15}, False),       # text search on a number is false
    ("n !~= 1", {"n": 15}, False),      # and so is its negation
    ("n !~= 1", {}, False),
    ("name ~= ''", {"name": "btc"}, True),
])
def test_inequality_and_text_search_operators(text: str, payload: Any, result: bool) -> None:
    """compareValue.mo ``compare``: ``<>`` (``greaterOrLess``), ``~=`` (``like``), ``~~=``
    (``ilike``), ``!~=`` (``unlike``), ``!~~=`` (``iunlike``)."""
    assert parse_filter(text).evaluate(payload) is result


@pytest.mark.parametrize(("text", "payload", "result"), [
    ("x == ?", {"x": None}, True),
    ("x == ?", {}, False),
    ("x == ?", {"x": 0}, False),
    ("x == ??", {}, True),
    ("x == ??", {"x": None}, False),
    ("x.deeper == ??", {"x": {"y": 1}}, True),
    ("x != ?", {"x": None}, False),
    ("x != ?", {"x": 1}, True),
    ("x == null", {"x": None}, False),  # an unquoted word is text, "null" too
    ("x == null", {"x": "null"}, True),
    ("x != null", {"x": None}, True),
    ("x == \\?", {"x": "?"}, True),     # an escaped ? is text
    ("x == ?", {"x": "?"}, False),
    ("? == ?", {}, True),
    ("?? == ??", {}, True),
])
def test_null_and_empty_literals(text: str, payload: Any, result: bool) -> None:
    """path.mo ``processCondition``: ``?`` is a null value (``#Option(null)``) and ``??``
    the ``#Empty`` value (what a missing property reads as); compareValue.mo ``equal``."""
    assert parse_filter(text).evaluate(payload) is result


@pytest.mark.parametrize("payload", [{}, {"flag": False}, False, None, [False], "x", {"": False}])
def test_an_empty_filter_passes_everything(payload: Any) -> None:
    """subscribe.mo accepts ``#filter(?"")``; an empty filter lets every event through."""
    flt = parse_filter("")
    assert flt.passes(payload) and flt.evaluate(payload) is None


@pytest.mark.parametrize(("text", "value", "result"), [
    ("v == 5", Nat8(5), True),
    ("v > 4", Nat8(5), True),
    ("v == 18446744073709551615", Nat64(2**64 - 1), True),
    ("v < -2", Int8(-3), True),
    ("v == 5.0", Nat(5), False),        # an integer needs an integer word
    ("v == 5", Float(5.0), True),       # a float takes any decimal word
    ("v > 2.25", 2.5, True),
    ("v == .5", 0.5, True),
    ("v == 5", "5", True),              # a text compares text
    ("v > abb", "abc", True),
    ("v == aaaaa-aa", Principal("aaaaa-aa"), True),
    ("v > aaaaa", Principal("aaaaa-aa"), True),
    ("v == hi", b"hi", True),           # a blob compares the word's UTF-8 bytes
    ("v == true", True, True),
    ("v == 1", True, False),
    ("v > false", True, True),
    ("v == 3", Option(Int(3)), True),   # an option compares its content
    ("v == 3", None, False),
    ("v != 3", None, True),
    ("v == 1", [1], False),             # arrays and classes equal no word
    ("v == ?", {"a": 1}, False),
    ("v == ??", Empty(), True),
])
def test_comparisons_with_a_word_follow_the_value_type(text: str, value: Any,
                                                       result: bool) -> None:
    """compareValue.mo: the word is read as the compared value's type (``equal``,
    ``greater``, ...), each integer width as an integer, ``Option`` through its content."""
    assert parse_filter(text).evaluate({"v": value}) is result


@pytest.mark.parametrize(("text", "a", "b", "result"), [
    ("$.a == $.b", Nat(5), Nat(5), True),
    ("$.a == $.b", Int(5), Nat(5), False),      # different variants never compare
    ("$.a == $.b", 5, 5.0, False),
    ("$.a > $.b", 2.0, 1.0, True),
    ("$.a < $.b", "a", "b", True),
    ("$.a == $.b", [1], [1], False),            # arrays equal nothing
    ("$.a == $.b", None, None, True),
    ("$.a <> $.b", None, None, False),
    ("$.a == $.b", Option(Int(1)), Option(Int(1)), True),
    ("$.a > $.b", Option(Int(2)), Option(Int(1)), True),
    ("$.a ~= $.b", "bitcoin", "coin", True),
    ("$.a == 'x'", "x", None, True),            # a quoted string is a Text value
    ("$.a == 'x'", Principal("x"), None, False),
])
def test_comparisons_between_two_values_need_the_same_type(text: str, a: Any, b: Any,
                                                           result: bool) -> None:
    """compareCandy.mo: two candy values compare only within one variant."""
    assert parse_filter(text).evaluate({"a": a, "b": b}) is result


def test_filters_on_typed_payloads_through_the_hub() -> None:
    """publish.mo ``publish`` evaluates the filter on the stored candy payload."""
    h = Harness()
    h.hub.subscribe("s", "price", filter="amount > 100 & owner == pub0")
    assert h.hub.publish("p", "price", {"amount": Nat64(150), "owner": Principal("pub0")}) == 1
    assert h.hub.publish("p", "price", {"amount": Nat64(50), "owner": Principal("pub0")}) is None
    assert h.hub.publish("p", "price", Class([("amount", Nat8(200)), ("owner", Text("x"))])) \
        is None


leaves = (st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab?", max_size=2)
          | st.builds(Nat8, st.integers(0, 5)) | st.builds(Principal, st.sampled_from(["a", "b"]))
          | st.just(Empty()) | st.builds(Option, st.integers(0, 2)))
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
    max_leaves=10,
)


@given(json_values, st.sampled_from([
    "$.a == 1", "$.a.b > 0 | $.c", "$.*.a != null & $.b", "$[@ == 1]", "$.a.-1 <= 'b'",
    "@.c.0.a", "$.*.*", "a & b | c", "a <> 1 | b ~~= A", "a !~= b & c == ??", "$.a == $.b",
    "a.* == ? | b >= a", "",
]))
def test_evaluation_never_raises(payload: Any, text: str) -> None:
    """Any valid filter evaluates on any payload (JSON-like or typed) without raising, and
    ``passes`` is exactly "the value is not false"."""
    flt = parse_filter(text)
    assert flt.passes(payload) is (flt.evaluate(payload) is not False)
