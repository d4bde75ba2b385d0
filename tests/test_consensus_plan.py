"""Round timing of the consensus planner against CometBFT's timing rules."""

import math
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.consensus.planner import Absences, Timeouts, plan_height, quorum_times
from sim.engine.rng import RngStreams
from sim.net.epoch import Epoch
from sim.net.network import Network

L = 0.05


def network(n: int, latency: object = None) -> Network:
    latency = latency or types.SimpleNamespace(dist="fixed", value=L)
    return Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(3))


def heal_after_partition(net: Network, split_at: float, heal_at: float) -> Epoch:
    """A partition of the first half from the second, with loss and extra delay, from
    ``split_at`` until a plain network at ``heal_at`` (the epoch returned)."""
    n = len(net.names)
    split = net.change(split_at)
    split.blocked[: n // 2, n // 2:] = True
    split.drop[:, 0] = 0.5
    split.extra[:, 0] = 0.3
    healed = net.change(heal_at)
    healed.blocked[:] = False
    healed.drop[:] = 0.0
    healed.extra[:] = 0.0
    return healed


def plan(net: Network, entry: list[float], powers: list[int] | None = None, height: int = 1,
         absences: Absences | None = None):
    n = len(entry)
    p = np.array(powers or [1] * n)
    return plan_height(height, np.array(entry, dtype=float), p, int(p.sum()), lambda r: r % n,
                       Timeouts(), net, absences=absences)


def test_four_equal_validators_commit_after_three_latencies() -> None:
    result = plan(network(4), [0.0] * 4)
    assert result.decided_round == 0
    assert np.allclose(result.commit, 3 * L)


def test_offline_round0_proposer_costs_propose_plus_two_latencies_plus_precommit() -> None:
    net = network(4)
    net.current.online[0] = False
    result = plan(net, [math.inf, 0.0, 0.0, 0.0])
    t = Timeouts()
    assert result.decided_round == 1
    assert result.rounds[1].proposer == 1
    assert np.allclose(result.commit[1:], 3 * L + t.propose + 2 * L + t.precommit)


def test_partition_isolating_more_than_a_third_stops_commits() -> None:
    net = network(4)
    epoch = net.current
    epoch.blocked[:2, 2:] = True
    epoch.blocked[2:, :2] = True
    result = plan(net, [0.0] * 4)
    assert np.all(np.isinf(result.commit))


def test_heal_lets_the_height_commit_after_the_heal() -> None:
    net = network(4)
    epoch = net.change(0.0)
    epoch.blocked[:2, 2:] = True
    epoch.blocked[2:, :2] = True
    healed = net.change(20.0)
    healed.blocked[:] = False
    result = plan(net, [0.0] * 4)
    assert np.all(result.commit > 20.0) and np.all(np.isfinite(result.commit))


def test_replanning_is_causal_for_messages_sent_before_a_partition() -> None:
    net = network(4)
    before = plan(net, [0.0] * 4)
    epoch = net.change(1.0)  # a partition after the height committed changes nothing
    epoch.blocked[:2, 2:] = True
    after = plan(net, [0.0] * 4)
    assert np.array_equal(before.commit, after.commit)


def test_what_a_node_sent_before_it_left_the_height_still_counts() -> None:
    """Three equal validators need every vote. v2 leaves after its precommit (sent at 2L): the
    others still commit at 3L, as in CometBFT, where messages already sent arrive. Planning
    v2 as absent (the old re-plan after a crash) decided nothing; leaving before the precommit
    still decides nothing, and the leaver never commits."""
    net = network(3)
    away = Absences(np.array([math.inf, math.inf, 2.5 * L]), np.full(3, math.inf))
    after_precommit = plan(net, [0.0] * 3, absences=away)
    assert after_precommit.decided_round == 0
    assert np.allclose(after_precommit.commit[:2], 3 * L) and math.isinf(after_precommit.commit[2])
    assert np.isinf(plan(net, [0.0, 0.0, math.inf]).commit).all()
    away.down[2] = 1.5 * L  # after its prevote, before its precommit
    before_precommit = plan(net, [0.0] * 3, absences=away)
    assert np.isinf(before_precommit.commit).all()


def test_a_proposer_that_left_proposes_nothing() -> None:
    net = network(4)
    away = Absences(np.array([0.0, math.inf, math.inf, math.inf]), np.full(4, math.inf))  # v0, round 0's proposer
    result = plan(net, [0.0] * 4, absences=away)
    assert math.isinf(result.rounds[0].proposal_time)
    assert result.decided_round == 1 and math.isinf(result.commit[0])


def test_a_node_back_in_the_height_does_what_it_missed_on_its_return() -> None:
    """v2 (of three equal validators) is away from 1.5L to 10L, between its prevote and its
    precommit: it precommits on its return (its WAL gives it its round back and its peers send
    it the votes again), so the height commits in round 0, still counting the prevote v2 sent
    before it went: v0 and v1 at 10L + L, when v2's precommit arrives, and v2 at once (the
    others' precommits are already there)."""
    net = network(3)
    away = Absences(np.array([math.inf, math.inf, 1.5 * L]), np.array([math.inf, math.inf, 10 * L]))
    result = plan(net, [0.0] * 3, absences=away)
    assert result.decided_round == 0
    assert np.allclose(result.commit, [11 * L, 11 * L, 10 * L])


@pytest.mark.parametrize(("powers", "expected_index"), [([1, 1, 1, 1], 2), ([5, 1, 1, 1], 1)])
def test_quorum_is_a_weighted_order_statistic(powers: list[int], expected_index: int) -> None:
    arrivals = np.array([[1.0], [2.0], [3.0], [4.0]])
    times = quorum_times(arrivals, np.array(powers), sum(powers))
    assert times[0] == arrivals[expected_index, 0]


def test_lognormal_latency_draws_depend_only_on_link_and_message() -> None:
    model = types.SimpleNamespace(dist="lognormal", median=0.08, sigma=0.6)
    a = network(5, model).arrivals(np.array([0, 1]), np.array([0.0, 0.0]), 42)
    b = network(5, model).arrivals(np.array([1]), np.array([0.0]), 42)
    assert np.array_equal(a[1], b[0])
    assert np.median(network(50, model).arrivals(np.arange(50), np.zeros(50), 7)) == pytest.approx(0.08, rel=0.1)



def test_worlds_share_one_read_only_quantile_table_per_lognormal() -> None:
    """The 2^16-entry table is built once per (median, sigma) and shared by every world (it was
    half of a short sweep run); shared, it must be read-only, and it is the exact quantiles."""
    from statistics import NormalDist

    from sim.net.latency import LatencySampler

    model = types.SimpleNamespace(dist="lognormal", median=0.08, sigma=0.6)
    first, second = LatencySampler(model), LatencySampler(types.SimpleNamespace(**vars(model)))
    assert first.table is second.table and first.table is not None
    with pytest.raises(ValueError, match="read-only"):
        first.table[0] = 1.0
    size = len(first.table)
    for i in (0, 1234, size // 2, size - 1):
        assert first.table[i] == pytest.approx(0.08 * math.exp(0.6 * NormalDist().inv_cdf((i + 0.5) / size)),
                                               rel=1e-12)


@settings(max_examples=50, deadline=None, database=None)
@given(seed=st.integers(0, 2**64 - 1), rows=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4),
       cols=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4))
