"""The benchmarks' yardstick: CPU seconds SimPy takes for one million timeouts, in a fresh
process. The issue's targets were set where it took 0.85 s; a figure measured beside it can
be scaled to that machine (a shared machine's speed moves by 2x from one day to the next,
and by a third from one minute to the next: ``bracketed`` measures it on both sides of the
work and takes the mean)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

REFERENCE = 0.85  # seconds the yardstick took where the targets were set

_CODE = """
import time, simpy
def ticker(env, n):
    for _ in range(n):
        yield env.timeout(1)
env = simpy.Environment()
env.process(ticker(env, 1_000_000))
started = time.process_time()
env.run()
print(time.process_time() - started)
"""


def simpy_seconds() -> float:
    """CPU seconds SimPy takes for one million timeouts, in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, check=True)
    return float(proc.stdout.strip())


def at_reference(rate: float, simpy: float) -> float:
    """A rate (things per second) measured beside a yardstick of ``simpy`` seconds, as it
    would be where the yardstick took ``REFERENCE``."""
    return rate * simpy / REFERENCE


def bracketed(work: Callable[[], T]) -> tuple[T, float, str]:
    """``work()``'s result, the mean of the yardstick measured just before and just after it,
    and both readings as text for the report (a wide pair says the machine's speed moved)."""
    before = simpy_seconds()
    result = work()
    after = simpy_seconds()
    return result, (before + after) / 2, f"SimPy, 1M timeouts: {before:.2f} s before, {after:.2f} s after"
