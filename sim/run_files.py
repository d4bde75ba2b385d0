"""A run folder's records in parquet, and a ``Result`` read back from a run folder.

``nodesim run`` writes scenario.toml, summary.json, trace.jsonl and metrics.csv; beside them
``records/`` holds what ``Result.frames()``, the plots and the report need and the trace does
not say (votes, observations, resolutions, validator changes, ...), one parquet file per kind
of record plus ``manifest.json`` (format version and node names). ``load_run(DIR)`` rebuilds
the ``Result`` from those files without re-running anything: its summary, records, trace and
scenario are the ones the run had, so its frames equal the run's.

Times are stored as float64 virtual seconds, exactly as recorded; nothing is rounded.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.engine.floatlog import FloatLog
from sim.errors import NodesimError
from sim.outdir import atomic_path
from sim.world.columns import ColumnLog
from sim.world.records import BlockLog, BlockRecord, RunRecords
from sim.world.resolutions import ResolutionRecord

RECORDS_DIR = "records"
FORMAT = 1
_RESOLUTION_FIELDS = ["id", "type", "first_seen", "first_seen_by", "created_height", "created_time", "status",
                      "height", "time", "approved", "required", "refunded", "voters", "error"]
_BLOCK_FIELDS = ["height", "round", "proposer", "time", "txs", "vote_ids", "vote_bodies", "user_txs", "bytes"]


def _columns(rows: Sequence[Any], names: list[str]) -> dict[str, Sequence[Any]]:
    """Rows of tuples as named columns (an empty table keeps its columns)."""
    if isinstance(rows, ColumnLog):
        return {name: rows.column(i) for i, name in enumerate(names)}
    # One pass per column: zip(*rows) would make an iterator per row.
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _tables(result: Any) -> dict[str, Any]:
    import pyarrow as pa

    from sim.arrow_columns import column  # not pa.array: it imports pandas (sim/arrow_columns.py)

    records: RunRecords = result.records
    string, f64, i64 = pa.string(), pa.float64(), pa.int64()

    def table(columns: dict[str, Sequence[Any]], types: dict[str, Any]) -> Any:
        return pa.table({name: column(values, types[name]) for name, values in columns.items()})

    resolutions = [[getattr(r, name) for name in _RESOLUTION_FIELDS] for r in records.resolutions.values()]
    sent = [(node, rid, time) for (node, rid), time in records.votes_sent.items()]
    return {
        "blocks": table(_columns([[getattr(b, f) for f in _BLOCK_FIELDS] for b in records.blocks], _BLOCK_FIELDS),
                        {"height": i64, "round": i64, "proposer": string, "time": f64, "txs": i64,
                         "vote_ids": i64, "vote_bodies": i64, "user_txs": i64, "bytes": i64}),
        "votes": table(_columns(records.votes, ["resolution", "voter", "power", "height"]),
                       {"resolution": string, "voter": string, "power": i64, "height": i64}),
        "observations": table(_columns(records.observations, ["node", "id", "time"]),
                              {"node": string, "id": string, "time": f64}),
        "votes_sent": table(_columns(sent, ["node", "id", "time"]), {"node": string, "id": string, "time": f64}),
        "resolutions": table(_columns(resolutions, _RESOLUTION_FIELDS), {
            "id": string, "type": string, "first_seen": f64, "first_seen_by": string, "created_height": i64,
            "created_time": f64, "status": string, "height": i64, "time": f64, "approved": i64,
            "required": i64, "refunded": pa.bool_(), "voters": pa.list_(string), "error": string}),
        # A fault keeps every key it was scheduled with (lists, nested groups), in its order: JSON keeps it.
        "faults": table({"record": [json.dumps(f) for f in records.faults]}, {"record": string}),
        "validator_changes": table(_columns(records.validator_changes, ["time", "height", "node", "power"]),
                                   {"time": f64, "height": i64, "node": string, "power": i64}),
        "node_shutdowns": table(_columns(records.node_shutdowns, ["node", "reason"]),
                                {"node": string, "reason": string}),
        "bodies": table(_columns(list(records.bodies.items()), ["id", "body"]), {"id": string, "body": pa.binary()}),
        "commit_intervals": table({"interval": result.commit_intervals}, {"interval": f64}),
    }


def write_records(result: Any, out_dir: Path) -> None:
    """``out_dir/records/``: one parquet file per kind of record, and manifest.json."""
    import pyarrow.parquet as pq

    folder = out_dir / RECORDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in _tables(result).items():
        with atomic_path(folder / f"{name}.parquet") as tmp:
            pq.write_table(table, tmp)
    manifest = {"format": FORMAT, "node_names": list(result.node_names)}
    with atomic_path(folder / "manifest.json") as tmp:  # last: a folder with a manifest is complete
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _read(folder: Path, name: str) -> dict[str, list[Any]]:
    """Columns as Python lists; text (and lists of text) repeat one ``str`` object per distinct
    value (an event id appears once per validator: sharing it keeps a 100-validator hour small)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"{name}.parquet"
    texts = [f.name for f in pq.read_schema(path) if pa.types.is_string(f.type)]
    # ParquetFile, not read_table: read_table brings in pyarrow.dataset (most of a second).
    table = pq.ParquetFile(path, read_dictionary=texts).read()
    columns: dict[str, list[Any]] = {}
    for field in table.schema:
        column = table.column(field.name)
        if field.name in texts and len(column):
            encoded = column.combine_chunks()
            values = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
            indices = encoded.indices.fill_null(len(values) - 1).to_numpy()
            columns[field.name] = values[indices].tolist()
        elif pa.types.is_list(field.type) and pa.types.is_string(field.type.value_type) and len(column):
            lists = column.combine_chunks()
            encoded = lists.flatten().dictionary_encode()
            names = np.array(encoded.dictionary.to_pylist(), dtype=object)[encoded.indices.to_numpy()].tolist()
            offsets = lists.offsets.to_numpy()
            valid = lists.is_valid().to_numpy(zero_copy_only=False)
            columns[field.name] = [names[offsets[i]:offsets[i + 1]] if valid[i] else None
                                   for i in range(len(lists))]
        elif column.null_count == 0 and (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)):
            columns[field.name] = column.to_numpy().tolist()  # much faster than to_pylist, same values
        else:
            columns[field.name] = column.to_pylist()
    del table
    pa.default_memory_pool().release_unused()
    return columns


