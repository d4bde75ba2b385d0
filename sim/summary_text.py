"""A run's summary as people read it: a verdict line, then grouped fields with units.

``verdict(summary)`` is the one line ``nodesim run -q`` prints; ``summary_lines(summary)``
the grouped table ``nodesim run`` prints: verdict first, then consensus, resolutions,
users (with ``[load]``), sources, faults and the run's identity. Times read ``1.26 s`` or ``3 h 59 m``, counts get
thousands separators, a missing value is ``–``, the trace hash is printed whole, and lines are
plain text (nothing wraps at 80 columns in a CI log). ``--json`` prints summary.json instead.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"
SECONDS = ("virtual_seconds", "wall_seconds", "halted_at")
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("consensus", ("blocks", "block_time_p50", "block_time_p99", "rounds_above_zero", "halted_at")),
    ("resolutions", ("events_observed", "resolutions_passed", "resolutions_expired",
                     "resolutions_refunded", "resolve_errors", "resolution_latency_p50",
                     "resolution_latency_p99", "votes_per_resolution_mean", "rebroadcasts",
                     "fabricated_passed")),
    ("users", ("user_txs_sent", "user_txs_committed", "user_txs_rejected", "user_txs_dropped", "user_txs_pending")),
    ("faults", ("faults_injected", "faults_without_effect", "node_shutdowns", "listener_starts",
                "listener_cancellations", "gossip_duplicates_rejected")),
    ("run", ("seed", "virtual_seconds", "wall_seconds", "trace_hash")),
)
SOURCE_PREFIXES = ("deposits_", "credit", "evm_", "watcher_", "pubsub_", "script_")
NOT_IN_TABLE = ("violations", "shutdown_errors", "resolve_error_messages", "stopped")


def duration(seconds: float) -> str:
    """``0.25 s``, ``1.26 s``, ``42.1 s``, ``12 m 5 s``, ``3 h 59 m``, ``2 d 3 h``."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} m"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def value_text(key: str, value: Any) -> str:
    """One summary value with its unit and a sensible precision."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and (key.endswith(("_p50", "_p99", "_time")) or key in SECONDS):
        return duration(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def verdict(summary: dict[str, Any], name: str = "") -> str:
    """The run in one line: whether every invariant held, and what else went wrong."""
    violations = summary.get("violations", [])
    head = f"{name} seed {summary.get('seed')}: " if name else f"seed {summary.get('seed')}: "
    problems = []
    if violations:
        names = sorted({v["invariant"] for v in violations})
        problems.append(f"{len(violations)} violation(s) ({', '.join(names)})")
    if summary.get("resolve_errors"):
        problems.append(f"{summary['resolve_errors']} resolve hook error(s)")
    stopped = summary.get("stopped")
    if stopped:
        problems.append(f"stopped ({stopped}) at {duration(summary.get('virtual_seconds', 0.0))} virtual")
    notes = _notes(summary)  # (what went wrong without breaking an invariant)
    state = "FAILED" if violations or summary.get("resolve_errors") else ("STOPPED" if stopped else "ok")
    detail = "; ".join(problems + notes) if problems or notes else "every invariant held"
    if not violations and not summary.get("resolve_errors") and notes:
        detail = "every invariant held, but " + detail
    return (f"{head}{state} ({detail}); {summary.get('resolutions_passed', 0):,} resolutions passed in "
            f"{value_text('blocks', summary.get('blocks', 0))} blocks")


def _notes(summary: dict[str, Any]) -> list[str]:
    """What a run that kept every invariant may still have to say: the chain halted, or final
    deposits were never seen by enough validators to be credited."""
    notes = []
    halted = summary.get("halted_at")
    if halted is not None:
        notes.append(f"the chain halted: no block after t={duration(halted)}, "
                     f"{duration(summary.get('virtual_seconds', 0.0) - halted)} before the end")
    unobserved = summary.get("deposits_unobserved")
    if unobserved:
        notes.append(f"{unobserved:,} final deposit(s) never observed by enough validators to be credited")
    return notes


def summary_lines(summary: dict[str, Any], name: str = "") -> list[str]:
    """The grouped table, as plain lines."""
    lines = [verdict(summary, name)]
    shown: set[str] = set(NOT_IN_TABLE)
    sources = [k for k in sorted(summary) if k.startswith(SOURCE_PREFIXES)]
    groups = list(GROUPS[:3]) + [("sources", tuple(sources))] + list(GROUPS[3:])
    for title, keys in groups:
        present = [k for k in keys if k in summary]
        if not present:
            continue
        lines.append(f"{title}:")
        for key in present:
            lines.append(f"  {key:<28} {value_text(key, summary[key])}")
        shown.update(present)
    rest = [k for k in sorted(summary) if k not in shown]
    if rest:
        lines.append("other:")
        lines.extend(f"  {key:<28} {value_text(key, summary[key])}" for key in rest)
    return lines
