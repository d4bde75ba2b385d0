"""A trace record's canonical line: the JSON ``json.dumps`` writes with sorted keys and no
spaces, whatever the record holds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sim.engine.trace import _jsonable, canonical_line

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=8)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.frozensets(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12)


@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=6), st.floats(0, 1e6))
def test_a_line_is_what_json_dumps_writes(fields: dict[str, Any], t: float) -> None:
    """The kept C encoder gives, for any record, the line json.dumps gives with the trace's
    options (floats, non-ASCII text, bytes, sets and tuples included): the trace hash depends
    on every character."""
    record = {"t": t, **fields}
    assert canonical_line(record) == json.dumps(record, sort_keys=True, separators=(",", ":"), default=_jsonable)


def test_an_object_json_cannot_write_becomes_its_text() -> None:
    class Named:
        def __str__(self) -> str:
            return "named"

    assert canonical_line({"t": 1.5, "who": Named(), "e": "é"}) == '{"e":"\\u00e9","t":1.5,"who":"named"}'
