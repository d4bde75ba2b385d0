"""Choosing a run's output folder, refused before the simulation starts if it cannot be used.

A folder is usable when it is new, empty, or holds a previous run (``summary.json`` and
``scenario.toml``) that may be replaced: with ``overwrite``, or when it is the default
``runs/<name>-<seed>/`` (nodesim's own folder for that scenario and seed). A file, a path under
a file, a folder that cannot be written, or a non-empty folder that is not a previous run is a
``NodesimError`` naming the path, and nothing is changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sim.errors import NodesimError

RUN_MARKERS = ("summary.json", "scenario.toml")


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` holds a previous nodesim run."""
    return path.is_dir() and all((path / name).is_file() for name in RUN_MARKERS)


def check_out(path: Path, *, overwrite: bool = False, default: bool = False, flag: str = "--out") -> bool:
    """Refuse ``path`` if a run cannot be written there; True when it holds a run to replace."""
    where = f"{flag} {path}"
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == path else f"is under {parent}, which is a file"
            raise NodesimError(f"{where}: {what}; expected a folder")
    if path.is_dir() and any(path.iterdir()):
        if not is_run_folder(path):
            raise NodesimError(f"{where}: is a folder that holds other files (not a previous run); "
                               "choose a new or empty folder")
        if not (overwrite or default):
            raise NodesimError(f"{where}: holds a previous run; pass --overwrite to replace it")
        return True
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise NodesimError(f"{where}: cannot write there ({existing} is not writable)")
    return False


def prepare_out(path: Path, *, overwrite: bool = False, default: bool = False, flag: str = "--out") -> None:
    """``check_out``, then make the folder (emptying a previous run's) and prove it writable."""
    replace = check_out(path, overwrite=overwrite, default=default, flag=flag)
    try:
        if replace:
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".nodesim-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise NodesimError(f"{flag} {path}: cannot write there ({exc.strerror or exc})") from None
