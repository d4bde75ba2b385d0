"""Where a sweep keeps what finished: a row journal, and the table made from it.

``sweep.rows.jsonl`` in the output folder is appended to as runs finish (one JSON object per
run: its parameter texts, seed and row), so an interrupted or failed sweep keeps every
finished run and a re-run skips them. Its first line names the scenario text's SHA-256, so a
folder is never resumed with a different scenario. ``sweep.parquet`` (or ``sweep.csv`` when
pyarrow is missing) is written from the journal whenever a sweep stops, finished or not.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from sim.errors import NodesimError
from sim.outdir import atomic_path

JOURNAL = "sweep.rows.jsonl"
RUNS_DIR = "runs"  # with keep_runs: one run folder per row, named by run_folder_name
RunKey = tuple[tuple[tuple[str, str], ...], int]  # ((key, override text), ...), seed


def run_key(overrides: dict[str, str], seed: int) -> RunKey:
    return tuple(sorted(overrides.items())), int(seed)


def run_folder_name(overrides: dict[str, str], seed: int) -> str:
    """A row's run folder under ``runs/``: its overrides and seed, in file-name-safe characters."""
    parts = [f"{key}={value}" for key, value in sorted(overrides.items())] + [f"seed={int(seed)}"]
    return re.sub(r"[^A-Za-z0-9.,_=-]", "_", ",".join(parts))


def fingerprint(scenario_text: str) -> str:
    return hashlib.sha256(scenario_text.encode("utf-8")).hexdigest()


def table_path(out: Path) -> Path:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return out / "sweep.csv"
    return out / "sweep.parquet"


class Journal:
    """The append-only record of finished runs in one output folder."""

    def __init__(self, out: Path, scenario_text: str, file: str) -> None:
        self.path = out / JOURNAL
        self.finished: dict[RunKey, dict[str, Any]] = {}
        digest = fingerprint(scenario_text)
        out.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._load(digest)
        else:
            with self.path.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps({"scenario_sha256": digest, "file": file}) + "\n")
        self._handle: TextIO | None = self.path.open("a", encoding="utf-8")

    def _load(self, digest: str) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            header = {}
        if header.get("scenario_sha256") != digest:
            raise NodesimError(f"{self.path.parent}: holds a sweep of a different scenario text "
                               f"(or no sweep journal); choose another --out or delete the folder")
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of an interrupted write; that run simply runs again
            self.finished[run_key(entry["params"], entry["seed"])] = entry["row"]

    def add(self, overrides: dict[str, str], seed: int, row: dict[str, Any]) -> None:
        self.finished[run_key(overrides, seed)] = row
        if self._handle is not None:
            self._handle.write(json.dumps({"params": overrides, "seed": seed, "row": row}) + "\n")

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Write atomically (temporary file, then rename): a reader never sees half a table."""
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)


def read_table(path: Path) -> pd.DataFrame:
    """A sweep table from ``sweep.parquet``/``sweep.csv`` (or the folder holding one)."""
    if path.is_dir():
        candidates = [path / "sweep.parquet", path / "sweep.csv"]
        found = [p for p in candidates if p.exists()]
        if not found:
            raise NodesimError(f"{path}: no sweep.parquet or sweep.csv in this folder")
        path = found[0]
    if not path.exists():
        raise NodesimError(f"{path}: no such sweep table")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
