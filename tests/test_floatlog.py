"""A float log on disk reads back as appended, and its percentiles are numpy's to the bit."""

from __future__ import annotations

import pickle
from array import array

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.floatlog import FloatLog
from sim.stats import percentile
from tests.memory import retained


def test_values_moved_to_the_file_read_back_in_every_way() -> None:
    values = [i * 0.37 - 50.0 for i in range(1000)]
    log = FloatLog(values, chunk_floats=64)
    assert log.spilled == 960 and len(log) == 1000
    assert list(log) == values and log == values and log == array("d", values)
    assert log[0] == values[0] and log[-1] == values[-1] and log[700] == values[700]
    assert log[60:200] == values[60:200] and log[::-7] == values[::-7]
    assert np.array_equal(np.asarray(log), values)
    assert pickle.loads(pickle.dumps(log)) == values
    appended = FloatLog(chunk_floats=64)
    for value in values:
        appended.append(value)
    assert appended == log and appended.spilled == 960
    assert FloatLog() == [] and np.asarray(FloatLog()).shape == (0,)
    with pytest.raises(IndexError):
        log[1000]


def test_a_long_log_keeps_only_its_newest_values_in_memory() -> None:
    """A million values cost under a chunk of memory (as an array('d'), 8 MB)."""

    def fill() -> FloatLog:
        log = FloatLog()
        for i in range(1_000_000):
            log.append(i * 0.001)
        return log

    log, grown = retained(fill)
    assert grown < 1_000_000, f"a million floats kept {grown} bytes in memory"
    assert log[654_321] == 654.321 and len(log) == 1_000_000


floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(floats, st.sampled_from([0.0, 1.0, 1.15, 2.5, -3.0, 1e300, 5e-324])),
                       min_size=1, max_size=300),
       chunk=st.integers(1, 40), q=st.one_of(st.sampled_from([0.0, 50.0, 99.0, 100.0]), st.floats(0, 100)))
def test_percentile_of_a_log_is_numpys_percentile_of_its_values(values: list[float], chunk: int, q: float) -> None:
    """For any finite values (duplicates, both signs, tiny and huge), any chunk size and any q,
    the percentile read a chunk at a time is the very float np.percentile gives over all of
    them (signed zeros aside: numpy orders 0.0 and -0.0 as equal, so either may come out)."""
    log = FloatLog(values, chunk_floats=chunk)
    with np.errstate(over="ignore", invalid="ignore"):  # b - a may overflow (below)
        expected = float(np.percentile(np.array(values), q))
    got = log.percentile(q)
    if np.isnan(expected):  # b - a overflowed to inf - inf in numpy's interpolation too
        rounded = percentile(log, q)
        assert np.isnan(got) and rounded is not None and np.isnan(rounded)
    else:
        assert got == expected or (got == 0.0 and expected == 0.0), (got, expected)
        assert percentile(log, q) == percentile(values, q) or expected == 0.0


def test_percentiles_of_many_values_over_many_chunks() -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.lognormal(0.2, 0.6, 200_000), np.full(50_000, 1.15), rng.uniform(0, 9, 3)])
    rng.shuffle(values)
    log = FloatLog(array("d", values.tobytes()), chunk_floats=10_000)
    for q in (0, 1, 25, 50, 75, 99, 99.9, 100):
        assert log.percentile(q) == float(np.percentile(values, q))


def test_no_values_and_nan() -> None:
    assert np.isnan(FloatLog().percentile(50)) and percentile(FloatLog(), 50) is None
    assert np.isnan(FloatLog([1.0, float("nan"), 2.0], chunk_floats=2).percentile(50))


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                 st.sampled_from([0.0, 1.0, 1.15, 2.5, -3.0, 1e300, 5e-324])), max_size=60),
       q=st.one_of(st.floats(0, 100), st.sampled_from([0, 1, 50, 99, 99.9, 100])))
def test_a_few_values_sorted_give_numpys_percentile(values: list[float], q: float) -> None:
    """For any few values (nan, infinities, duplicates, both signs, tiny and huge) and any q,
    sorting them and interpolating gives the very float np.percentile gives (signed zeros
    aside: numpy orders 0.0 and -0.0 as equal, so either may come out)."""
    from sim.engine.floatlog import values_percentile

    array_ = np.array(values, dtype=float)
    got = values_percentile(array_, q)
    if not values:
        assert np.isnan(got)
        return
    # numpy's interpolation takes inf - inf (nan, as ours) and, between huge values of both
    # signs, overflows (inf, as ours): its warnings are not this test's findings
    with np.errstate(invalid="ignore", over="ignore"):
        expected = float(np.percentile(array_, q))
    assert (np.isnan(got) and np.isnan(expected)) or got == expected, (got, expected)
    assert np.isnan(expected) or got != 0.0 or expected == 0.0


def test_a_percentile_outside_0_to_100_is_refused() -> None:
    from sim.engine.floatlog import values_percentile

    with pytest.raises(ValueError, match="in \\[0, 100\\]"):
        values_percentile(np.array([1.0, 2.0]), 100.5)
