"""Named random streams derived from one root seed.

Every consumer of randomness asks for its own stream by name ("node/v3/listener",
"source/evm/deposits", "fault/drop"), so adding a node or a source never reshuffles the
others. Message latencies use keyed draws instead of a stateful stream: the uniform for a
message is a hash of (link key, message key), so a draw is the same whatever order the
world asks for it in, and a consensus height can be re-planned without consuming anything.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xBF58476D1CE4E5B9)
_C3 = np.uint64(0x94D049BB133111EB)
SPLITMIX64_CONSTANTS = (_C1, _C2, _C3)  # the finalizer's increment and its two multipliers
_TO_UNIT = 1.0 / float(1 << 53)
_SHIFT_30, _SHIFT_27, _SHIFT_31, _SHIFT_11 = (np.uint64(bits) for bits in (30, 27, 31, 11))


def _parts_text(parts: Iterable[object]) -> bytes:
    """The text ``stable_hash64`` hashes: the parts as text, separated by a unit separator."""
    return "\x1f".join(str(p) for p in parts).encode()


def stable_hash64(*parts: object) -> int:
    """A 64-bit hash of the parts' text that is the same in every process."""
    return int.from_bytes(hashlib.sha256(_parts_text(parts)).digest()[:8], "big")


def stable_hash64_grid(prefix: tuple[object, ...], rows: list[str], cols: list[str]) -> np.ndarray:
    """``stable_hash64(*prefix, a, b)`` for every ``a`` in ``rows`` and ``b`` in ``cols``, as a
    uint64 matrix: the same bits, without a Python call per cell (a world of 1,000 nodes has a
    million links)."""
    tails = [str(b).encode() for b in cols]
    grid = np.empty((len(rows), len(cols)), dtype=np.uint64)
    for i, a in enumerate(rows):
        # a copy of the row's hash state, updated with each column: the head is hashed once
        # a row, and the digests' first 8 bytes are taken in one numpy step
        copy = hashlib.sha256(_parts_text((*prefix, a, ""))).copy  # ends with the separator before ``b``
        digests = []
        for tail in tails:
            state = copy()
            state.update(tail)
            digests.append(state.digest())
        grid[i] = np.frombuffer(b"".join(digests), dtype=">u8")[::4]
    return grid


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer over a uint64 array (wrapping arithmetic): the plain form,
    which the tests hold ``splitmix64_in_place`` (the one hot paths call) to."""
    with np.errstate(over="ignore"):
        z = x + _C1
        z = (z ^ (z >> np.uint64(30))) * _C2
        z = (z ^ (z >> np.uint64(27))) * _C3
        return z ^ (z >> np.uint64(31))


def splitmix64_int(x: int) -> int:
    """``splitmix64`` of one value in Python integers (the same bits as the numpy version)."""
    z = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def splitmix64_in_place(z: np.ndarray, scratch: np.ndarray, *, final_shift: bool = True) -> None:
    """``z[...] = splitmix64(z)`` without temporaries: ``scratch`` (the shape of ``z``) holds
    each shift. Without ``final_shift`` the last xor-shift is left out: it changes only the
    low 33 bits, so a lookup by the top bits needs no more. A million draws at a time stay
    in cache this way."""
    with np.errstate(over="ignore"):
        z += _C1
        np.right_shift(z, _SHIFT_30, out=scratch)
        z ^= scratch
        z *= _C2
        np.right_shift(z, _SHIFT_27, out=scratch)
        z ^= scratch
        z *= _C3
        if final_shift:
            np.right_shift(z, _SHIFT_31, out=scratch)
            z ^= scratch


def keyed_uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """Uniforms in (0, 1) that depend only on each key and the salt: ``splitmix64`` of
    ``keys ^ salt``, its top 53 bits as a fraction (computed in place: a loss window of a
    thousand-node world draws a million at a time, a third faster than with temporaries)."""
    z = np.bitwise_xor(keys, np.uint64(salt & 0xFFFFFFFFFFFFFFFF))
    splitmix64_in_place(z, np.empty_like(z))
    z >>= _SHIFT_11
    uniforms = z.astype(np.float64)
    uniforms += 0.5
    uniforms *= _TO_UNIT
    return uniforms


def keyed_uniform_int(key: int, salt: int) -> float:
    """``keyed_uniform`` of one key in Python integers (the same float)."""
    return (float(splitmix64_int(key ^ (salt & 0xFFFFFFFFFFFFFFFF)) >> 11) + 0.5) * _TO_UNIT


class RngStreams:
    """The run's root seed and every stream derived from it."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}
        self._families: dict[str, int] = {}

    def stream(self, name: str) -> random.Random:
        """The ``random.Random`` stream called ``name`` (created on first use)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = random.Random(stable_hash64(self.seed, name))
            self._streams[name] = stream
        return stream

    def numpy(self, name: str) -> np.random.Generator:
        """A fresh numpy Generator for the stream ``name`` (for vectorized sampling)."""
        return np.random.Generator(np.random.PCG64(stable_hash64(self.seed, "np", name)))

    def key(self, *parts: object) -> int:
        """A 64-bit key under this seed, for keyed draws."""
        return stable_hash64(self.seed, *parts)

    def counter_key(self, family: str, counter: int) -> int:
        """The ``counter``-th 64-bit key of ``family``: splitmix64, no hashing of text."""
        base = self._families.get(family)
        if base is None:
            base = self._families[family] = stable_hash64(self.seed, "family", family)
        z = (base + counter * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)
