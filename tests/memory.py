"""Measuring what a piece of code leaves allocated, for the tests that memory stays flat."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retained(build: Callable[[], T]) -> tuple[T, int]:
    """What ``build()`` returns, and the bytes it allocated that are still held afterwards."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        value = build()
        return value, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def peak(work: Callable[[], T]) -> tuple[T, int]:
    """What ``work()`` returns, and the most bytes it had allocated at once while it ran."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        value = work()
        return value, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
