"""Small scenario builders shared by the world-level tests."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sim
from sim.results import Result

# one derandomized search of generated worlds, generation only: what a strategy draws
DRAWS = settings(max_examples=60, derandomize=True, database=None, deadline=None,
                 phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def drawn(strategy: st.SearchStrategy[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``strategy`` draws in one ``DRAWS`` search."""
    seen: list[dict[str, Any]] = []

    @DRAWS
    @given(strategy)
    def draw(data: dict[str, Any]) -> None:
        seen.append(data)

    draw()
    return seen

BASE = """
[scenario]
name = "{name}"
duration = "{duration}"
protocol = "{protocol}"
bug_compat = {bugs}

[network]
latency = {{ dist = "fixed", value = "50ms" }}

[consensus]
timeout_commit = "{timeout_commit}"
{consensus_extra}
[validators]
count = {count}
power = {power}
"""


ONE_NOTE = """
[resolutions.note]
expiration_period = {expiry}

[sources.script]

[[sources.script.events]]
at = "5s"
type = "note"
data = "x"
seen_by = ["v0", "v1", "v2", "v3"]
"""


def one_note(expiry: int = 100) -> str:
    """A ``note`` resolution type and one event at 5 s, seen by v0 … v3."""
    return ONE_NOTE.format(expiry=expiry)


def scenario_text(body: str = "", *, name: str = "t", duration: str = "10m", protocol: str = "kwil-0.7",
                  count: int = 4, power: Any = 1, timeout_commit: str = "1s",
                  bugs: tuple[str, ...] = (), consensus: str = "") -> str:
    """``consensus``: more ``[consensus]`` lines, e.g. ``"vote_expiry = 10"``."""
    bug_list = "[" + ", ".join(f'"{b}"' for b in bugs) + "]"
    return BASE.format(name=name, duration=duration, protocol=protocol, count=count,
                       power=power, timeout_commit=timeout_commit, bugs=bug_list,
                       consensus_extra=consensus) + body


def run_text(body: str = "", seed: int = 1, **kwargs: Any) -> Result:
    scenario = sim.parse_scenario(scenario_text(body, **kwargs), file="test.toml")
    return sim.run(scenario, seed=seed)


def violations(result: Result) -> list[str]:
    return [v["invariant"] for v in result.summary["violations"]]


def trace_events(result: Result, event: str, **match: Any) -> list[dict[str, Any]]:
    return [r for r in result.trace if r["event"] == event
            and all(r.get(k) == v for k, v in match.items())]


def burst_of_notes(count: int, at: str = "10s") -> str:
    """A note type and ``count`` scripted events every validator sees at ``at``."""
    events = "".join(f'\n[[sources.script.events]]\nat = "{at}"\ntype = "note"\ndata = "e{i}"\n'
                     for i in range(count))
    return '[resolutions.note]\nexpiration_period = 100\n\n[sources.script]\ntype = "note"\n' + events
