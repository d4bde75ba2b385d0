"""The command at its edges: honest exit codes, one-line errors, Ctrl-C, output folders."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUICK = str(ROOT / "scenarios" / "quickstart.toml")
SHORT = ["--allow-large"]


def nodesim(*args: str, cwd: Path = ROOT, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{prelude}\nfrom sim.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          check=False)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def small(tmp_path: Path, body: str = "", name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text('[scenario]\nname = "s"\nduration = "2m"\n[consensus]\ntimeout_commit = "1s"\n'
                    '[resolutions.note]\n[sources.script]\nrate = "6/min"\ntype = "note"\n' + body)
    return path


def long_run(tmp_path: Path) -> Path:
    path = tmp_path / "long.toml"
    path.write_text((ROOT / "scenarios" / "bench-100.toml").read_text().replace('duration = "1h"',
                                                                             'duration = "10h"'))
    return path


# -- Ctrl-C ----------------------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_during_run_exits_130_with_one_line_and_a_partial_summary(tmp_path: Path, signum: int) -> None:
    """Ctrl-C, or SIGTERM (a job's timeout, ``kill``), stops a run the same way."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(long_run(tmp_path)), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed once the run is about to start
    assert first.startswith("estimate: "), first
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("nodesim: interrupted at ")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "interrupted"
    assert summary["virtual_seconds"] < 36000


def test_ctrl_c_during_sweep_exits_130_with_one_line(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(long_run(tmp_path)), "--seeds", "4",
                             "--workers", "1", "--out", str(tmp_path / "sw")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("sweep ")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "interrupted: finished runs are kept in" in stdout


def _marked_processes(mark: str) -> list[int]:
    """Live processes whose environment carries ``mark`` (a command and every process it started)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"NODESIM_TEST_MARK={mark}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc to find the workers")
def test_sigterm_during_sweep_stops_its_workers_and_exits_130(tmp_path: Path) -> None:
    """SIGTERM used to kill the sweep's own process at once and leave its worker processes
    running; it now ends the sweep as Ctrl-C does, workers stopped, finished runs kept."""
    mark = str(tmp_path)
    env = {**os.environ, "NODESIM_TEST_MARK": mark}
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(long_run(tmp_path)), "--seeds", "4",
                             "--workers", "2", "--out", str(tmp_path / "sw")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("sweep ")
    deadline = time.monotonic() + 120
    while len(_marked_processes(mark)) < 3 and time.monotonic() < deadline:  # the sweep and its two workers
        time.sleep(0.05)
    assert len(_marked_processes(mark)) >= 3, "the sweep never started its workers"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "interrupted: finished runs are kept in" in stdout
    deadline = time.monotonic() + 30  # a terminated worker may take a moment to be reaped
    while _marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked_processes(mark) == []


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc to find the workers")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_campaign_stops_at_once_and_leaves_no_worker(tmp_path: Path, how: str) -> None:
    """Ctrl-C (the whole process group) or SIGTERM: the campaign used to run every world
    still queued before it stopped; it now stops its workers and gives the rest up."""
    mark = str(tmp_path)
    env = {**os.environ, "NODESIM_TEST_MARK": mark}
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "campaign", "--examples", "5000", "--workers", "2",
                             "--out", str(tmp_path / "camp")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=env, start_new_session=True)
    assert proc.stdout is not None
    assert "chunks" in proc.stdout.readline()  # a first chunk of worlds is done: the workers run
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stdout + stderr
    assert stderr.strip() == "nodesim: interrupted", stderr
    assert "5000 worlds" not in stdout  # (the line a finished campaign ends with)
    deadline = time.monotonic() + 30  # a terminated worker may take a moment to be reaped
    while _marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked_processes(mark) == []


# -- stopping on purpose ------------------------------------------------------------------------
def test_max_wall_stops_with_partial_results_and_exit_4(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = nodesim("run", str(long_run(tmp_path)), "--max-wall", "1s", "--out", str(out))
    assert proc.returncode == 4, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "max-wall" and summary["virtual_seconds"] < 36000
    assert "stopped by --max-wall" in proc.stdout
    assert nodesim("run", QUICK, "--max-wall", "soon").returncode == 2


# -- output folders -------------------------------------------------------------------------------
def test_out_that_cannot_hold_a_run_is_refused_before_the_simulation(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    cases = {
        str(a_file): f"--out {a_file}: is a file; expected a folder",
        str(a_file / "sub"): f"--out {a_file / 'sub'}: is under {a_file}, which is a file; expected a folder",
        str(busy): f"--out {busy}: is a folder that holds other files (not a previous run); choose a new or "
                   "empty folder",
    }
    for out, message in cases.items():
        proc = nodesim("run", str(small(tmp_path)), "--out", out)
        assert proc.returncode == 2 and one_line(proc) == f"nodesim: {message}"
    assert (busy / "notes.txt").read_text() == "mine" and sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    if Path("/proc/self").is_dir():
        proc = nodesim("run", str(small(tmp_path)), "--out", "/proc/nodesim-run")
        assert proc.returncode == 2 and one_line(proc).startswith("nodesim: --out /proc/nodesim-run: cannot write")


def test_a_previous_run_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert nodesim("run", str(small(tmp_path)), "--out", str(out), "-q").returncode == 0
    again = nodesim("run", str(small(tmp_path)), "--out", str(out), "--seed", "5")
    assert again.returncode == 2
    assert one_line(again) == f"nodesim: --out {out}: holds a previous run; pass --overwrite to replace it"
    assert json.loads((out / "summary.json").read_text())["seed"] == 0
    replaced = nodesim("run", str(small(tmp_path)), "--out", str(out), "--seed", "5", "--overwrite", "-q")
    assert replaced.returncode == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 5


# -- arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", ["-1", str(2**64), "seven"])
def test_seed_outside_64_bits_is_refused_by_the_cli(tmp_path: Path, seed: str) -> None:
    proc = nodesim("run", str(small(tmp_path)), "--seed", seed, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert one_line(proc).startswith("nodesim: run: argument --seed: expected an integer between 0 and "
                                     "18446744073709551615")
    assert not (tmp_path / "o").exists()


def test_version_quiet_and_json(tmp_path: Path) -> None:
    version = nodesim("--version")
    assert version.returncode == 0 and version.stdout.startswith("nodesim ")
    quiet = nodesim("run", str(small(tmp_path)), "--out", str(tmp_path / "q"), "-q")
    assert quiet.returncode == 0
    assert quiet.stdout.splitlines() == [quiet.stdout.strip()]
    assert quiet.stdout.startswith("s seed 0: ok (every invariant held); ")
    as_json = nodesim("run", str(small(tmp_path)), "--out", str(tmp_path / "j"), "--json")
    summary = json.loads(as_json.stdout)
    assert summary["stopped"] is None and summary["resolve_errors"] == 0


def test_the_table_is_grouped_with_units_the_full_hash_and_no_none(tmp_path: Path) -> None:
    proc = nodesim("run", str(small(tmp_path, name="t.toml")), "--out", str(tmp_path / "t"))
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("s seed 0: ok")
    headers = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert headers == ["consensus:", "resolutions:", "sources:", "faults:", "run:"]
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert any(line.split() == ["trace_hash", summary["trace_hash"]] for line in lines)
    assert "None" not in proc.stdout
    block_time = next(line for line in lines if line.strip().startswith("block_time_p50"))
    assert block_time.endswith(" s") and len(block_time.split()[-2]) <= 5


@pytest.mark.heavy
def test_replay_says_whether_the_hash_matched(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert nodesim("run", str(small(tmp_path)), "--out", str(out), "-q").returncode == 0
    same = nodesim("replay", str(out), "-q")
    assert same.returncode == 0 and "replay: trace_hash matches the recorded run" in same.stdout
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(json.dumps({**summary, "trace_hash": "0" * 64}))
    differs = nodesim("replay", str(out), "-q")
    assert differs.returncode == 1 and "replay: trace_hash DIFFERS from the recorded run" in differs.stdout


def test_an_unreachable_dask_scheduler_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    proc = nodesim("sweep", str(small(tmp_path)), "--seeds", "1", "--executor", f"dask://127.0.0.1:{port}",
                   "--out", str(tmp_path / "sw"))
    assert proc.returncode == 2
    assert one_line(proc).startswith(f"nodesim: --executor dask://127.0.0.1:{port}: cannot reach the Dask "
                                     "scheduler")


@pytest.mark.parametrize(("blocked", "args", "hint"), [
    ("distributed", ["--executor", "dask"], "pip install 'nodesim[dask]'"),
    ("pandas", [], "pip install nodesim"),
])
def test_a_missing_optional_package_is_one_line_naming_what_to_install(tmp_path: Path, blocked: str,
                                                                       args: list[str], hint: str) -> None:
    proc = nodesim("sweep", str(small(tmp_path)), "--seeds", "1", *args, "--out", str(tmp_path / "sw"),
                   prelude=f"sys.modules[{blocked!r}] = None")
    assert proc.returncode == 2
    line = one_line(proc)
    assert f"needs the {blocked} package, which is not installed: {hint}" in line


@pytest.mark.parametrize("terminal", [True, False])
def test_the_progress_bar_shows_only_on_a_terminal(terminal: bool) -> None:
    """Off a terminal (a pipe, a file) the bar would leave a blank line before the next
    message, so it does not appear at all."""
    import io

    from rich.console import Console

    from sim.cli_args import ProgressBar

    buffer = io.StringIO()
    bar = ProgressBar(Console(file=buffer, force_terminal=terminal, width=80), "long")
    bar._started -= 5.0  # as if the run had taken five seconds so far
    bar(30.0, 60.0)
    bar.close()
    assert ("virtual" in buffer.getvalue()) is terminal
    if not terminal:
        assert buffer.getvalue() == ""


def test_a_run_that_stops_taking_time_ends_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """A world whose heights come to take no time at all (no commit timeout, and a validator
    left alone with all the power after the other leaves) is stopped with one line, exit 2,
    and leaves no run folder (it ended with a traceback)."""
    path = tmp_path / "lone.toml"
    path.write_text('[scenario]\nname = "lone"\nduration = "1m"\n[consensus]\ntimeout_commit = "0s"\n'
                    '[validators]\ncount = 2\n[[faults]]\nat = "5s"\nkind = "leave"\nnode = "v1"\n')
    out = tmp_path / "out"
    proc = nodesim("run", str(path), "--out", str(out))
    assert proc.returncode == 2
    assert one_line(proc).startswith("nodesim: time stands still at t=")
    assert not out.exists()
