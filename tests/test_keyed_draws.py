"""Keyed draws: the numpy forms give the bits of their one-value Python forms."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.rng import (
    _parts_text,
    keyed_uniform,
    keyed_uniform_int,
    splitmix64,
    stable_hash64,
    stable_hash64_grid,
)

UINT64 = st.integers(0, 2**64 - 1)


@settings(max_examples=50, deadline=None, database=None)
@given(keys=st.lists(UINT64, min_size=1, max_size=300), salt=st.integers(-(2**70), 2**70))
def test_keyed_uniforms_are_the_one_key_draws(keys: list[int], salt: int) -> None:
    """For any keys and any salt (negative or wider than 64 bits: only its low 64 bits
    count), every keyed uniform is the one-key Python draw, is the splitmix64 formula applied
    with temporaries, and lies strictly between 0 and 1; the keys are left as they were."""
    array = np.array(keys, dtype=np.uint64)
    before = array.copy()
    uniforms = keyed_uniform(array, salt)
    assert uniforms.tolist() == [keyed_uniform_int(k, salt) for k in keys]
    with np.errstate(over="ignore"):
        mixed = splitmix64(array ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF))
    assert np.array_equal(uniforms, ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53))
    assert ((uniforms > 0) & (uniforms < 1)).all()
    assert np.array_equal(array, before)


def test_the_link_key_grid_is_the_hash_of_each_pair() -> None:
    """Every cell of the grid is ``stable_hash64`` of its prefix, row and column, rows and
    columns of different lengths and names included (a row's hash state is copied per
    column: the copies must not leak into each other)."""
    prefix = (7, "link")
    rows = ["v0", "v1", "a-much-longer-node-name-than-the-others", ""]
    cols = ["v0", "x", "v10", "y" * 70, ""]
    grid = stable_hash64_grid(prefix, rows, cols)
    assert grid.dtype == np.uint64 and grid.shape == (4, 5)
    assert grid.tolist() == [[stable_hash64(*prefix, a, b) for b in cols] for a in rows]
    assert _parts_text((*prefix, "v1", "x")) == b"7\x1flink\x1fv1\x1fx"
