"""``nodesim kinds``: every fault kind, source, byzantine behaviour and invariant, one line each.

Each list is read from the one place that holds it, through the four small functions below
(``fault_kinds``, ``sources``, ``behaviours``, ``invariants``), so when a list moves (a fault
table, a source registry, behaviour classes) only its function changes. What is written here
is the reader's one-line explanation, and the keys each fault kind takes (a test loads every
kind with exactly these keys, so the listing cannot drift from the loader).
"""

from __future__ import annotations

import importlib
import inspect

import attrs

FAULT_LINES: dict[str, tuple[str, str]] = {
    "partition": ("groups | from + to, duration",
                  "cut the network: groups = [[...], [...]] both ways, or from -> to one way "
                  "(messages from `from` do not reach `to`); heals after duration"),
    "heal": ("", "end every partition"),
    "delay": ("nodes | link, extra, duration", "add `extra` latency to nodes' messages or one link"),
    "drop": ("probability, duration, nodes", "lose each message with this probability"),
    "duplicate": ("probability, duration, nodes", "deliver each message twice with this probability"),
    "reorder": ("probability, duration, nodes", "deliver messages out of order with this probability"),
    "crash": ("node", "the node's nursery is cancelled at once; only committed storage survives"),
    "restart": ("node", "a crashed node replays its storage, block-syncs, then listens again"),
    "clock_skew": ("node, offset", "shift what the node's clock reads (its timeouts and sleeps)"),
    "listener_error": ("node, listener", "a listener raises: its node shuts down"),
    "promote": ("node, override, power", "the node joins the validator set (or is set directly)"),
    "demote": ("node, override", "the validators remove the node (or it is set to power 0)"),
    "join": ("node", "the node sends a join tx; honest validators approve it"),
    "leave": ("node", "the node sends its own leave tx (power 0 at once)"),
    "remove": ("node", "every honest validator sends a remove tx for the node"),
    "evict_vote": ("node", "the node's pending vote-ids tx vanishes from every mempool"),
    "nonce_gap": ("node", "the node's next vote-ids tx skips a nonce"),
    "rpc_outage": ("node, duration", "the node's EVM RPC endpoint fails every call"),
    "reorg_burst": ("depth, count", "the EVM chain reorganizes `count` times, `depth` blocks each"),
    "hub_outage": ("duration", "the pub/sub hub refuses calls and drops what it would send"),
}
SOURCE_LINES = {
    "script": ("rate, type, data, seen_by, delay, events",
               "scripted and Poisson events shown to chosen validators (listener: script)"),
    "evm": (None, "an EVM chain with deposits, reorgs and flaky RPC (listener: eth_deposits, "
                  "needs [app.extensions.eth_deposits])"),
    "watcher": (None, "an orchestrator's job-event log, Bacalhau's watcher library (listener: "
                      "watcher_events)"),
    "pubsub": (None, "the Internet Computer events hub with publishers (listener: pubsub_events, "
                     "needs [app.extensions.pubsub_events])"),
}
BEHAVIOUR_LINES = {
    "silent": "never sends vote bodies or vote ids",
    "fabricate": "broadcasts events no source showed it",
    "withhold": "leaves other validators' vote-ids txs out of its proposals",
}


@attrs.frozen
class Kind:
    """One listed item: its name, the keys it takes, and what it does."""

    name: str
    keys: str
    line: str


def fault_kinds() -> list[Kind]:
    from sim.faultspec import FAULT_KINDS

    return [Kind(kind, *FAULT_LINES.get(kind, ("?", "(no description)"))) for kind in FAULT_KINDS]


def sources() -> list[Kind]:
    from sim.scenario import SOURCE_CONFIGS

    listed = []
    for kind, spec in SOURCE_CONFIGS.items():
        module, _, name = spec.partition(":")
        cls = getattr(importlib.import_module(module), name)
        keys, line = SOURCE_LINES.get(kind, (None, None))
        if keys is None:  # the keys a default config writes (and the loader reads back)
            keys = ", ".join(cls().to_table())
        if line is None:
            line = (inspect.getdoc(cls) or "(no description)").split("\n\n")[0].replace("\n", " ")
        listed.append(Kind(kind, keys, line))
    return listed


def behaviours() -> list[Kind]:
    from sim.scenario_model import BYZANTINE

    return [Kind(name, "", BEHAVIOUR_LINES.get(name, "(no description)")) for name in BYZANTINE]


def invariants() -> list[Kind]:
    from sim.checks import ALL_CHECKERS
    from sim.scenario_model import INVARIANTS

    listed = []
    for name in INVARIANTS:
        checker = ALL_CHECKERS.get(name)
        doc = (inspect.getdoc(checker) or "").split("\n\n")[0].replace("\n", " ") if checker else ""
        listed.append(Kind(name, "", doc or "(no description)"))
    listed.append(Kind("liveness", "[checks] liveness = { within }",
                       "after the last fault heals, every observed event resolves within the bound"))
    return listed


def kinds_text() -> str:
    """The listing ``nodesim kinds`` prints."""
    sections = [("fault kinds ([[faults]] kind = ...; every fault also takes `at`)", fault_kinds()),
                ("sources ([sources.<kind>])", sources()),
                ("byzantine behaviours ([nodes.vN] byzantine = ...)", behaviours()),
                ("invariants ([checks] invariants = [...])", invariants())]
    lines: list[str] = []
    for title, items in sections:
        lines.append(title)
        width = max(len(item.name) for item in items)
        for item in items:
            keys = f" [{item.keys}]" if item.keys else ""
            lines.append(f"  {item.name:<{width}}  {item.line}{keys}")
        lines.append("")
    return "\n".join(lines).rstrip()
