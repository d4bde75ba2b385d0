"""Checks of call arguments shared by the hub's methods; each raises before any change."""

from __future__ import annotations

import math
from typing import Any

from sim.sources.pubsub.constants import EVENT_NAME_LENGTH_LIMIT
from sim.sources.pubsub.errors import PubSubError, PubSubLimitError

MAX_PAYLOAD_DEPTH = 64


def check_principal(value: object, what: str) -> None:
    """A principal (caller, subscriber, listener) is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise PubSubError(f"{what} must be a non-empty principal name, got {value!r}")


def check_name(event_name: object) -> None:
    """An event name is a string of at most EVENT_NAME_LENGTH_LIMIT characters."""
    if not isinstance(event_name, str):
        raise PubSubError(f"event name must be a string, got {event_name!r}")
    if len(event_name) > EVENT_NAME_LENGTH_LIMIT:
        raise PubSubLimitError(f"Event name length limit reached: {len(event_name)} "
                               f"characters, at most {EVENT_NAME_LENGTH_LIMIT}")


def json_copy(value: Any, depth: int = 0) -> Any:
    """A private copy of a JSON-like payload (tuples become lists), or PubSubError."""
    if depth > MAX_PAYLOAD_DEPTH:
        raise PubSubError("payload is nested more than 64 levels deep")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PubSubError(f"payload numbers must be finite, got {value!r}")
        return value
    if isinstance(value, list | tuple):
        return [json_copy(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise PubSubError("payload object keys must be strings")
        return {k: json_copy(v, depth + 1) for k, v in value.items()}
    raise PubSubError(f"payload must be JSON-like, found a {type(value).__name__}")

