"""Small statistics over a run's numbers, as the summary reports them."""

from __future__ import annotations

from typing import Any

import numpy as np


def percentile(values: Any, q: float) -> float | None:
    """numpy's default (linear interpolation between ranks); None when there are no values."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return None
    return round(float(np.percentile(array, q)), 9)


def mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 9) if values else None
