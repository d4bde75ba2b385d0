"""The simulated network: link latencies, partitions, extra delay, drops, online nodes.

The network never delivers anything itself; it answers "when does a message sent at time
``s`` from node ``j`` arrive at node ``i``?" for whole batches at once (numpy), and the
world schedules what it needs. Link state is a history of epochs, so a message is judged
by the state at its send time: a partition that starts after a vote was sent does not
stop it, and a message sent across a partition arrives at heal + latency (CometBFT keeps
gossiping what a peer lacks). Latencies are keyed draws (``sim.engine.rng.keyed_uniform``) of
the link and the message, so re-planning a height draws the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.engine.rng import RngStreams, splitmix64_int, stable_hash64, stable_hash64_grid
from sim.net.ahead import KINDS, DrawnAhead
from sim.net.epoch import Epoch
from sim.net.latency import DRAW_BLOCK, TABLE_BITS, LatencySampler
from sim.net.redraws import Redraws
from sim.net.walk_matrix import walk_matrix
from sim.net.walk_row import walk_row

_MASK64 = 0xFFFFFFFFFFFFFFFF
GOSSIP_RETRY = 0.1  # seconds before a dropped consensus message is sent again
REORDER_HOLD = 0.5  # a reordered message is held back up to this long


def _epoch_salt(start: float) -> int:
    """A draw salt per epoch: the same epoch gives the same draws whenever it is asked."""
    return int(round(start * 1_000_000)) & 0xFFFFFFFF


class Network:
    """Link state over time and batch arrival-time queries."""

    def __init__(self, names: list[str], latency: Any, drop: float, rng: RngStreams,
                 duplicate: float = 0.0) -> None:
        n = len(names)
        self.names = names
        self.latency = latency
        self.sampler = LatencySampler(latency)
        # (the last epoch is plain, every node is online in it), until change()
        self._fast: tuple[bool, bool] | None = None
        self._kind_keys: dict[str, int] = {}
        self._seed = rng.seed
        self._link_keys = stable_hash64_grid((rng.seed, "link"), names, names)
        self._link_key_rows: list[list[int]] | None = None  # as Python ints, made on first use
        self._link_keys_t: np.ndarray | None = None
        self._ahead = DrawnAhead()  # round-0 draws of the coming heights (small worlds)
        self._redraws = Redraws()  # vote matrices asked for again (re-plans)
        # per epoch but the last: whether its links were plain (fixed once a later epoch
        # starts, as only the last epoch is ever edited)
        self._closed_plain: list[bool] = []
        self.epochs: list[Epoch] = [Epoch(
            0.0,
            np.zeros((n, n), dtype=bool),
            np.zeros((n, n)),
            np.full((n, n), float(drop)),
            np.ones(n, dtype=bool),
            np.full((n, n), float(duplicate)),
            np.zeros((n, n)),
        )]

    # -- state changes (called by the fault layer) ---------------------------------
    @property
    def current(self) -> Epoch:
        return self.epochs[-1]

    def change(self, now: float) -> Epoch:
        """A new epoch starting ``now`` (a copy of the current one) for the caller to edit."""
        self._fast = None
        last = self.epochs[-1]
        if last.start == now:
            return last
        epoch = last.copy(now)
        self._closed_plain.append(last.plain)
        self.epochs.append(epoch)
        return epoch

    def forget_before(self, time: float) -> None:
        """Drop epochs that ended before ``time`` (nothing will be sent then any more)."""
        while len(self.epochs) > 1 and self.epochs[1].start <= time:
            self.epochs.pop(0)  # the last epoch stays: what ``_shape`` says of it holds
            self._closed_plain.pop(0)

    def links_plain_from(self, time: float) -> bool:
        """Whether every epoch a message sent at ``time`` or later meets has plain links (no
        partition, extra delay, loss or reordering): crashes and restarts aside, such a message
        travels a plain network."""
        return self._links_plain_since(self._epoch_index(time))

    def _links_plain_since(self, first: int) -> bool:
        return self._shape()[0] and all(self._closed_plain[first:])

    def _epoch_index(self, time: float) -> int:
        """The epoch ``time`` falls in (the first one for a time before every start)."""
        index = len(self.epochs) - 1
        while index > 0 and self.epochs[index].start > time:
            index -= 1
        return index

    def _online_at_send(self, senders: np.ndarray, send_times: np.ndarray) -> np.ndarray:
        """Per message, whether its sender was online when it was sent (by the epoch its send
        time falls in)."""
        epochs = self.epochs
        if len(epochs) == 1:
            return epochs[0].online[senders]
        starts = np.array([e.start for e in epochs])
        sent_in = np.maximum(np.searchsorted(starts, send_times, side="right") - 1, 0)
        return np.stack([e.online for e in epochs])[sent_in, senders]

    def _shape(self) -> tuple[bool, bool]:
        if self._fast is None:
            last = self.epochs[-1]
            self._fast = (last.plain, last.all_online)
        return self._fast

    def row(self, sender: int, send_time: float, key: int) -> list[float]:
        """Arrival times at every node of one message from ``sender``, in plain Python: the
        same numbers ``arrivals`` gives for that one row (``sim.net.walk_row`` where the
        network is not plain from ``send_time``)."""
        epochs = self.epochs
        fast = self._fast or self._shape()
        if fast[0] and send_time >= epochs[-1].start:  # the common case: a plain network now
            if not epochs[-1].online[sender]:
                return [math.inf] * len(self.names)
            return self._draws(sender, key & _MASK64, send_time)
        sent_in = self._epoch_index(send_time)
        if not epochs[sent_in].online[sender]:  # a crashed node sends nothing
            return [math.inf] * len(self.names)
        k = key & _MASK64
        if self._links_plain_since(sent_in):
            return self._draws(sender, k, send_time)
        latencies = self._draws(sender, k, 0.0)  # 0.0 + latency is the latency, to the bit
        mixed = [link ^ k for link in self._link_rows()[sender]]
        return walk_row(epochs, self._salts(), sender, send_time, latencies, mixed, REORDER_HOLD, GOSSIP_RETRY)

    def rows(self, senders: list[int], send_times: list[float], key: int) -> list[list[float]]:
        """``row`` of each sender's message (one key for all): the small-world planner's rows
        of one vote, in one call. Where every node is online on a plain network and the rows
        were drawn ahead, they are read back at once; else row by row."""
        fast = self._fast or self._shape()
        drawn = self._ahead.rows.get(key & _MASK64)
        if drawn is not None and fast[0] and fast[1] and senders and min(send_times) >= self.epochs[-1].start:
            return [[sent + latency for latency in drawn[sender]]
                    for sender, sent in zip(senders, send_times, strict=True)]
        return [self.row(sender, sent, key) for sender, sent in zip(senders, send_times, strict=True)]

    def _link_rows(self) -> list[list[int]]:
        if self._link_key_rows is None:
            # only the scalar planner (a dozen nodes at most) asks: a thousand-node world
            # would hold a million Python ints for nothing
            self._link_key_rows = self._link_keys.tolist()
        return self._link_key_rows

    def _draws(self, sender: int, k: int, send_time: float) -> list[float]:
        """``send_time`` plus the link latency to every node of the message keyed ``k`` from
        ``sender`` (the draws ``arrivals`` makes, one Python float each)."""
        drawn = self._ahead.rows.get(k)
        if drawn is not None:
            return [send_time + latency for latency in drawn[sender]]
        links = self._link_rows()[sender]
        sampler = self.sampler
        table = sampler.table_list
        if table is not None:
            # The common case, splitmix64_int inlined: a lognormal table lookup reads only the
            # top bits, which splitmix64's last step (z ^ z >> 31) leaves as they are.
            shift = 64 - TABLE_BITS
            row = []
            for link in links:
                z = ((link ^ k) + 0x9E3779B97F4A7C15) & _MASK64
                z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
                z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
                row.append(send_time + table[z >> shift])
            return row
        if sampler.dist == "fixed":
            return [send_time + sampler.constant] * len(links)
        if sampler.dist == "uniform":  # inlined too (property worlds): the whole splitmix64
            low, span, unit = sampler.low, sampler.span, 1.0 / float(1 << 53)
            row = []
            for link in links:
                z = ((link ^ k) + 0x9E3779B97F4A7C15) & _MASK64
                z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
                z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
                row.append(send_time + (low + span * ((float((z ^ (z >> 31)) >> 11) + 0.5) * unit)))
            return row
        one = sampler.one
        return [send_time + one(splitmix64_int(link ^ k)) for link in links]

    def reachable(self, src: int, dst: int) -> bool:
        epoch = self.epochs[-1]
        return bool(epoch.online[src] and epoch.online[dst] and not epoch.blocked[src, dst])

    def both_ways(self, node: int) -> np.ndarray:
        """Indices of the nodes that ``node`` reaches and that reach it (itself excluded)."""
        epoch = self.epochs[-1]
        if not epoch.online[node]:
            return np.empty(0, dtype=np.intp)
        mask = epoch.online & ~epoch.blocked[node] & ~epoch.blocked[:, node]
        mask[node] = False
        return np.flatnonzero(mask)

    def both_ways_rows(self, nodes: np.ndarray) -> np.ndarray:
        """``both_ways`` for several online ``nodes`` at once, as a [node, peer] mask (a node's
        own cell may be set: a caller comparing it with itself must not care)."""
        epoch = self.epochs[-1]
        mask: np.ndarray = epoch.online[None, :] & ~epoch.blocked[nodes] & ~epoch.blocked[:, nodes].T
        return mask

    # -- arrival times ---------------------------------------------------------------
    def message_key(self, kind: str, height: int, round_: int) -> int:
        """The key of one consensus message: (kind, height, round) mixed under the seed.

        Plain integer mixing (splitmix64 steps), not a text hash: it is asked three times a
        round."""
        if round_ == 0:
            drawn = self._ahead.keys.get((kind, height))
            if drawn is not None:
                return drawn
        z = self._kind_key(kind)
        for part in (height, round_):
            z = (z + (part + 1) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
            z ^= z >> 31
        return z

    def _kind_key(self, kind: str) -> int:
        base = self._kind_keys.get(kind)
        if base is None:
            base = self._kind_keys[kind] = stable_hash64(self._seed, "msg", kind)
        return base

    def draw_ahead(self, height: int) -> None:
        """Draw the round-0 latencies of heights ``height`` onwards at once, unless drawn
        already (``sim.net.ahead``): ``row`` and ``message_key`` then read them."""
        if not self._ahead.covers(height):
            self._ahead.draw(height, {kind: self._kind_key(kind) for kind in KINDS}, self._link_keys, self.sampler)

    def arrivals(self, senders: np.ndarray, send_times: np.ndarray, key: int | np.ndarray,
                 receivers: np.ndarray | None = None) -> np.ndarray:
        """Arrival times [sender row, receiver] of one message per sender; inf = never.

        ``key`` names the message (one for all rows, or one per row as a uint64 array).
        """
        per_row = isinstance(key, np.ndarray)
        epochs = self.epochs
        last = epochs[-1]
        # Messages whose epochs change no link (a healed network whose past is still kept, or
        # crashes and restarts alone) arrive as on a plain network: ``_walk`` would add zero
        # retries and zero extra delay to the same draws, and drop what a down sender sent.
        first_sent = float(send_times.min()) if len(send_times) else math.inf
        if self.links_plain_from(first_sent):
            out = self._plain_arrivals(senders, send_times, key, receivers)
            if not (self._shape()[1] and first_sent >= last.start):  # someone may have been down
                out[~self._online_at_send(senders, send_times)] = math.inf
            return out
        keys = self._link_keys[senders] if receivers is None else \
            self._link_keys[np.ix_(senders, receivers)]
        mixer = key[:, None] if per_row else np.uint64(key & _MASK64)  # type: ignore[index]
        base = np.empty(keys.shape)
        self._draw_in_blocks(keys, mixer, base)
        cols = slice(None) if receivers is None else receivers
        return self._walk(senders, send_times, cols, keys, mixer, base)

    def _plain_arrivals(self, senders: np.ndarray, send_times: np.ndarray, key: int | np.ndarray,
                        receivers: np.ndarray | None) -> np.ndarray:
        """Send time plus latency for every (sender, receiver), drawn a block of receivers at a
        time. Built receiver by receiver and returned as its transpose (a view indexed [sender,
        receiver] like any other): the quorum of each receiver is then an order statistic
        over contiguous memory, twice as fast for a thousand nodes."""
        every_sender = len(senders) == len(self.names) and bool((senders == np.arange(len(senders))).all())
        if receivers is None and not isinstance(key, np.ndarray) and 2 * len(senders) >= len(self.names):
            drawn = self._drawn_before(key & _MASK64)
            if drawn is not None:
                if every_sender:
                    return np.add(drawn, send_times[None, :]).T
                out = np.take(drawn, senders, axis=1)  # (``drawn[:, senders]`` is laid out by sender)
                out += send_times[None, :]
                return out.T
        out = np.empty((len(self.names) if receivers is None else len(receivers), len(senders)))
        step = max(1, DRAW_BLOCK // max(len(senders), 1))
        mixer = key[None, :] if isinstance(key, np.ndarray) else np.uint64(key & _MASK64)
        keys_by_receiver = self._keys_by_receiver()
        for start in range(0, len(out), step):
            links = keys_by_receiver[start:start + step] if receivers is None else \
                keys_by_receiver[receivers[start:start + step]]
            if not every_sender:
                links = links[:, senders]
            block = out[start:start + step]
            self.sampler.keyed(links, mixer, block)
            block += send_times[None, :]
        return out.T

    def _drawn_before(self, key: int) -> np.ndarray | None:
        """The whole latency matrix [receiver, sender] of the vote ``key`` when it was asked
        for before (a re-plan): kept from its second request (``sim.net.redraws``), drawn
        whole once then; None the first time."""
        kept = self._redraws.get(key)
        if kept is not None:
            return kept
        n = len(self.names)
        if not self._redraws.worth_keeping(key, n * n * 8):
            return None
        matrix = np.empty((n, n))
        self._draw_in_blocks(self._keys_by_receiver(), np.uint64(key), matrix)
        self._redraws.keep(key, matrix)
        return matrix

    def _draw_in_blocks(self, keys: np.ndarray, mixer: np.ndarray | np.uint64, out: np.ndarray) -> None:
        """``out`` = the latencies of links ``keys`` for message key ``mixer`` (one, or one per
        row as a column), drawn a block of rows at a time in place: the blocks stay in cache."""
        step = max(1, DRAW_BLOCK // max(keys.shape[1], 1))
        for start in range(0, len(keys), step):
            part = mixer[start:start + step] if isinstance(mixer, np.ndarray) else mixer
            self.sampler.keyed(keys[start:start + step], part, out[start:start + step])

    def _keys_by_receiver(self) -> np.ndarray:
        """The link keys transposed ([receiver, sender]), made once."""
        if self._link_keys_t is None:
            self._link_keys_t = np.ascontiguousarray(self._link_keys.T)
        return self._link_keys_t

    def _walk(self, senders: np.ndarray, send_times: np.ndarray, cols: Any, keys: np.ndarray,
              mixer: np.ndarray | np.uint64, base: np.ndarray) -> np.ndarray:
        """Arrival times when some epoch has a partition, loss, extra delay or reordering
        (``sim.net.walk_matrix``); ``base`` holds the links' latencies, ``keys`` ^ ``mixer``
        keys the draws of loss and reordering."""
        return walk_matrix(self.epochs, self._salts(),
                           self._online_at_send(senders, send_times), senders, send_times, cols, keys, mixer,
                           base, retry_every=GOSSIP_RETRY, reorder_hold=REORDER_HOLD)

    def _salts(self) -> list[int]:
        """Each epoch's draw salt, for the walks."""
        return [_epoch_salt(epoch.start) for epoch in self.epochs]

    def duplicate_chance(self, senders: np.ndarray, receiver: int, send_times: np.ndarray) -> np.ndarray | None:
        """Per message, the chance its link duplicated it when it was sent (None: no link
        duplicates anything in the history kept)."""
        if not any(e.duplicate.any() for e in self.epochs):
            return None
        chance = np.zeros(len(senders))
        for e_index, epoch in enumerate(self.epochs):
            end = self.epochs[e_index + 1].start if e_index + 1 < len(self.epochs) else math.inf
            rows = (send_times < end) & ((send_times >= epoch.start) | (e_index == 0))
            chance[rows] = epoch.duplicate[senders[rows], receiver]
        return chance

    def one(self, src: int, dst: int, send_time: float, key: int) -> float:
        """Arrival time of one message (e.g. a tx or a block-sync response)."""
        return float(self.arrivals(np.array([src]), np.array([send_time]), key,
                                   np.array([dst]))[0, 0])
