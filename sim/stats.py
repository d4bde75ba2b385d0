"""Small statistics over a run's numbers, as the summary reports them."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.floatlog import FloatLog, values_percentile


def percentile(values: Any, q: float) -> float | None:
    """numpy's default (linear interpolation between ranks); None when there are no values.
    A ``FloatLog`` is read a chunk at a time (the same number, without a copy of it all)."""
    if isinstance(values, FloatLog):
        return round(values.percentile(q), 9) if len(values) else None
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return None
    return round(values_percentile(array.ravel(), q), 9)


def mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 9) if values else None
