"""The one place that takes trio's scheduler randomness under the run's seed.

trio shuffles each batch of runnable tasks to stop programs depending on scheduling order.
A simulation must depend on it exactly, so before each ``trio.run`` we switch on the
deterministic mode that trio's own Hypothesis plugin uses and seed the scheduler's RNG.
Both names are private to trio; they were verified on trio 0.35.0 (pinned in pyproject.toml)
and ``tests/test_determinism.py`` fails loudly if a trio upgrade removes them.
"""

from __future__ import annotations

import hashlib

import trio

_run_module = trio._core._run


def seed_trio_scheduler(seed: int) -> None:
    """Make trio's task scheduling a pure function of ``seed`` for the next ``trio.run``."""
    if not hasattr(_run_module, "_ALLOW_DETERMINISTIC_SCHEDULING") or not hasattr(_run_module, "_r"):
        raise RuntimeError(
            f"trio {trio.__version__} lacks the deterministic-scheduling hook nodesim relies on; "
            "install the trio version pinned in pyproject.toml"
        )
    _run_module._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    digest = hashlib.sha256(f"trio-scheduler/{seed}".encode()).digest()
    _run_module._r.seed(int.from_bytes(digest[:8], "big"))
