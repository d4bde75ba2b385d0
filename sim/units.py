"""Parsing of the unit-bearing strings used in scenario files: durations, rates, fractions.

Each parser raises ``ValueError`` with a short description of the accepted form; the table
reader (``sim.tables``) turns that into a ``ScenarioError`` naming the key path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|min|h)\s*$")
_RATE_SCALE = {"s": 1.0, "min": 60.0, "h": 3600.0}
_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_duration(text: str) -> float:
    """``"250ms"``, ``"6s"``, ``"10m"``, ``"64h"``, ``"1d"`` -> seconds (a float >= 0)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError('a duration with a unit, like "250ms", "6s", "10m" or "64h"')
    seconds = float(match.group(1)) * _SCALE[match.group(2)]
    if not math.isfinite(seconds):  # hundreds of digits overflow a float
        raise ValueError('a duration with a unit, like "250ms", "6s", "10m" or "64h"')
    return seconds


def format_duration(seconds: float) -> str:
    """The inverse of ``parse_duration``, choosing the largest unit that keeps it exact."""
    for unit, scale in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        value = seconds / scale
        if value >= 1 and value == int(value):
            return f"{int(value)}{unit}"
    millis = seconds * 1000.0
    if millis == int(millis):
        return f"{int(millis)}ms"
    return f"{seconds!r}s"


def parse_rate(text: str) -> float:
    """``"2/min"``, ``"1/s"``, ``"3/h"`` -> events per second."""
    match = _RATE.match(text)
    if match is None:
        raise ValueError('a rate like "1/s", "2/min" or "3/h"')
    per_second = float(match.group(1)) / _RATE_SCALE[match.group(2)]
    if not math.isfinite(per_second):
        raise ValueError('a rate like "1/s", "2/min" or "3/h"')
    return per_second


def parse_fraction(text: str) -> Fraction:
    """``"2/3"`` -> ``Fraction(2, 3)``; only proper fractions in [0, 1] are accepted."""
    match = _FRACTION.match(text)
    if match is None:
        raise ValueError('a fraction "num/den" between 0 and 1, like "2/3"')
    num, den = int(match.group(1)), int(match.group(2))
    if den == 0 or num > den:
        raise ValueError('a fraction "num/den" between 0 and 1, like "2/3"')
    return Fraction(num, den)


def format_fraction(value: Fraction) -> str:
    """``Fraction(2, 3)`` -> ``"2/3"`` (``1`` is written ``"1/1"``)."""
    return f"{value.numerator}/{value.denominator}"


# -- exact text forms: written so that parsing them gives back the same float ------------
def _plain(value: float) -> str:
    # The shortest repr reads back as the same float; Decimal only removes any exponent,
    # which the duration and rate grammars do not accept.
    return format(Decimal(repr(value)), "f")


def _exact(text: str, parse: Callable[[str], float], value: float) -> bool:
    try:
        return parse(text) == value
    except ValueError:
        return False


def duration_text(seconds: float) -> str:
    """A duration string that ``parse_duration`` reads back as exactly ``seconds``."""
    text = format_duration(seconds)
    return text if _exact(text, parse_duration, seconds) else f"{_plain(seconds)}s"


def rate_text(per_second: float) -> str:
    """A rate string (``"2/min"``) that ``parse_rate`` reads back as exactly ``per_second``."""
    for unit, scale in (("s", 1.0), ("min", 60.0), ("h", 3600.0)):
        count = per_second * scale
        if count == int(count) and _exact(f"{int(count)}/{unit}", parse_rate, per_second):
            return f"{int(count)}/{unit}"
    return f"{_plain(per_second)}/s"
