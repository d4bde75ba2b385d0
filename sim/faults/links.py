"""Link faults in force: each active partition, delay, loss, duplication or reordering fault
with its links and value, and the network's own settings under them.

A link's state is recomputed from the network's own settings plus every fault still active on
it: a link is cut while any partition cuts it (so one partition ending never reopens a link
another still cuts); delays add up; loss, duplication and reordering chances combine as
independent events.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import numpy as np

if TYPE_CHECKING:
    from sim.net.epoch import Epoch


@attrs.define(eq=False)
class _LinkFault:
    table: str  # "blocked" | "extra" | "drop" | "duplicate" | "reorder"
    mask: np.ndarray  # bool [src, dst]
    value: float


class LinkFaults:
    """The link faults active in one world, and the network's own settings under them."""

    def __init__(self, current: Epoch, change_network: Callable[[], Epoch],
                 network_changed: Callable[[], None]) -> None:
        self._change_network = change_network
        self._network_changed = network_changed
        epoch = current
        self._base = {"extra": np.zeros_like(epoch.extra), "drop": epoch.drop.copy(),
                      "duplicate": epoch.duplicate.copy(), "reorder": np.zeros_like(epoch.reorder)}
        self._active: dict[int, _LinkFault] = {}
        self._ids = itertools.count(1)

    def add(self, table: str, mask: np.ndarray, value: float) -> int:
        fault_id = next(self._ids)
        self._active[fault_id] = _LinkFault(table, mask, value)
        self._apply()
        return fault_id

    def end(self, fault_id: int) -> None:
        if self._active.pop(fault_id, None) is not None:
            self._apply()

    def end_all(self) -> None:
        self._active.clear()
        self._apply()

    def _apply(self) -> None:
        epoch = self._change_network()
        epoch.blocked[:] = False
        epoch.extra[:] = self._base["extra"]
        for table in ("drop", "duplicate", "reorder"):
            getattr(epoch, table)[:] = self._base[table]
        for fault in self._active.values():
            values = getattr(epoch, fault.table)
            if fault.table == "blocked":
                values[fault.mask] = True
            elif fault.table == "extra":
                values[fault.mask] += fault.value
            else:  # independent chances: 1 - (1 - a)(1 - b)
                values[fault.mask] = 1.0 - (1.0 - values[fault.mask]) * (1.0 - fault.value)
        self._network_changed()
