"""Report generation for bench-100-listeners (100 validators, 1 h): wall time and peak memory.

Runs the scenario once into a temporary run folder (or takes a run folder as argument), then,
each in a fresh process: the baseline, loading the run's frames (``sim.load_run`` +
``frames()``), and ``nodesim report`` (``load_run`` + ``write_report``), and prints the
report's time as a ratio of the baseline's. Targets: report < 10 s and < 500 MB peak RSS.

    python bench/report.py [RUN_DIR]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_MB = 10.0, 500.0

CHILD = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
import sim
run_dir, what = Path(sys.argv[1]), sys.argv[2]
imported = time.perf_counter()
result = sim.load_run(run_dir)
if what == "frames":
    result.frames()
    size = 0
else:
    from sim.report import write_report
    size = write_report(result, run_dir / "report.html").stat().st_size
done = time.perf_counter()
print(json.dumps({"seconds": done - imported, "import_seconds": imported - started, "bytes": size,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(run_dir: Path, what: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(run_dir), what], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nodesim-bench-report-") as tmp:
        if len(sys.argv) > 1:
            run_dir = Path(sys.argv[1])
        else:
            run_dir = Path(tmp) / "run"
            print("running scenarios/bench-100-listeners.toml once (the run is not timed) ...", flush=True)
            subprocess.run([sys.executable, "-m", "sim.cli", "run", "scenarios/bench-100-listeners.toml", "--out",
                            str(run_dir), "--json"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        baseline = measure(run_dir, "frames")
        report = measure(run_dir, "report")
        print(f"baseline, load the run's frames: {baseline['seconds']:.2f} s, peak {baseline['peak_mb']:.0f} MB")
        print(f"report (load_run + write_report): {report['seconds']:.2f} s = "
              f"{report['seconds'] / baseline['seconds']:.2f}x the baseline, peak {report['peak_mb']:.0f} MB, "
              f"file {report['bytes'] / 1e6:.1f} MB; with imports {report['seconds'] + report['import_seconds']:.2f} s")
        print(f"targets: {TARGET_SECONDS:g} s ({report['seconds'] / TARGET_SECONDS:.2f} of budget), "
              f"{TARGET_MB:g} MB ({report['peak_mb'] / TARGET_MB:.2f} of budget)")


if __name__ == "__main__":
    main()
