"""One stretch of the network's history: the link state from its start until the next one.

``Network`` keeps a list of epochs (``sim/net/network.py``); a message is judged by the epochs
it meets from its send time on (``Network._walk``, ``sim/net/walk_row.py``).
"""

from __future__ import annotations

import attrs
import numpy as np


@attrs.define(eq=False)
class Epoch:
    """The network's state from ``start`` until the next epoch."""

    start: float
    blocked: np.ndarray  # bool [src, dst]: messages on this link are held
    extra: np.ndarray  # float [src, dst]: added delay, seconds
    drop: np.ndarray  # float [src, dst]: probability a send is lost (and retried)
    online: np.ndarray  # bool [node]: crashed nodes send nothing
    duplicate: np.ndarray  # float [src, dst]: probability a tx is delivered twice
    reorder: np.ndarray  # float [src, dst]: probability a message is held back (overtaken)

    def copy(self, start: float) -> Epoch:
        return Epoch(start, self.blocked.copy(), self.extra.copy(), self.drop.copy(),
                     self.online.copy(), self.duplicate.copy(), self.reorder.copy())

    @property
    def plain(self) -> bool:
        """No partition, extra delay, drop or reordering anywhere (the fast path)."""
        return not (self.blocked.any() or self.extra.any() or self.drop.any() or self.reorder.any())

    @property
    def all_online(self) -> bool:
        return bool(self.online.all())
