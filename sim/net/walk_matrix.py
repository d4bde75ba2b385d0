"""A batch of messages followed through the network's epochs with numpy (``Network._walk``).

Where some epoch a message meets has a partition, loss, extra delay or reordering, its arrival
is not send time plus latency: this follows each message of a [sender, receiver] matrix epoch
by epoch. ``walk_row`` takes the same steps for one row in plain Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.engine.rng import keyed_uniform
from sim.net.epoch import Epoch


def walk_matrix(epochs: Sequence[Epoch], salts: Sequence[int], online_at_send: np.ndarray, senders: np.ndarray,
                send_times: np.ndarray, cols: Any, keys: np.ndarray, mixer: np.ndarray | np.uint64,
                base: np.ndarray, *, retry_every: float, reorder_hold: float) -> np.ndarray:
    """Arrival times when some epoch has a partition, loss, extra delay or reordering.

    Each message is followed through the epochs from its send time: while its link is
    blocked it waits for the next epoch (it is sent again once the link heals); in an epoch
    that loses messages with probability p it is re-sent every ``retry_every`` seconds until
    an attempt gets through, each attempt judged by the epoch it falls in; the attempt that
    gets through arrives after the link's latency (``base``) plus that epoch's extra delay,
    plus a hold-back of up to ``reorder_hold`` seconds when the epoch reorders. Loss and
    reordering draws are keyed by ``keys ^ mixer`` and the epoch's salt, so re-planning gives
    the same answers.
    """
    shape = base.shape
    mixed: np.ndarray | None = None  # link key ^ message key: made only for loss or reordering
    out = np.full(shape, math.inf)
    t = np.broadcast_to(send_times[:, None], shape).astype(float)  # (a copy)
    t[~online_at_send] = math.inf  # a crashed node sends nothing
    pending = np.isfinite(t)
    for e_index, epoch in enumerate(epochs):
        if not pending.any():
            break
        end = epochs[e_index + 1].start if e_index + 1 < len(epochs) else math.inf
        here = pending & (t < end)
        if e_index > 0:
            here &= t >= epoch.start
        if not here.any():
            continue
        rows: Any = np.flatnonzero(here.any(axis=1))
        if len(rows) == shape[0]:
            rows = slice(None)  # every row (a partition's usual case): views, not copies
        sub = here[rows]
        t_rows = t[rows]
        blocked = epoch.blocked[senders[rows]][:, cols] & sub
        t_rows[blocked] = end  # held until a later epoch opens the link
        trying = sub & ~blocked
        if trying.any():
            drop = epoch.drop[senders[rows]][:, cols]
            lossy = trying & (drop > 0)
            success = t_rows.copy()  # when the attempt that gets through is sent
            if lossy.any():
                retries = np.zeros(trying.shape)
                mixed = _mixed(keys, mixer) if mixed is None else mixed
                u = keyed_uniform(mixed[rows], 3 + salts[e_index])
                with np.errstate(divide="ignore", invalid="ignore"):
                    k = np.floor(np.log(u) / np.log(np.clip(drop, 1e-300, 1.0)))
                k[drop >= 1.0] = math.inf
                retries[lossy] = k[lossy]
                success += retry_every * retries
            through = trying & (success < end)
            late = trying & ~through  # every attempt in this epoch was lost: go on trying
            t_rows[late] += retry_every * np.ceil((end - t_rows[late]) / retry_every)
            if through.any():
                # (adding no extra delay to a latency leaves it as it is: skipped)
                delay = base[rows] + epoch.extra[senders[rows]][:, cols] if epoch.extra.any() else base[rows]
                if epoch.reorder.any():
                    mixed = _mixed(keys, mixer) if mixed is None else mixed
                    reorder = epoch.reorder[senders[rows]][:, cols]
                    held = keyed_uniform(mixed[rows], 5 + salts[e_index]) < reorder
                    hold = keyed_uniform(mixed[rows], 7 + salts[e_index]) * reorder_hold
                    delay = delay + np.where(held, hold, 0.0)
                out_rows = out[rows]
                np.copyto(out_rows, success + delay, where=through)
                pending_rows = pending[rows]
                pending_rows[through] = False
                if not isinstance(rows, slice):  # (a slice gave views: written already)
                    out[rows] = out_rows
                    pending[rows] = pending_rows
        if not isinstance(rows, slice):
            t[rows] = t_rows
    return out


def _mixed(keys: np.ndarray, mixer: np.ndarray | np.uint64) -> np.ndarray:
    """Link key ^ message key: what loss and reordering draws are keyed by."""
    with np.errstate(over="ignore"):
        return keys ^ mixer
