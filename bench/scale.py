"""Wall time and peak memory of the scale workloads, each in a fresh process, against a
yardstick measured in the same run: SimPy doing one million timeouts, just before and just
after each row.

The yardstick makes figures from a busy or a quiet machine comparable: a row's "x simpy" is
its CPU seconds divided by the mean of the yardstick's readings just before and just after
the row (a shared machine's speed moves over the minutes the rows take). Rows (issue "fast
where users feel it"):

    bench-100                 100 validators, 1 h, no listeners
    bench-100-listeners       the same with every validator storing one event a second
    bench-100-listeners-6h    six virtual hours of it (memory must stay flat: peak vs 1 h)
    1000-validators           1,000 validators, 10 min, no listeners
    1000-validators-listeners 1,000 validators, 10 min, one event a second
    busy-chain-100            100 validators, 1 h, users sending 50 txs/s ([load])
    1000-validators-partition 1,000 validators, 3 min, 300 of them cut off for 90 s (the
                              progress checks' connected-majority search, catch-up after it)
    1000-validators-churn     1,000 validators, 2 min, 40 crashes each followed by a restart
                              1-15 s later (every one re-plans the heights in progress)
    bench-100-listeners-file  bench-100-listeners for 10 min with ``storage = "file"``: each
                              node's event store in SQLite under a run folder (written too)
    1000-validators-unequal   1,000 validators of powers 1, 2, 3, 4, 1, ... for 2 min (quorums
                              are weighted sums, not the k-th arrival)
    busy-chain-saturated      scenarios/busy-chain.toml with 40 validators and users sending
                              600 txs/s into 32 kB blocks, 5 min: full mempools, and tens of
                              thousands of txs in flight that never fit a block

    .venv/bin/python bench/scale.py [ROW ...]
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from functools import partial
from pathlib import Path

from yardstick import REFERENCE, bracketed

ROOT = Path(__file__).resolve().parent.parent

# row -> (scenario file, overrides, (wall target s, memory target MB) or None)
ROWS: dict[str, tuple[str, dict[str, object], tuple[float, float] | None]] = {
    "bench-100": ("bench-100", {}, (2.0, 0)),
    "bench-100-listeners": ("bench-100-listeners", {}, (8.0, 250)),
    "bench-100-listeners-6h": ("bench-100-listeners", {"scenario.duration": "6h"}, (50.0, 0)),
    "1000-validators": ("bench-100", {"validators.count": 1000, "scenario.duration": "10m"}, (10.0, 0)),
    "1000-validators-listeners": ("bench-100-listeners", {"validators.count": 1000,
                                                          "scenario.duration": "10m"}, (40.0, 500)),
    "busy-chain-100": ("bench-100", {"load.rate": "50/s", "load.accounts": 100}, None),
    "1000-validators-partition": ("bench-100", {"validators.count": 1000, "scenario.duration": "3m"}, None),
    "1000-validators-churn": ("bench-100", {"validators.count": 1000, "scenario.duration": "2m"}, None),
    "bench-100-listeners-file": ("bench-100-listeners", {"validators.storage": "file",
                                                         "scenario.duration": "10m"}, None),
    "1000-validators-unequal": ("bench-100", {"validators.count": 1000, "scenario.duration": "2m",
                                              "validators.power": str([1 + i % 4 for i in range(1000)])}, None),
    "busy-chain-saturated": ("busy-chain", {"validators.count": 40, "load.rate": "600/s",
                                            "scenario.duration": "5m"}, None),
}


def _churn(crashes: int, nodes: int, seed: int) -> str:
    """``crashes`` crash faults at 5-100 s, each node restarted 1-15 s after its crash."""
    rng = random.Random(seed)
    text = ""
    for _ in range(crashes):
        node, at = rng.randrange(nodes), rng.uniform(5, 100)
        text += f'\n[[faults]]\nat = "{at:.3f}s"\nkind = "crash"\nnode = "v{node}"\n'
        text += f'\n[[faults]]\nat = "{at + rng.uniform(1, 15):.3f}s"\nkind = "restart"\nnode = "v{node}"\n'
    return text


# row -> scenario text appended to its file (what overrides cannot say: lists of tables)
EXTRA = {
    "1000-validators-partition": (
        '\n[[faults]]\nat = "30s"\nkind = "partition"\nduration = "90s"\n'
        f"groups = [{[f'v{i}' for i in range(700, 1000)]}, {[f'v{i}' for i in range(700)]}]\n"
    ).replace("'", '"'),
    "1000-validators-churn": _churn(40, 1000, seed=3),
}

CHILD = """
import json, resource, sys, tempfile, time
import sim
text = open(sys.argv[1], encoding="utf-8").read() + sys.argv[3]
scenario = sim.parse_scenario(text, file=sys.argv[1], overrides=json.loads(sys.argv[2]), allow_large=True)
folder = tempfile.TemporaryDirectory()  # file storage needs a run folder
started = time.process_time()
result = sim.run(scenario, out=folder.name if scenario.validators.storage == "file" else None)
cpu = time.process_time() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": result.summary["wall_seconds"], "cpu": cpu, "virtual": result.summary["virtual_seconds"],
                  "blocks": result.summary["blocks"], "peak_mb": peak_mb,
                  "resolutions": result.summary["resolutions_passed"],
                  "user_txs": result.summary.get("user_txs_committed")}))
"""

def measure(row: str) -> dict[str, float]:
    name, overrides, _target = ROWS[row]
    path = ROOT / "scenarios" / f"{name}.toml"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(overrides), EXTRA.get(row, "")],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = sys.argv[1:] or list(ROWS)
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise SystemExit(f"unknown row {unknown[0]!r}; rows: {', '.join(ROWS)}")
    peaks: dict[str, float] = {}
    for row in rows:
        m, simpy_cpu, yardstick = bracketed(partial(measure, row))
        peaks[row] = m["peak_mb"]
        target = ROWS[row][2]
        line = (f"{row}: {m['wall']:.2f} s wall, {m['cpu']:.2f} s CPU = {m['cpu'] / simpy_cpu:.1f}x simpy "
                f"({yardstick}), "
                f"peak {m['peak_mb']:.0f} MB; {m['virtual']:.0f} s virtual, {m['blocks']} blocks, "
                f"{m['resolutions']} resolutions")
        if m.get("user_txs") is not None:
            line += f", {m['user_txs']} user txs committed"
        if target is not None:
            wall, memory = target
            line += f"; target {wall:g} s at {REFERENCE:g} s simpy = {wall / REFERENCE:.1f}x simpy"
            if memory:
                line += f", {memory:g} MB"
        if row == "bench-100-listeners-6h" and "bench-100-listeners" in peaks:
            line += f"; peak / 1 h peak = {m['peak_mb'] / peaks['bench-100-listeners']:.2f} (target <= 1.2)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
