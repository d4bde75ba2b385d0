"""A long property campaign: many generated worlds on every core, each failure written as a
scenario file that ``nodesim replay`` reproduces.

A property test stops at its first failure and shrinks it; a campaign keeps going, so one
run surveys how often and how the generated worlds break. Work is split into chunks of
examples, each drawn by hypothesis from its own seed (generation only: no shrinking), and
run in worker processes. The same ``--seed`` gives the same worlds on any machine.

With ``liveness_within`` the worlds are liveness worlds (``scenarios(liveness_within=...)``):
faults spare a core of more than 2/3 of the power, everything heals and restarts by 60% of
the run, and every event enough power observed must resolve within that bound. With
``evm`` the worlds also have an EVM deposit chain and every validator's eth_deposits listener
(``scenarios(evm=True)``), and RPC outages and reorg bursts among their faults. With
``pubsub`` they also have the pub/sub hub and every validator's pubsub_events listener
(``scenarios(pubsub=True)``), and hub outages among their faults. With ``watcher`` they also
have the watcher source and every validator's watcher_events listener
(``scenarios(watcher=True)``; no fault kind of its own). With ``gas`` validators and users pay
fees from a drawn balance; with ``load`` users send txs that compete with the votes
(``scenarios(gas=True, load=True)``). They all combine.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from sim.process_pool import ignore_interrupts, interrupts_after_workers_start, stop_workers
from sim.testing.options import WorldOptions

CHUNK = 25  # examples per task


@attrs.frozen
class Finding:
    """One failing world: which invariants broke, and the file that replays it."""

    invariants: tuple[str, ...]
    path: str
    explanation: str


@attrs.frozen
class CampaignReport:
    examples: int
    findings: tuple[Finding, ...]

    @property
    def by_invariant(self) -> Counter[str]:
        return Counter(inv for f in self.findings for inv in f.invariants)


def _chunk(seed: int, examples: int, out: str, options: WorldOptions,
           liveness_within: float | None, kinds: dict[str, bool]) -> list[Finding]:
    """Run ``examples`` worlds drawn from ``seed`` (``kinds``: ``scenario_dicts``' switches of
    what the worlds have, ``evm`` to ``load``); write and return the failing ones."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    import sim
    from sim.scenario import scenario_from_dict
    from sim.testing.failures import write_failure
    from sim.testing.local_modules import import_every_module
    from sim.testing.strategies import scenario_dicts

    import_every_module()  # before hypothesis draws anything (see local_modules)

    findings: list[Finding] = []

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(scenario_dicts(options=options, liveness_within=liveness_within, evm=kinds["evm"],
                          pubsub=kinds["pubsub"], watcher=kinds["watcher"], gas=kinds["gas"], load=kinds["load"]))
    def one(data: dict[str, Any]) -> None:
        scenario = scenario_from_dict(data, file="<campaign>")
        result = sim.run(scenario)
        violations = result.summary["violations"]
        if violations:
            path = write_failure(scenario, result, Path(out))
            findings.append(Finding(tuple(v["invariant"] for v in violations), str(path),
                                    violations[0]["explanation"]))

    one()
    return findings


def run_campaign(examples: int, *, out: str | Path, seed: int = 0, workers: int | None = None,
                 options: WorldOptions | None = None, liveness_within: float | None = None,
                 evm: bool = False, pubsub: bool = False, watcher: bool = False,
                 gas: bool = False, load: bool = False, progress: Any = None) -> CampaignReport:
    """Draw and run ``examples`` worlds (wide ones by default; liveness worlds with
    ``liveness_within`` seconds; with an EVM deposit chain with ``evm``; with the pub/sub hub
    with ``pubsub``; with the watcher source with ``watcher``; with fees with ``gas``; with
    users sending txs with ``load``) on ``workers`` processes."""
    kinds = {"evm": evm, "pubsub": pubsub, "watcher": watcher, "gas": gas, "load": load}
    options = options or WorldOptions()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [(seed * 1_000_003 + i, min(CHUNK, examples - i * CHUNK))
              for i in range((examples + CHUNK - 1) // CHUNK)]
    findings: list[Finding] = []
    workers = workers or os.cpu_count() or 1
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, initializer=ignore_interrupts)
    try:
        with interrupts_after_workers_start():  # (the pool starts its workers at the first submit)
            futures = [pool.submit(_chunk, s, n, str(folder), options, liveness_within, kinds)
                       for s, n in chunks]
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            findings += future.result()
            if progress is not None:
                progress(done, len(futures), len(findings))
    except BaseException:
        # Ctrl-C or SIGTERM: the worlds not yet run are given up (they used to run to the last
        # one before the command stopped); the failing worlds found so far are already written.
        stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    findings.sort(key=lambda f: f.path)
    return CampaignReport(examples, tuple(findings))
