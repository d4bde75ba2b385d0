"""The ``nodesim campaign`` subcommand: a long property campaign over generated worlds."""

from __future__ import annotations

import argparse
from typing import Any

EXIT_OK, EXIT_FOUND = 0, 1


def add_campaign_parser(sub: Any) -> None:
    campaign = sub.add_parser("campaign", help="run many generated worlds; write each failure as a scenario")
    from sim.cli_args import liveness_arg, positive_arg, seed_arg

    campaign.add_argument("--examples", type=positive_arg, default=1000)
    campaign.add_argument("--seed", type=seed_arg, default=0, help="0 ... 2^64-1")
    campaign.add_argument("--workers", type=positive_arg, default=None, help="processes (default: all cores)")
    campaign.add_argument("--out", default="runs/campaign", help="where failing scenarios are written")
    campaign.add_argument("--liveness", type=liveness_arg, default=None, metavar="WITHIN",
                          help="draw liveness worlds: faults spare more than 2/3 of the power and heal, "
                               "and every event enough power saw must resolve WITHIN (1s ... 10m) after")
    campaign.add_argument("--evm", action="store_true",
                          help="give every world an EVM deposit chain watched by each validator's eth_deposits "
                               "listener, and RPC outages and reorg bursts among its faults")
    campaign.add_argument("--pubsub", action="store_true",
                          help="give every world the pub/sub hub with publishers, each validator's pubsub_events "
                               "listener subscribed to it, and hub outages among its faults")
    campaign.add_argument("--watcher", action="store_true",
                          help="give every world the watcher source (an orchestrator's job-event log) watched by "
                               "each validator's watcher_events listener (it brings no fault kind of its own)")
    campaign.add_argument("--gas", action="store_true",
                          help="switch gas on in every world: validators and users pay kwil's fees from a drawn "
                               "balance")
    campaign.add_argument("--load", action="store_true",
                          help="give every world users sending txs (now and then from a node's own account), "
                               "competing with the votes for mempool room, nonces and block bytes, in blocks "
                               "of a drawn size (the default size in liveness worlds)")


def run_campaign_command(args: argparse.Namespace, console: Any) -> int:
    from pathlib import Path

    from sim.outdir import check_folder
    from sim.testing.campaign import run_campaign

    check_folder(Path(args.out))  # a file, or a place that cannot be written: one line, nothing made

    def progress(done: int, total: int, found: int) -> None:
        console.print(f"  {done}/{total} chunks, {found} failing worlds so far")

    report = run_campaign(args.examples, out=args.out, seed=args.seed, workers=args.workers,
                          liveness_within=args.liveness, evm=args.evm, pubsub=args.pubsub,
                          watcher=args.watcher, gas=args.gas, load=args.load, progress=progress)
    console.print(f"{report.examples} worlds, {len(report.findings)} failing")
    for invariant, count in sorted(report.by_invariant.items()):
        console.print(f"  {invariant}: {count}")
    for finding in report.findings:
        console.print(f"  {','.join(finding.invariants)}: {finding.path}")
    return EXIT_FOUND if report.findings else EXIT_OK