def read_records(folder: Path) -> tuple[RunRecords, FloatLog]:
    """The ``RunRecords`` and pooled commit intervals stored under ``folder`` (a records/ dir)."""
    # A million tuples of plain values hold no cycles; the collector scanning them as they are
    # made would cost more than reading the files.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _read_records(folder)
    finally:
        if enabled:
            gc.enable()


def _read_records(folder: Path) -> tuple[RunRecords, FloatLog]:
    records = RunRecords()
    blocks = _read(folder, "blocks")
    records.blocks = BlockLog(BlockRecord(*row) for row in zip(*(blocks[f] for f in _BLOCK_FIELDS), strict=True))
    votes = _read(folder, "votes")
    records.votes = ColumnLog("ooqq", zip(votes["resolution"], votes["voter"], votes["power"], votes["height"],
                                          strict=True))
    observed = _read(folder, "observations")
    records.observations = ColumnLog("ood", zip(observed["node"], observed["id"], observed["time"], strict=True))
    sent = _read(folder, "votes_sent")
    # the file keeps each (node, id)'s first send only: enough for ``votes_sent`` and the frames
    records.sends = ColumnLog("ood", zip(sent["node"], sent["id"], sent["time"], strict=True))
    table = _read(folder, "resolutions")
    for values in zip(*(table[f] for f in _RESOLUTION_FIELDS), strict=True):
        fields = dict(zip(_RESOLUTION_FIELDS, values, strict=True))
        fields["voters"] = tuple(fields["voters"] or ())
        records.resolutions[fields["id"]] = ResolutionRecord(**fields)
    records.faults = [json.loads(text) for text in _read(folder, "faults")["record"]]
    changes = _read(folder, "validator_changes")
    records.validator_changes = list(zip(changes["time"], changes["height"], changes["node"], changes["power"],
                                         strict=True))
    shutdowns = _read(folder, "node_shutdowns")
    records.node_shutdowns = list(zip(shutdowns["node"], shutdowns["reason"], strict=True))
    bodies = _read(folder, "bodies")
    records.bodies = dict(zip(bodies["id"], bodies["body"], strict=True))
    return records, FloatLog(_read(folder, "commit_intervals")["interval"])


def read_trace(path: Path) -> list[dict[str, Any]]:
    """trace.jsonl as records (tuples written by the trace come back as lists)."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def is_run_dir(path: Path) -> bool:
    return (path / "summary.json").is_file() and (path / "scenario.toml").is_file()


def load_run(run_dir: str | Path) -> Any:
    """The ``Result`` of the run written to ``run_dir`` by ``nodesim run`` (or ``sim.run(out=...)``).

    Nothing is re-simulated: summary.json, trace.jsonl, scenario.toml and records/ are read.
    A folder that is not a run folder, or one written before records/ existed, is refused
    with one line saying what is missing (``nodesim replay DIR --out NEW`` rewrites a run).
    """
    import pyarrow as pa

    from sim.results import Result
    from sim.scenario import load_scenario

    folder = Path(run_dir)
    if not folder.is_dir():
        raise NodesimError(f"{folder}: no such run folder")
    if not is_run_dir(folder):
        raise NodesimError(f"{folder}: not a run folder (no summary.json and scenario.toml)")
    manifest_path = folder / RECORDS_DIR / "manifest.json"
    if not manifest_path.is_file():
        raise NodesimError(f"{folder}: has no records/ (written by an older nodesim or interrupted); "
                           f"re-create it with: nodesim replay {folder} --out NEW_DIR")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise NodesimError(f"{folder}: cannot read the run ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise NodesimError(f"{manifest_path}: records format {manifest.get('format')!r}, this nodesim reads "
                           f"{FORMAT}; re-create it with: nodesim replay {folder} --out NEW_DIR")
    try:
        records, intervals = read_records(folder / RECORDS_DIR)
        trace = read_trace(folder / "trace.jsonl") if (folder / "trace.jsonl").is_file() else []
    except (OSError, pa.ArrowException, json.JSONDecodeError, KeyError) as exc:
        raise NodesimError(f"{folder}: cannot read the run's records ({exc})") from None
    scenario = load_scenario(folder / "scenario.toml")
    return Result(summary, records, trace, scenario, list(manifest["node_names"]), intervals)
