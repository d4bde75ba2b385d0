"""Payloads on their way through the hub: checked and converted when published, copied
for each push."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sim.sources.pubsub.candy import Array, Candy, Class, Option, to_candy
from sim.sources.pubsub.errors import PubSubError

MAX_DEPTH = 64
"""How deeply a payload may nest (arrays, classes, options)."""


def fresh_copy(python: Any) -> Any:
    """A copy of a Python form with new lists and dicts (its other parts are immutable).

    Much cheaper than ``copy.deepcopy``; each receiver of a push gets its own.
    """
    kind = type(python)
    if kind is dict:
        return {key: value if type(value) not in _CONTAINERS else fresh_copy(value)
                for key, value in python.items()}
    if kind is list:
        return [value if type(value) not in _CONTAINERS else fresh_copy(value)
                for value in python]
    return python


_CONTAINERS = (dict, list)


def payload_candy(payload: Any) -> Candy:
    """A published payload as a candy value; it may nest at most ``MAX_DEPTH`` levels.

    The depth is checked on the Python form first, so a runaway structure is refused with a
    clear error instead of exhausting the interpreter's recursion.
    """
    stack: list[tuple[Any, int]] = [(payload, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PubSubError(f"payload is nested more than {MAX_DEPTH} levels deep")
        children: Iterable[Any] = ()
        if isinstance(value, list | tuple):
            children = value
        elif isinstance(value, dict):
            children = value.values()
        elif isinstance(value, Array):
            children = value.items
        elif isinstance(value, Class):
            children = (item for _, item in value.props)
        elif isinstance(value, Option) and value.value is not None:
            children = (value.value,)
        stack.extend((child, depth + 1) for child in children)
    return to_candy(payload)
