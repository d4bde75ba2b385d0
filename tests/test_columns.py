"""The run's column-stored records read back exactly as the rows appended."""

import pickle

import pytest

from sim.world.columns import ColumnLog


def test_rows_read_back_as_appended() -> None:
    log = ColumnLog("ood")
    rows = [("v1", "id-a", 0.5), ("v2", "id-a", 1.25), ("v1", "id-b", 3.0)]
    for row in rows:
        log.append(row)
    assert list(log) == rows
    assert len(log) == 3 and log[1] == rows[1] and log[1:] == rows[1:]
    assert list(log.column(2)) == [0.5, 1.25, 3.0]
    assert pickle.loads(pickle.dumps(log)) == log  # sweeps ship results between processes


def test_a_row_of_the_wrong_shape_is_refused() -> None:
    log = ColumnLog("oq")
    with pytest.raises(ValueError, match="a row of 3 values for 2 columns"):
        log.append(("v1", 1, 2))
    assert len(log) == 0
