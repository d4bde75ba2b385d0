"""A watcher's options, named after the original's ``With...`` options, validated once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from sim.sources.watcher.errors import InvalidArgumentError
from sim.sources.watcher.types import EventFilter, EventIterator, RetryStrategy


def _seconds(value: Any) -> Any:
    return value.total_seconds() if isinstance(value, timedelta) else value


def _retry_strategy(value: Any) -> Any:
    try:
        return RetryStrategy(value)
    except ValueError:
        known = ", ".join(s.value for s in RetryStrategy)
        raise InvalidArgumentError(
            f"retry_strategy must be one of {known}, got {value!r}") from None


def _int_at_least(low: int) -> Any:
    def check(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidArgumentError(f"{attr.name} must be an integer >= {low}, got {value!r}")
    return check


def _duration(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidArgumentError(f"{attr.name} must be a duration >= 0 seconds, got {value!r}")


def _instance_of(kind: type, what: str) -> Any:
    def check(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise InvalidArgumentError(f"{attr.name} must be {what}, got {value!r}")
    return check


@attrs.frozen(kw_only=True)
class WatchOptions:
    """Everything that shapes a watcher's loop. Durations are seconds (or ``timedelta``)."""

    batch_size: int = attrs.field(default=100, validator=_int_at_least(1))
    filter: EventFilter = attrs.field(factory=EventFilter,
                                      validator=_instance_of(EventFilter, "an EventFilter"))
    initial_event_iterator: EventIterator = attrs.field(
        factory=EventIterator.trim_horizon,
        validator=_instance_of(EventIterator, "an EventIterator"))
    max_retries: int = attrs.field(default=3, validator=_int_at_least(1))
    retry_strategy: RetryStrategy = attrs.field(default=RetryStrategy.BLOCK,
                                                converter=_retry_strategy)
    initial_backoff: float = attrs.field(default=0.2, converter=_seconds, validator=_duration)
    max_backoff: float = attrs.field(default=180.0, converter=_seconds, validator=_duration)
    # Accepted for compatibility with the original, where it also has no effect.
    buffer_size: int = attrs.field(default=1000, validator=_int_at_least(1))
    ephemeral: bool = attrs.field(default=False, validator=_instance_of(bool, "true or false"))

    def __attrs_post_init__(self) -> None:
        if self.max_backoff < self.initial_backoff:
            raise InvalidArgumentError(
                f"max_backoff ({self.max_backoff}s) must be >= initial_backoff "
                f"({self.initial_backoff}s)")

    @classmethod
    def create(cls, **options: Any) -> WatchOptions:
        """Build from keyword options, naming any option that does not exist."""
        known = [a.name for a in attrs.fields(cls)]
        for name in options:
            if name not in known:
                raise InvalidArgumentError(
                    f"unknown watch option {name!r}; known options: {', '.join(known)}")
        return cls(**options)
