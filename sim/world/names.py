"""Node names packed as small codes, for what a run keeps about every event.

A resolution's record keeps the validators whose votes counted, all run long: a hundred names
as a tuple held ~850 bytes per event, as one string still ~400. Packed here they take a byte
each (two bytes once a process has seen 255 names). Codes come from one table for the whole
process, so equal names always pack to equal bytes; they never leave the process (a pickled
record carries the names themselves) and nothing a run reports depends on them.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable

_NAMES: list[str] = []
_CODES: dict[str, int] = {}
_NEW_NAME = threading.Lock()  # two threads meeting one new name must give it one code
_WIDE = 0xFF  # first byte of a two-bytes-per-name packing (a narrow code is below it)
_MAX_CODES = 1 << 16


def _code(name: str) -> int:
    code = _CODES.get(name)
    if code is None:
        with _NEW_NAME:
            code = _CODES.get(name)
            if code is None:
                code = _CODES[name] = len(_NAMES)
                _NAMES.append(name)
    return code


def pack_names(names: Iterable[str]) -> bytes | tuple[str, ...]:
    """``names`` as bytes (a tuple when the process has seen more names than two bytes number)."""
    if isinstance(names, bytes):
        return names  # packed already
    names = tuple(names)
    codes = [_code(name) for name in names]
    if not codes or max(codes) < _WIDE:
        return bytes(codes)
    if max(codes) < _MAX_CODES:
        return bytes([_WIDE]) + array("H", codes).tobytes()
    return names


def unpack_names(packed: bytes | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(packed, tuple):
        return packed
    if packed[:1] == bytes([_WIDE]):
        codes = array("H")
        codes.frombytes(packed[1:])
        return tuple(_NAMES[code] for code in codes)
    return tuple(_NAMES[code] for code in packed)