def test_link_keys_are_computed_in_bulk_to_the_same_bits(seed: int, rows: list[str], cols: list[str]) -> None:
    """The link-key grid (one key per ordered pair of nodes) equals ``stable_hash64`` cell by
    cell, for any seed and names: the bulk path changes no draw and so no trace hash."""
    from sim.engine.rng import stable_hash64, stable_hash64_grid

    grid = stable_hash64_grid((seed, "link"), rows, cols)
    assert grid.dtype == np.uint64 and grid.shape == (len(rows), len(cols))
    assert [[int(v) for v in row] for row in grid] == [[stable_hash64(seed, "link", a, b) for b in cols]
                                                       for a in rows]


def _same_plan(a: object, b: object) -> bool:
    return (np.array_equal(a.commit, b.commit) and a.decided_round == b.decided_round  # type: ignore[attr-defined]
            and [(r.round, r.proposer, r.proposal_time) for r in a.rounds]  # type: ignore[attr-defined]
            == [(r.round, r.proposer, r.proposal_time) for r in b.rounds])  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_the_plain_python_planner_gives_the_numpy_planners_plan_to_the_bit(data: st.DataObject) -> None:
    """For any small world on a quiet network, on one whose lossy partition healed before the
    height began, or on one with partitions, loss (partial or total), extra delay,
    reordering, crashes and restarts before and during the height (any entries, powers,
    latency model, offline nodes and rejected proposals), the scalar planner applies and its
    plan equals the numpy planner's exactly: same commit times, rounds, proposers and
    decided round."""
    from sim.consensus import planner_scalar
    from sim.consensus.planner_scalar import plan_height_scalar

    n = data.draw(st.integers(1, 8))
    dist = data.draw(st.sampled_from(["fixed", "uniform", "lognormal"]))
    latency = types.SimpleNamespace(dist=dist, value=0.05, low=0.01, high=0.2, median=0.08, sigma=0.7)
    net = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(data.draw(st.integers(0, 99))))
    start = 0.0
    if data.draw(st.booleans(), label="healed partition in the past"):
        heal_after_partition(net, 2.0, 10.0)
        start = 10.0
    if data.draw(st.booleans(), label="link faults"):
        link_history(net, data, begin=start)  # the height begins before, during and after them
    offline = data.draw(st.sets(st.integers(0, n - 1), max_size=n // 3))
    for i in offline:
        net.current.online[i] = False
    entry = np.array([math.inf if i in offline else start + data.draw(st.sampled_from([0.0, 0.2, 1.5, math.inf]))
                      for i in range(n)])
    assert planner_scalar.applies(n)
    powers = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    accepts = {0: np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))} \
        if data.draw(st.booleans()) else None
    args = (7, entry, powers, int(powers.sum()), lambda r: r % n, Timeouts(), net)
    assert _same_plan(plan_height(*args, accepts=accepts), plan_height_scalar(*args, accepts=accepts))


