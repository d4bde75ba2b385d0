"""One message row followed through the network's epochs in plain Python.

``Network._walk`` follows a batch of messages through partitions, extra delay and
reordering with numpy; for a handful of receivers numpy's per-call cost is most of that, so
the small-world planner asks for one sender's row here instead. Every step is the one
``_walk`` takes for a message that is never lost, in the same order (a blocked link holds
the message until the next epoch; an open one delivers it after the link's latency plus the
epoch's extra delay, plus a keyed hold-back where the epoch reorders), so the floats are the
same to the bit. Loss is not followed here: its retry count needs numpy's logarithm, so a
link that loses messages in an epoch a message meets raises ``LossyLink``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sim.engine.rng import keyed_uniform_int
from sim.net.epoch import Epoch

INF = math.inf


class LossyLink(ValueError):
    """A message met a link that loses messages: only ``Network.arrivals`` answers that."""


def walk_row(epochs: Sequence[Epoch], salts: Sequence[int], sender: int, send_time: float,
             latencies: Sequence[float], mixed: Sequence[int], reorder_hold: float) -> list[float]:
    """Arrival time at each receiver of one message ``sender`` sent at ``send_time`` while it
    was online; ``latencies`` and ``mixed`` (link key ^ message key) are per receiver,
    ``salts`` per epoch."""
    last = len(epochs) - 1
    ends = [epoch.start for epoch in epochs[1:]] + [INF]
    rows = [(epoch.blocked[sender].tolist(), epoch.extra[sender].tolist(), epoch.drop[sender].tolist(),
             epoch.reorder[sender].tolist() if epoch.reorder.any() else None) for epoch in epochs]
    out = []
    for receiver, latency in enumerate(latencies):
        t = send_time
        arrival = INF
        for index in range(last + 1):
            end = ends[index]
            if not t < end or (index > 0 and t < epochs[index].start):
                continue
            blocked, extra, drop, reorder = rows[index]
            if blocked[receiver]:
                t = end  # held until a later epoch opens the link
                continue
            if drop[receiver] > 0:
                raise LossyLink(f"link {sender}->{receiver} loses messages from t={epochs[index].start}")
            delay = latency + extra[receiver]
            if reorder is not None:
                held = keyed_uniform_int(mixed[receiver], 5 + salts[index]) < reorder[receiver]
                hold = keyed_uniform_int(mixed[receiver], 7 + salts[index]) * reorder_hold
                delay = delay + (hold if held else 0.0)
            arrival = t + delay
            break
        out.append(arrival)
    return out
