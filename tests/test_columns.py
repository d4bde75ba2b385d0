"""The run's column-stored records read back exactly as the rows appended."""

import pickle

import pytest

from sim.world.columns import ColumnLog
from sim.world.records import BlockLog, BlockRecord, RunRecords
from tests.memory import retained


def test_rows_read_back_as_appended() -> None:
    log = ColumnLog("ood")
    rows = [("v1", "id-a", 0.5), ("v2", "id-a", 1.25), ("v1", "id-b", 3.0)]
    for row in rows:
        log.append(row)
    assert list(log) == rows
    assert len(log) == 3 and log[1] == rows[1] and log[1:] == rows[1:]
    assert list(log.column(2)) == [0.5, 1.25, 3.0]
    assert pickle.loads(pickle.dumps(log)) == log  # sweeps ship results between processes


def test_rows_cut_to_some_columns_read_back_in_order() -> None:
    rows = _rows(500)
    log = ColumnLog("ood", rows, chunk_rows=64)
    assert list(log.rows_of(1, 0)) == [(r[1], r[0]) for r in rows]
    assert list(log.rows_of(2)) == [(r[2],) for r in rows]


def test_a_row_of_the_wrong_shape_is_refused() -> None:
    log = ColumnLog("oq")
    with pytest.raises(ValueError, match="a row of 3 values for 2 columns"):
        log.append(("v1", 1, 2))
    assert len(log) == 0


def _rows(n: int) -> list[tuple[str, str, float]]:
    return [(f"v{i % 7}", f"id-{i // 3}", i * 0.25) for i in range(n)]


def test_rows_moved_to_the_file_read_back_exactly_in_every_way() -> None:
    rows = _rows(1000)
    log = ColumnLog("ood", rows, chunk_rows=64)
    assert len(log) == 1000 and list(log) == rows
    assert log[0] == rows[0] and log[-1] == rows[-1] and log[700] == rows[700]
    assert log[60:200] == rows[60:200] and log[990:] == rows[990:] and log[5:900:7] == rows[5:900:7]
    assert list(log.column(1)) == [r[1] for r in rows] and list(log.column(2)) == [r[2] for r in rows]
    assert log == ColumnLog("ood", rows) and pickle.loads(pickle.dumps(log)) == log
    with pytest.raises(IndexError):
        log[1000]


def test_a_long_log_keeps_only_its_newest_rows_in_memory() -> None:
    """Memory of a log grows with its distinct values, not with its rows, once they pass a
    chunk (a row per node per event); kept in lists, these 200,000 rows held ~5 MB."""
    rows = [(f"v{i % 100}", f"id-{i // 100}", i * 0.25) for i in range(200_000)]  # 100 nodes

    def fill() -> ColumnLog:
        log = ColumnLog("ood", chunk_rows=4096)
        for row in rows:
            log.append(row)
        return log

    log, grown = retained(fill)
    assert grown < 1_000_000, f"200,000 rows kept {grown} bytes in memory"
    assert log[123_456] == rows[123_456]


def test_without_temporary_space_the_rows_stay_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def no_space(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_space)
    rows = _rows(300)
    log = ColumnLog("ood", rows, chunk_rows=16)
    assert list(log) == rows and log[250] == rows[250]


def test_rows_read_back_the_same_whenever_they_are_read() -> None:
    """Appended rows wait to be encoded in batches: reads between appends, across batch and
    chunk boundaries, see every row so far, in order."""
    log = ColumnLog("ood", chunk_rows=700)
    rows = _rows(2500)
    for count, row in enumerate(rows, start=1):
        log.append(row)
        if count % 333 == 0 or count == 2500:
            assert len(log) == count
            assert log[count - 1] == row and log[-1] == row
            assert list(log) == rows[:count]
    assert list(log.column(0)) == [r[0] for r in rows]
    assert log[650:760] == rows[650:760]


def test_a_value_of_the_wrong_kind_fails_every_read_and_loses_no_row() -> None:
    log = ColumnLog("od")
    log.append(("v1", 1.0))
    log.append(("v2", "not a number"))
    for _ in range(2):
        with pytest.raises(TypeError):
            list(log)
    assert len(log) == 2


def test_block_records_read_back_as_appended_and_cost_a_row_each() -> None:
    """records.blocks keeps a row per committed block all run: as BlockRecord objects a block
    held ~200 bytes (a 100-validator hour commits ~2,700); as columns about half (68 bytes
    in typed arrays, which move to disk a chunk at a time)."""
    names = [f"v{i}" for i in range(100)]

    def record(h: int) -> BlockRecord:  # made afresh per block, as the recorder does
        return BlockRecord(h, h % 3, names[h % 100], h * 1.3125, h % 7, h % 5, h % 2, h % 4, 100 * h)

    def build() -> BlockLog:
        log = BlockLog()
        for h in range(1, 5001):
            log.append(record(h))
        return log

    log, held = retained(build)
    assert held < 5000 * 120, f"{held / 5000:.0f} bytes per block"  # (the newest rows wait as tuples)
    blocks = [record(h) for h in range(1, 5001)]
    assert list(log) == blocks and log == blocks and len(log) == 5000
    assert log[0] == blocks[0] and log[-1] == blocks[-1] and log[10:20] == blocks[10:20]
    assert pickle.loads(pickle.dumps(log)) == log


def test_a_run_keeps_each_event_id_once_for_its_votes_observations_and_sends() -> None:
    """Every event id appears in three logs of a run (votes, observations, sends); their
    columns share one codebook, so the id's entry is kept once, not three times."""
    ids = [f"{i:064x}" for i in range(3000)]

    def build() -> RunRecords:
        records = RunRecords()
        for i, rid in enumerate(ids):
            records.votes.append((rid, "v1", 1, i))
            records.observations.append(("v1", rid, i * 0.5))
            records.sends.append(("v1", rid, i * 0.5))
        return records

    records, held = retained(build)
    assert held < 3000 * 200, f"{held / 3000:.0f} bytes per event"
    assert records.votes[2999][0] == records.observations[2999][1] == records.sends[2999][1] == ids[2999]
    assert pickle.loads(pickle.dumps(records)) == records