def test_block_sync_peers_are_the_nodes_reachable_both_ways() -> None:
    """``both_ways`` agrees with ``reachable`` in both directions for every pair, under a
    one-way partition and a crash (block sync asks a peer and needs its answer back)."""
    net = network(5)
    epoch = net.change(10.0)
    epoch.blocked[1, 2] = True  # 1 cannot send to 2: 2 cannot sync from 1, nor 1 from 2
    epoch.online[4] = False
    for i in range(5):
        expected = [j for j in range(5) if j != i and net.reachable(i, j) and net.reachable(j, i)]
        assert net.both_ways(i).tolist() == expected
    assert net.both_ways(2).tolist() == [0, 3] and net.both_ways(4).tolist() == []


@settings(max_examples=60, deadline=None, database=None)
@given(n=st.sampled_from([1, 3, 40, 300]), dist=st.sampled_from(["fixed", "uniform", "lognormal"]),
       seed=st.integers(0, 99), per_row=st.booleans(), subset=st.booleans())
def test_plain_arrivals_drawn_in_blocks_are_the_whole_matrix_draws(n: int, dist: str, seed: int,
                                                                   per_row: bool, subset: bool) -> None:
    """Invariant: on a plain network, arrivals drawn a block of rows at a time (in place, the
    lognormal from splitmix64's top bits only) equal send time + ``sample(splitmix64(link
    key ^ message key))`` over the whole matrix, bit for bit: any size (one block or many),
    latency model, one key or a key per row, all receivers or some."""
    from sim.engine.rng import splitmix64

    latency = types.SimpleNamespace(dist=dist, value=0.05, low=0.01, high=0.2, median=0.08, sigma=0.7)
    net = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(seed))
    rng = np.random.default_rng(seed)
    senders = np.sort(rng.choice(n, size=max(1, n // 2), replace=False))
    receivers = np.sort(rng.choice(n, size=max(1, n // 3), replace=False)) if subset else None
    send = rng.uniform(0, 100, size=len(senders))
    key: int | np.ndarray = rng.integers(0, 2**63, size=len(senders), dtype=np.uint64) if per_row \
        else int(rng.integers(0, 2**63)) * 2 + 1
    keys = net._link_keys[senders] if receivers is None else net._link_keys[np.ix_(senders, receivers)]
    with np.errstate(over="ignore"):
        mixed = keys ^ (key[:, None] if isinstance(key, np.ndarray) else np.uint64(key))
    expected = send[:, None] + net.sampler.sample(splitmix64(mixed))
    assert np.array_equal(net.arrivals(senders, send, key, receivers), expected)


@settings(max_examples=40, deadline=None, database=None)
@given(n=st.integers(1, 12), dist=st.sampled_from(["fixed", "uniform", "lognormal"]), seed=st.integers(0, 99),
       low=st.floats(0.0, 0.1), width=st.floats(0.001, 5.0), send=st.floats(0.0, 1e6))
def test_a_row_in_plain_python_is_the_arrivals_row_bit_for_bit(n: int, dist: str, seed: int, low: float,
                                                                width: float, send: float) -> None:
    """Invariant: ``Network.row`` (the scalar planner's draws, inlined per distribution) gives
    exactly the floats ``Network.arrivals`` gives for that sender and message, for every
    latency model and parameter."""
    latency = types.SimpleNamespace(dist=dist, value=low, low=low, high=low + width, median=low + width,
                                    sigma=0.7)
    net = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(seed))
    for sender in range(n):
        key = net.message_key("prevote", seed + 1, sender)
        expected = net.arrivals(np.array([sender]), np.array([send]), key)[0]
        assert net.row(sender, send, key) == expected.tolist()


@settings(max_examples=40, deadline=None, database=None)
@given(seed=st.integers(0, 2**32), first=st.integers(0, 2**40), round_=st.integers(0, 70),
       kind=st.sampled_from(["proposal", "prevote", "precommit", "other"]))
def test_message_keys_of_many_heights_are_each_heights_key(seed: int, first: int, round_: int, kind: str) -> None:
    """Invariant: the vectorised message keys (``sim.net.ahead.message_keys``) are
    ``Network.message_key`` of each height, bit for bit, for any seed, kind, height and round."""
    from sim.net.ahead import message_keys

    net = Network(["a", "b"], types.SimpleNamespace(dist="fixed", value=L), 0.0, RngStreams(seed))
    heights = np.array([first, first + 1, first + 63, 2 * first + 7], dtype=np.uint64)
    expected = [net.message_key(kind, int(h), round_) for h in heights]
    assert message_keys(net._kind_key(kind), heights, round_).tolist() == expected


@settings(max_examples=40, deadline=None, database=None)
@given(n=st.integers(1, 12), dist=st.sampled_from(["fixed", "uniform", "lognormal"]), seed=st.integers(0, 99),
       first=st.integers(0, 10_000), offset=st.integers(0, 63), send=st.floats(0.0, 1e5))
def test_rows_drawn_ahead_are_the_arrivals_rows_bit_for_bit(n: int, dist: str, seed: int, first: int,
                                                             offset: int, send: float) -> None:
    """Invariant: once the round-0 draws of the coming heights are made at once
    (``Network.draw_ahead``), every message key and row of those heights is what
    ``Network.arrivals`` (and ``message_key`` computed alone) gives, bit for bit, for every
    latency model: round 0 read from the batch, later rounds drawn alone."""
    latency = types.SimpleNamespace(dist=dist, value=0.05, low=0.01, high=0.2, median=0.08, sigma=0.7)
    alone = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(seed))
    net = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(seed))
    net.draw_ahead(first)
    assert net._ahead.covers(first)
    height = net._ahead.first + offset % net._ahead.count  # any height of the batch (from a little before first)
    for kind in ("proposal", "prevote", "precommit"):
        for round_ in (0, 1):
            key = net.message_key(kind, height, round_)
            assert key == alone.message_key(kind, height, round_)
            assert (key in net._ahead.rows) == (round_ == 0)
            for sender in range(n):
                expected = alone.arrivals(np.array([sender]), np.array([send]), key)[0]
                assert net.row(sender, send, key) == expected.tolist()
            # every sender's row at once (the planner's call), each sent at its own time
            senders, times = list(range(n)), [send + 0.25 * i for i in range(n)]
            assert net.rows(senders, times, key) == [alone.arrivals(np.array([s]), np.array([t]), key)[0].tolist()
                                                     for s, t in zip(senders, times, strict=True)]


def test_batches_of_draws_grow_to_sixty_four_heights_and_only_the_newest_is_kept() -> None:
    """Planning heights one after another, each re-planned once after the next, draws a
    batch of 16 heights, then 32, then 64 at a time (not one per height), and the network
    holds one batch whatever the run's length."""
    from sim.net.ahead import KINDS, MOST_HEIGHTS, DrawnAhead

    net = network(4)
    batches = []
    draw = DrawnAhead.draw

    def counted(self: DrawnAhead, height: int, *args: object) -> None:
        draw(self, height, *args)  # type: ignore[arg-type]
        batches.append((self.first, self.count))

    DrawnAhead.draw = counted  # type: ignore[method-assign]
    try:
        for height in range(1, 301):
            net.draw_ahead(height)
            net.draw_ahead(height - 1)  # the height before is still in the batch, or was
    finally:
        DrawnAhead.draw = draw  # type: ignore[method-assign]
    # each starts two heights back
    assert batches == [(0, 16), (14, 32), (44, 64), (106, 64), (168, 64), (230, 64), (292, 64)]
    assert len(net._ahead.rows) == len(KINDS) * MOST_HEIGHTS


def walk_every_epoch(net: Network, senders: np.ndarray, send: np.ndarray, key: int,
                     receivers: np.ndarray | None) -> np.ndarray:
    """Arrival times by following each message through every epoch (``Network._walk``)."""
    from sim.engine.rng import splitmix64

    keys = net._link_keys if receivers is None else net._link_keys[:, receivers]
    with np.errstate(over="ignore"):
        mixed = keys ^ np.uint64(key)
    return net._walk(senders, send, slice(None) if receivers is None else receivers, keys, np.uint64(key),
                     net.sampler.sample(splitmix64(mixed)))


@settings(max_examples=40, deadline=None, database=None)
@given(n=st.sampled_from([3, 7, 40]), dist=st.sampled_from(["fixed", "uniform", "lognormal"]),
       seed=st.integers(0, 99), crashed=st.booleans(), subset=st.booleans())
def test_after_a_heal_arrivals_are_what_the_epoch_walk_gives(n: int, dist: str, seed: int,
                                                             crashed: bool, subset: bool) -> None:
    """Invariant: messages sent once a partition has healed (its epoch still kept) arrive
    exactly when following them through every epoch (``_walk``) says, to the bit; a sender
    down at the heal sends nothing."""
    latency = types.SimpleNamespace(dist=dist, value=0.05, low=0.01, high=0.2, median=0.08, sigma=0.7)
    net = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(seed))
    healed = heal_after_partition(net, 5.0, 30.0)
    if crashed:
        healed.online[1] = False
    rng = np.random.default_rng(seed)
    senders = np.arange(n)
    receivers = np.sort(rng.choice(n, size=max(1, n // 3), replace=False)) if subset else None
    send = 30.0 + rng.uniform(0, 50, size=n)
    key = int(rng.integers(0, 2**63))
    walked = walk_every_epoch(net, senders, send, key, receivers)
    assert np.array_equal(net.arrivals(senders, send, key, receivers), walked)
    assert not np.isfinite(walked[1]).any() if crashed else np.isfinite(walked).all()


@settings(max_examples=40, deadline=None, database=None)
@given(n=st.sampled_from([3, 7, 40]), dist=st.sampled_from(["fixed", "uniform", "lognormal"]),
       seed=st.integers(0, 99), changes=st.integers(1, 6), subset=st.booleans())
def test_across_crashes_and_restarts_arrivals_are_what_the_epoch_walk_gives(
        n: int, dist: str, seed: int, changes: int, subset: bool) -> None:
    """Invariant: when the epochs a message meets differ only in which nodes are online
    (crashes and restarts, no link fault), it arrives exactly when following it through
    every epoch (``_walk``) says, to the bit: a sender down at its send time sends nothing,
    everything else arrives after its plain latency. Such histories are not walked."""
    latency = types.SimpleNamespace(dist=dist, value=0.05, low=0.01, high=0.2, median=0.08, sigma=0.7)
    net = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(seed))
    rng = np.random.default_rng(seed)
    for k in range(changes):
        net.change(10.0 * (k + 1)).online[int(rng.integers(n))] ^= True
    senders = np.arange(n)
    receivers = np.sort(rng.choice(n, size=max(1, n // 3), replace=False)) if subset else None
    send = rng.uniform(0, 10.0 * (changes + 1), size=n)
    key = int(rng.integers(0, 2**63))
    walked = walk_every_epoch(net, senders, send, key, receivers)
    assert net.links_plain_from(float(send.min()))
    assert np.array_equal(net.arrivals(senders, send, key, receivers), walked)


def test_a_link_fault_in_any_epoch_a_message_meets_makes_it_walk() -> None:
    """``links_plain_from`` looks at every epoch from the send time's on: a partition before
    the send does not count, one during or after it does, a crash never does."""
    net = network(4)
    net.change(1.0).blocked[0, 1] = True
    net.change(2.0).blocked[:] = False
    net.change(3.0).online[2] = False
    assert not net.links_plain_from(0.5) and not net.links_plain_from(1.0)
    assert net.links_plain_from(2.0) and net.links_plain_from(2.5) and net.links_plain_from(9.0)
    net.change(4.0).extra[1, 2] = 0.3
    assert not net.links_plain_from(3.5) and not net.links_plain_from(9.0)


def test_a_message_on_a_lossy_link_is_sent_again_until_one_send_gets_through() -> None:
    """Loss is walked in plain Python too, as ``arrivals`` walks it: a link losing every
    message holds it, re-sent every 100 ms, until the first send after the heal; a link
    losing half of them delivers after a keyed number of failed sends. Every small world is
    planned in plain Python, whatever its network."""
    from sim.consensus import planner_scalar

    net = network(4)
    lossy = net.change(2.0)
    lossy.drop[0, 1] = 1.0
    lossy.drop[0, 2] = 0.5
    healed = net.change(10.0)
    healed.drop[:] = 0.0
    key = net.message_key("prevote", 1, 0)
    row = net.row(0, 9.55, key)
    assert row[1] == 9.55 + 0.1 * 5 + L  # five sends after 9.55, the first of them on a healed link
    assert row[3] == 9.55 + L
    retried = (row[2] - L - 9.55) / 0.1
    assert abs(retried - round(retried)) < 1e-6 and round(retried) >= 0  # whole re-sends
    assert row == net.arrivals(np.array([0]), np.array([9.55]), key)[0].tolist()
    assert net.row(0, 12.0, key)[1] == 12.0 + L  # healed: no loss any more
    assert planner_scalar.applies(12) and not planner_scalar.applies(13)


def test_a_walked_retry_count_is_numpys_to_the_bit() -> None:
    """The retry count a walked row draws for one lossy send is the one ``Network._walk``
    draws for a whole matrix, for 20,000 keyed uniforms and loss rates (total loss: never
    through). The walk takes numpy's logarithm of a two-value array, which is its logarithm
    inside a large one; ``math.log`` differs from numpy's in the last bit for about one
    value in three hundred on a machine where numpy's is a SIMD routine."""
    from sim.engine.rng import keyed_uniform
    from sim.net.walk_row import _retries

    keys = np.arange(20_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    u = keyed_uniform(keys, 3)
    drop = np.resize(np.array([0.2, 0.5, 0.9, 0.999, 1e-9]), len(u))
    expected = np.floor(np.log(u) / np.log(np.clip(drop, 1e-300, 1.0)))
    assert [_retries(a, d) for a, d in zip(u.tolist(), drop.tolist(), strict=True)] == expected.tolist()
    assert _retries(0.5, 1.0) == math.inf


def link_history(net: Network, data: st.DataObject, begin: float = 0.0) -> float:
    """Up to four epochs of partitions, loss, extra delay, reordering and crashes, a second
    or more apart after ``begin``; returns when the last one starts."""
    n = len(net.names)
    start = begin
    for _ in range(data.draw(st.integers(0, 4), label="epochs")):
        start += data.draw(st.sampled_from([1.0, 2.0, 5.0]))
        epoch = net.change(start)
        kind = data.draw(st.sampled_from(["partition", "heal", "loss", "delay", "reorder", "crash", "restart"]))
        if kind == "partition":
            cut = data.draw(st.integers(1, max(1, n - 1)))
            epoch.blocked[:cut, cut:] = True
            epoch.blocked[cut:, :cut] = data.draw(st.booleans(), label="both ways")
        elif kind == "heal":
            epoch.blocked[:] = False
            epoch.drop[:] = 0.0
            epoch.extra[:] = 0.0
            epoch.reorder[:] = 0.0
        elif kind == "loss":
            epoch.drop[data.draw(st.integers(0, n - 1)), :] = data.draw(st.sampled_from([0.2, 0.5, 0.9, 1.0]))
        elif kind == "delay":
            epoch.extra[data.draw(st.integers(0, n - 1)), :] = data.draw(st.sampled_from([0.05, 0.3, 2.0]))
        elif kind == "reorder":
            epoch.reorder[:, data.draw(st.integers(0, n - 1))] = data.draw(st.sampled_from([0.3, 1.0]))
        else:
            epoch.online[data.draw(st.integers(0, n - 1))] = kind == "restart"
    return start


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_a_row_walked_in_plain_python_is_the_arrivals_row_bit_for_bit(data: st.DataObject) -> None:
    """Invariant: on any history of partitions (one way or both), loss, extra delay,
    reordering, crashes and restarts, ``Network.row`` gives exactly the floats
    ``Network.arrivals`` gives for that sender and message, sent at any time (before, during
    or after any epoch), for every latency model."""
    n = data.draw(st.integers(1, 7))
    dist = data.draw(st.sampled_from(["fixed", "uniform", "lognormal"]))
    latency = types.SimpleNamespace(dist=dist, value=0.05, low=0.01, high=0.2, median=0.08, sigma=0.7)
    net = Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(data.draw(st.integers(0, 99))))
    last = link_history(net, data)
    net.draw_ahead(5)  # ``rows`` reads the batch where the network lets it
    times = []
    for sender in range(n):
        send = data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.5, last, last + 0.3]))
        times.append(send)
        key = net.message_key("precommit", 5, sender)
        expected = net.arrivals(np.array([sender]), np.array([send]), key)[0]
        assert net.row(sender, send, key) == expected.tolist()
    key = net.message_key("prevote", 5, 0)
    assert net.rows(list(range(n)), times, key) == [
        net.arrivals(np.array([s]), np.array([t]), key)[0].tolist() for s, t in enumerate(times)]


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data())
def test_holding_each_message_or_the_quorum_gives_the_same_time(data: st.DataObject) -> None:
    """Invariants the planners rely on: the first time +2/3 of the power is held, when each
    message is held until its receiver enters the round, is max(the quorum time over the
    arrivals, the receiver's entry), to the bit, for equal and unequal powers; and quorum
    times from a matrix partitioned in place are those from an untouched one."""
    from sim.consensus.planner import _held

    m = data.draw(st.integers(1, 6))
    n = data.draw(st.integers(1, 6))
    times = st.sampled_from([0.0, 0.5, 1.0, 1.25, 2.0, 3.5, math.inf])
    arrivals = np.array([[data.draw(times) for _ in range(n)] for _ in range(m)])
    entry = np.array([data.draw(times) for _ in range(n)])
    powers = np.array(data.draw(st.lists(st.integers(1, 4), min_size=m, max_size=m)))
    total = int(powers.sum()) + data.draw(st.integers(0, 3))
    held_each = quorum_times(np.maximum(arrivals, entry[None, :]), powers, total)
    (held_quorum,) = _held((quorum_times(arrivals, powers, total),), entry)
    assert np.array_equal(held_each, held_quorum)
    # partitioning a used-up matrix in place gives the same times as working on a copy
    assert np.array_equal(quorum_times(arrivals.T.copy().T, powers, total, reorder=True),
                          quorum_times(arrivals, powers, total))
