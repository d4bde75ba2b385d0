"""Resolution types: how many votes an event needs, when it expires, what passing does.

A resolution type is kwil's ``ResolutionConfig``; the registry is copied into each world
when it is built (many worlds may run in one process), so nothing here is global state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Protocol

import attrs

DEFAULT_CONFIRMATION = Fraction(2, 3)
DEFAULT_REFUND = Fraction(1, 1)
DEFAULT_EXPIRATION = 14400
VALIDATOR_JOIN = "validator_join"
VALIDATOR_REMOVE = "validator_remove"
RECURRING_TYPES = frozenset({VALIDATOR_JOIN, VALIDATOR_REMOVE})


class StateWriter(Protocol):
    """What a resolve function may touch: the application state of the chain."""

    def credit(self, account: str, amount: int) -> None: ...
    def put(self, key: str, value: bytes) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def set_power(self, validator: str, power: int) -> None: ...


@attrs.frozen
class ResolveContext:
    """Handed to a resolve function when its resolution passes."""

    resolution_id: str
    event_type: str
    body: bytes
    height: int
    state: StateWriter


ResolveFunc = Callable[[ResolveContext], None]


def record_body(ctx: ResolveContext) -> None:
    """The default resolve function: record the body in the application state."""
    ctx.state.put(f"resolved/{ctx.event_type}/{ctx.resolution_id}", ctx.body)


@attrs.frozen
class ResolutionConfig:
    """kwil's ResolutionConfig: thresholds are exact fractions of total voting power."""

    resolve_func: ResolveFunc = record_body
    confirmation_threshold: Fraction = DEFAULT_CONFIRMATION
    refund_threshold: Fraction = DEFAULT_REFUND
    expiration_period: int = DEFAULT_EXPIRATION

    def __attrs_post_init__(self) -> None:
        if not (0 < self.confirmation_threshold <= 1):
            raise ValueError(f"confirmation_threshold must be in (0, 1], got {self.confirmation_threshold}")
        if not (0 <= self.refund_threshold <= 1):
            raise ValueError(f"refund_threshold must be in [0, 1], got {self.refund_threshold}")
        if self.expiration_period < 1:
            raise ValueError(f"expiration_period must be >= 1 block, got {self.expiration_period}")


def required_power(total_power: int, threshold: Fraction) -> int:
    """ceil(total × threshold), in exact integer arithmetic (10 × 2/3 → 7)."""
    return -((-total_power * threshold.numerator) // threshold.denominator)


def threshold_met(approved: int, total_power: int, threshold: Fraction) -> bool:
    return approved >= required_power(total_power, threshold)


@attrs.frozen
class ResolutionTypes:
    """The resolution types one world knows, by name."""

    types: Mapping[str, ResolutionConfig]

    def get(self, name: str) -> ResolutionConfig:
        try:
            return self.types[name]
        except KeyError:
            known = ", ".join(sorted(self.types)) or "none"
            raise KeyError(f"resolution type {name!r} is not registered (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def names(self) -> list[str]:
        return sorted(self.types)

