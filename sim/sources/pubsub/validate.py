"""Checks of call arguments shared by the hub's methods; each raises before any change."""

from __future__ import annotations

from sim.sources.pubsub.constants import EVENT_NAME_LENGTH_LIMIT
from sim.sources.pubsub.errors import PubSubError, PubSubLimitError


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
