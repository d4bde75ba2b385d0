"""How the C allocator keeps memory while a large world runs.

A world of a thousand nodes plans each height with several arrays of a million floats (8 MB)
made and freed within the height. glibc's allocator hands such blocks back to the operating
system when they are freed, and the next height faults every page of them in again: 400,000
page faults in a three-minute run, a fifth of its CPU time (a sixth at 300 nodes, a tenth at
200; nothing measurable at 100). From the first world of ``LARGE_WORLD`` nodes on,
a process keeps blocks below 64 MB in its heap and returns free memory at the top of the
heap only beyond 256 MB: the faults drop to a tenth and the peak resident memory grows by a
few MB. Small worlds allocate nothing of that size, so a process that runs only them (a
property test, a notebook of small worlds) is left as it is.

Where the allocator is not glibc's (no ``mallopt``), nothing changes. The allocator never
changes what a run computes, only how fast its memory comes back.
"""

from __future__ import annotations

import ctypes
import functools

LARGE_WORLD = 200  # nodes: from here on a height's arrays are hundreds of kB and more
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
MMAP_THRESHOLD = 64 << 20  # blocks at least this large are still mapped and unmapped
TRIM_THRESHOLD = 256 << 20  # free memory at the top of the heap kept up to this much


@functools.cache
def keep_freed_memory() -> bool:
    """Keep large blocks in the heap from now on (once per process); whether the allocator
    took the settings."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    # Setting either turns glibc's own tuning of the mmap threshold off, so both are set: left
    # at its 128 kB default, every array of a large world would be mapped afresh (four times
    # the faults).
    mapped = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    trimmed = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return bool(mapped) and bool(trimmed)
