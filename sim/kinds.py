"""``nodesim kinds``: every fault kind, source, byzantine behaviour and invariant, one line each.

Each list is read from the one place that holds it: the fault catalog (``sim.faults.kinds``),
the source registry (``sim.sources.registry``), the behaviour classes (``node.behaviours``) and
the checkers (``sim.checks``); each item's line is its own summary or docstring. A test loads
every fault kind with exactly the keys listed, so the listing cannot drift from the loader.
"""

from __future__ import annotations

import inspect

import attrs


@attrs.frozen
class Kind:
    """One listed item: its name, the keys it takes, and what it does."""

    name: str
    keys: str
    line: str


def fault_kinds() -> list[Kind]:
    from sim.faults.kinds import fault_kinds as table

    return [Kind(name, kind.keys, kind.summary) for name, kind in table().items()]


def sources() -> list[Kind]:
    from sim.sources.registry import load, source_kinds

    listed = []
    for name, kind in source_kinds().items():
        config = load(kind.config)
        keys = "rate, type, data, seen_by, delay, events" if name == "script" else ", ".join(config().to_table())
        listed.append(Kind(name, keys, kind.summary))
    return listed


def behaviours() -> list[Kind]:
    from node.behaviours import builtin_behaviours, load_behaviour

    return [Kind(name, "", _first_line(type(load_behaviour(name)))) for name in builtin_behaviours()]


def _first_line(obj: object) -> str:
    return (inspect.getdoc(obj) or "(no description)").split("\n\n")[0].replace("\n", " ")


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
