"""Wall time and peak memory of the scale scenarios, each in a fresh process.

Prints, per scenario: wall seconds, virtual seconds / wall seconds (the speed-up over real
time, the baseline being real time itself), and peak RSS. Targets: bench-100 <= 5 s
(720x real time) and < 500 MB; bench-100-listeners <= 15 s and < 1 GB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"bench-100": (5.0, 500), "bench-100-listeners": (15.0, 1024)}

CHILD = """
import json, resource, sys
import sim
result = sim.run(sim.load_scenario(sys.argv[1]))
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": result.summary["wall_seconds"], "virtual": result.summary["virtual_seconds"],
                  "blocks": result.summary["blocks"], "peak_mb": peak_mb,
                  "resolutions": result.summary["resolutions_passed"]}))
"""


def measure(name: str) -> dict[str, float]:
    path = ROOT / "scenarios" / f"{name}.toml"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    names = sys.argv[1:] or list(TARGETS)
    for name in names:
        m = measure(name)
        wall_target, mem_target = TARGETS.get(name, (float("inf"), float("inf")))
        print(f"{name}: {m['wall']:.2f} s wall for {m['virtual']:.0f} s virtual "
              f"({m['virtual'] / m['wall']:.0f}x real time), {m['blocks']} blocks, "
              f"{m['resolutions']} resolutions, peak {m['peak_mb']:.0f} MB "
              f"(targets: {wall_target:g} s = {m['wall'] / wall_target:.2f} of budget, "
              f"{mem_target} MB = {m['peak_mb'] / mem_target:.2f} of budget)")


if __name__ == "__main__":
    main()
