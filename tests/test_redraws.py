"""Vote latency matrices kept for re-plans (``sim.net.redraws``): the same numbers, drawn once."""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.rng import RngStreams
from sim.net.network import Network
from sim.net.redraws import MOST_KEPT, Redraws


def _network(n: int, seed: int, dist: str = "lognormal") -> Network:
    latency = types.SimpleNamespace(dist=dist, value=0.05, low=0.01, high=0.2, median=0.08, sigma=0.7)
    return Network([f"v{i}" for i in range(n)], latency, 0.0, RngStreams(seed))


@settings(max_examples=40, deadline=None, database=None)
@given(n=st.sampled_from([2, 13, 60, 250]), dist=st.sampled_from(["fixed", "uniform", "lognormal"]),
       seed=st.integers(0, 99), asks=st.lists(st.tuples(st.integers(0, 2**32), st.booleans()), min_size=1,
                                               max_size=5))
def test_a_vote_asked_for_again_arrives_as_a_fresh_network_draws_it(n: int, dist: str, seed: int,
                                                                     asks: list[tuple[int, bool]]) -> None:
    """Invariant: however often one vote's arrivals are asked for (a re-plan asks again), with
    every sender or most of them and any send times, they are bit for bit what a network that
    never saw the vote draws."""
    net = _network(n, seed, dist)
    key = (seed * 7919 + 1) << 20
    for salt, most in asks:
        rng = np.random.default_rng(salt)
        senders = np.arange(n) if not most or n < 4 else np.sort(rng.choice(n, size=n - n // 4, replace=False))
        send = rng.uniform(0, 1000, size=len(senders))
        expected = _network(n, seed, dist).arrivals(senders, send, key)
        got = net.arrivals(senders, send, key)
        assert np.array_equal(got, expected)
        got[0, 0] = -1.0  # the caller owns what it gets: a later answer must not change
    assert net.arrivals(np.arange(n), np.zeros(n), key)[0, 0] >= 0


def test_the_third_request_of_a_vote_draws_nothing_and_a_run_without_re_plans_keeps_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    n = 50
    net = _network(n, 1)
    draws = []
    keyed = net.sampler.keyed
    monkeypatch.setattr(net.sampler, "keyed", lambda *a: (draws.append(1), keyed(*a))[1])
    for height in range(20):  # each vote asked for once: nothing kept
        net.arrivals(np.arange(n), np.zeros(n), 1000 + height)
    assert net._redraws._kept == {}
    draws.clear()
    net.arrivals(np.arange(n), np.zeros(n), 5)
    net.arrivals(np.arange(n), np.ones(n), 5)  # asked again: drawn whole and kept
    first_two = len(draws)
    net.arrivals(np.arange(1, n), np.ones(n - 1), 5)
    assert first_two > 0 and len(draws) == first_two


def test_kept_matrices_stay_within_the_count_and_the_byte_budget() -> None:
    redraws = Redraws(budget_bytes=10 * 800, most_kept=MOST_KEPT)
    too_big = 10 * 800 // MOST_KEPT + 8
    assert not redraws.worth_keeping(1, too_big) and not redraws.worth_keeping(1, too_big)
    for key in range(30):
        assert not redraws.worth_keeping(key + 100, 800)  # the first request of each
        assert redraws.worth_keeping(key + 100, 800)
        redraws.keep(key + 100, np.zeros(100))
        kept = redraws._kept
        assert len(kept) <= MOST_KEPT and sum(m.nbytes for m in kept.values()) <= 10 * 800
    assert list(redraws._kept) == list(range(130 - MOST_KEPT, 130))  # the most recent ones
    assert redraws.get(129) is not None and redraws.get(100) is None
