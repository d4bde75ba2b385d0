"""The filter language: parsing, evaluation, and errors that point at the position."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.sources.pubsub.errors import FilterSyntaxError
from sim.sources.pubsub.filter import parse_filter

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
    ("volume == 7.0", True),
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
    ("$.nothing == null", True),
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
    assert parse_filter(text).passes(PAYLOAD) is passes


@pytest.mark.parametrize(("text", "position", "reason"), [
    ("", 0, "expected an expression, found the end"),
    ("$.price >", 9, "expected a value (a path, number, string, true, false or null), "
                     "found the end"),
    ("$.a == )", 7, "expected a value (a path, number, string, true, false or null), found ')'"),
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
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.position == position
    assert info.value.reason == reason
    assert str(info.value) == f"invalid filter {text!r}: at position {position}, {reason}"
    assert info.value.pointer() == f"{text}\n{' ' * position}^"


def test_a_filter_is_a_string() -> None:
    with pytest.raises(TypeError, match="a filter must be a string, got int"):
        parse_filter(3)  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab", max_size=2),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
    max_leaves=10,
)


@given(json_values, st.sampled_from([
    "$.a == 1", "$.a.b > 0 | $.c", "$.*.a != null & $.b", "$[@ == 1]", "$.a.-1 <= 'b'",
    "@.c.0.a", "$.*.*", "a & b | c",
]))
def test_evaluation_never_raises(payload: Any, text: str) -> None:
    """Any valid filter evaluates on any JSON-like payload without raising, and ``passes``
    is exactly "the value is not false"."""
    flt = parse_filter(text)
    assert flt.passes(payload) is (flt.evaluate(payload) is not False)
