"""One message row followed through the network's epochs in plain Python.

``Network._walk`` follows a batch of messages through partitions, loss, extra delay and
reordering with numpy; for a handful of receivers numpy's per-call cost is most of that, so
the small-world planner asks for one sender's row here instead. Every step is the one
``_walk`` takes, in the same order (a blocked link holds the message until the next epoch; a
lossy one lets a keyed number of re-sends fail, or every one until the epoch ends; an open
one delivers it after the link's latency plus the epoch's extra delay, plus a keyed
hold-back where the epoch reorders), so the floats are the same to the bit.

The one step plain Python cannot take alone is the logarithm of a retry count: where numpy's
is a SIMD routine (as on an AVX-512 machine) it differs from ``math.log`` in the last bit for
about one value in three hundred, so ``_retries`` asks numpy for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.engine.rng import keyed_uniform_int
from sim.net.epoch import Epoch

INF = math.inf


def _retries(u: float, drop: float) -> float:
    """How many sends of a message fail on a link losing each with probability ``drop``:
    ``floor(log u / log drop)`` with numpy's logarithm, as ``Network._walk`` draws it
    (every send fails where ``drop`` is 1)."""
    if drop >= 1.0:
        return INF
    log_u, log_drop = np.log(np.array((u, max(drop, 1e-300)))).tolist()
    return float(math.floor(log_u / log_drop))


def walk_row(epochs: Sequence[Epoch], salts: Sequence[int], sender: int, send_time: float,
             latencies: Sequence[float], mixed: Sequence[int], reorder_hold: float,
             retry_every: float) -> list[float]:
    """Arrival time at each receiver of one message ``sender`` sent at ``send_time`` while it
    was online; ``latencies`` and ``mixed`` (link key ^ message key) are per receiver,
    ``salts`` per epoch; a lost send is repeated ``retry_every`` seconds later."""
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
            success = t
            if drop[receiver] > 0:
                u = keyed_uniform_int(mixed[receiver], 3 + salts[index])
                success = t + retry_every * _retries(u, drop[receiver])
                if not success < end:
                    # every send in this epoch was lost: the next one falls in a later epoch
                    waited = (end - t) / retry_every
                    t += retry_every * (float(math.ceil(waited)) if math.isfinite(waited) else waited)
                    continue
            delay = latency + extra[receiver]
            if reorder is not None:
                held = keyed_uniform_int(mixed[receiver], 5 + salts[index]) < reorder[receiver]
                hold = keyed_uniform_int(mixed[receiver], 7 + salts[index]) * reorder_hold
                delay = delay + (hold if held else 0.0)
            arrival = success + delay
            break
        out.append(arrival)
    return out
