"""Output paths, refused before anything is written if they cannot be used, and atomic writes.

A run's folder is usable when it is new, empty, or holds a previous run (``summary.json`` and
``scenario.toml``) that may be replaced: with ``overwrite``, or when it is the default
``runs/<name>-<seed>/`` (nodesim's own folder for that scenario and seed). A file, a path under
a file, a folder that cannot be written, or a non-empty folder that is not a previous run is a
``NodesimError`` naming the path, and nothing is changed. ``check_folder`` (a sweep's or a
campaign's folder, which may already hold their files) and ``check_file`` (a report or an
export) refuse the same mistakes, also changing nothing.

``atomic_path``/``atomic_write`` write a file through a temporary one renamed over it, so a
reader never sees half a file and a failed write leaves no temporary file behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sim.errors import NodesimError

RUN_MARKERS = ("summary.json", "scenario.toml")


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` holds a previous nodesim run."""
    return path.is_dir() and all((path / name).is_file() for name in RUN_MARKERS)


def _refuse_files(path: Path, where: str) -> None:
    """A folder is wanted at ``path``: refuse it if it, or a folder above it, is a file."""
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == path else f"is under {parent}, which is a file"
            raise NodesimError(f"{where}: {what}; expected a folder")


def check_out(path: Path, *, overwrite: bool = False, default: bool = False, flag: str = "--out") -> bool:
    """Refuse ``path`` if a run cannot be written there; True when it holds a run to replace."""
    where = f"{flag} {path}"
    _refuse_files(path, where)
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


def _probe(folder: Path, where: str) -> None:
    """Prove a file can be made in ``folder``, then undo everything, folders made included.

    ``os.access`` is not enough: root passes it everywhere, yet cannot write under /proc.
    """
    made: list[Path] = []
    try:
        for parent in reversed([folder, *folder.parents]):
            if not parent.exists():
                parent.mkdir()
                made.append(parent)
        fd, probe = tempfile.mkstemp(prefix=".nodesim-write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise NodesimError(f"{where}: cannot write there ({exc.strerror or exc})") from None
    finally:
        for parent in reversed(made):
            with suppress(OSError):  # something else put a file there meanwhile: not ours to remove
                parent.rmdir()


def check_folder(path: Path, *, where: str | None = None) -> None:
    """Refuse ``path`` as a folder to write into (it may exist and hold files); change nothing."""
    label = where or f"--out {path}"
    _refuse_files(path, label)
    _probe(path, label)


def check_file(path: Path, *, where: str | None = None) -> None:
    """Refuse ``path`` as a file to write (replacing it if it is one); change nothing."""
    label = where or str(path)
    if path.is_dir():
        raise NodesimError(f"{label}: is a folder; expected a file")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise NodesimError(f"{label}: is under {parent}, which is a file, not a folder")
    _probe(path.parent, label)


def normal_file_mode() -> int:
    """``0o666 & ~umask``: what ``open()`` would give a new file (mkstemp gives 0o600)."""
    try:  # Linux: reading it leaves the umask alone (setting it to read it races other threads)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed over ``path`` (with the permissions a
    new file would get) when the block ends, removed if it raises."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, normal_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, write: Callable[[Any], None], newline: str | None = None) -> None:
    """Write text to ``path`` atomically: ``write`` gets the open temporary file."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline=newline) as handle:
        write(handle)
