"""Where the command writes: bad output paths refused in one line with nothing written, the
permissions of written files, what -q prints, and the determinism check's hash seed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import second_hash_seed
from sim.outdir import atomic_path, atomic_write, check_file, check_folder, normal_file_mode

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ('[scenario]\nname = "s"\nduration = "2m"\n[consensus]\ntimeout_commit = "1s"\n'
            '[resolutions.note]\n[sources.script]\nrate = "6/min"\ntype = "note"\n')
PROC = Path("/proc")
needs_proc = pytest.mark.skipif(not PROC.is_dir(), reason="needs /proc (Linux)")


def nodesim(*args: str, cwd: Path, env: dict[str, str] | None = None,
            umask: int | None = None) -> subprocess.CompletedProcess[str]:
    prelude = f"import os; os.umask({umask})\n" if umask is not None else ""
    code = f"import sys\n{prelude}from sim.cli import main\nsys.exit(main(sys.argv[1:]))"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, check=False)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "s.toml").write_text(SCENARIO)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    return tmp_path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    (folder / "s.toml").write_text(SCENARIO)
    proc = nodesim("run", "s.toml", "--out", "r", "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "r"


# -- sweep and campaign --out ----------------------------------------------------------------
COMMANDS = {"sweep": ["sweep", "s.toml", "--seeds", "1"], "campaign": ["campaign", "--examples", "1"]}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("out", "says"), [("afile", "is a file"), ("afile/x", "is under afile, which is a file")])
def test_a_folder_option_naming_a_file_is_one_line(work: Path, command: str, out: str, says: str) -> None:
    before = listing(work)
    line = one_line(nodesim(*COMMANDS[command], "--out", out, cwd=work))
    assert line == f"nodesim: --out {out}: {says}; expected a folder"
    assert listing(work) == before


@needs_proc
@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_option_that_cannot_be_made_is_one_line(work: Path, command: str) -> None:
    before = listing(work)
    line = one_line(nodesim(*COMMANDS[command], "--out", "/proc/nodesim-x/y", cwd=work))
    assert line.startswith("nodesim: --out /proc/nodesim-x/y: cannot write there (")
    assert listing(work) == before


def test_sweeps_default_folder_under_a_file_is_one_line(work: Path) -> None:
    (work / "runs").write_text("not a folder")
    line = one_line(nodesim(*COMMANDS["sweep"], cwd=work))
    assert line.startswith("nodesim: runs (where the default --out runs/sweep-<name>/ goes): is a file")


def test_check_folder_leaves_no_folder_it_made_to_probe(tmp_path: Path) -> None:
    check_folder(tmp_path / "a" / "b")
    assert listing(tmp_path) == []


# -- report and export -o --------------------------------------------------------------------
EXTRACTS = {"report": ["report"], "export": ["export", "--perfetto"]}


def _extract(command: str, run_dir: Path, output: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    args = EXTRACTS[command]
    return nodesim(args[0], str(run_dir), *args[1:], "-o", output, cwd=cwd)


@pytest.mark.parametrize("command", EXTRACTS)
def test_an_output_file_naming_a_folder_is_one_line_and_leaves_no_temporary_file(
        work: Path, run_dir: Path, command: str) -> None:
    before, run_before = listing(work), listing(run_dir)
    line = one_line(_extract(command, run_dir, "adir", work))
    assert line == "nodesim: -o adir: is a folder; expected a file"
    assert listing(work) == before and listing(run_dir) == run_before


@pytest.mark.parametrize("command", EXTRACTS)
def test_an_output_file_under_a_file_is_one_line(work: Path, run_dir: Path, command: str) -> None:
    before = listing(work)
    line = one_line(_extract(command, run_dir, "afile/x.out", work))
    assert line == "nodesim: -o afile/x.out: is under afile, which is a file, not a folder"
    assert listing(work) == before


@needs_proc
@pytest.mark.parametrize("command", EXTRACTS)
def test_an_output_file_that_cannot_be_written_is_one_line(work: Path, run_dir: Path, command: str) -> None:
    before = listing(work)
    line = one_line(_extract(command, run_dir, "/proc/nodesim-x.out", work))
    assert line.startswith("nodesim: -o /proc/nodesim-x.out: cannot write there (")
    assert listing(work) == before


def test_check_file_accepts_a_new_file_in_a_new_folder_and_makes_nothing(tmp_path: Path) -> None:
    check_file(tmp_path / "new" / "x.html")
    assert listing(tmp_path) == []


# -- campaign's numbers ------------------------------------------------------------------------
@pytest.mark.parametrize(("flag", "value", "expected"), [
    ("--seed", "-5", "an integer between 0 and 18446744073709551615"),
    ("--seed", str(2**64), "an integer between 0 and 18446744073709551615"),
    ("--seed", "x", "an integer between 0 and 18446744073709551615"),
    ("--workers", "0", "an integer >= 1"),
    ("--workers", "-2", "an integer >= 1"),
    ("--examples", "0", "an integer >= 1"),
    ("--liveness", "0s", 'a duration from 1s to 10m, like "90s"'),
    ("--liveness", "2h", 'a duration from 1s to 10m, like "90s"'),
    ("--liveness", "90", 'a duration from 1s to 10m, like "90s"'),
])
def test_campaign_refuses_bad_numbers_like_run_and_sweep(work: Path, flag: str, value: str, expected: str) -> None:
    line = one_line(nodesim("campaign", "--examples", "1", flag, value, "--out", "camp", cwd=work))
    assert line.startswith(f"nodesim: campaign: argument {flag}: expected {expected}, got "), line
    assert not (work / "camp").exists()


# -- permissions of written files --------------------------------------------------------------
def test_atomic_write_gives_a_new_files_permissions_and_leaves_no_temporary(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        atomic_write(tmp_path / "a.txt", lambda handle: handle.write("hello"))
        assert normal_file_mode() == 0o640
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert listing(tmp_path) == ["a.txt"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert listing(tmp_path) == ["a.txt"] and (tmp_path / "a.txt").read_text() == "old"


def test_report_export_and_records_get_umask_permissions(run_dir: Path, tmp_path: Path) -> None:
    for args in (["report", str(run_dir), "-o", "x.html"], ["export", str(run_dir), "--perfetto", "-o", "x.json"],
                 ["replay", str(run_dir), "--out", "again", "-q"]):
        proc = nodesim(*args, cwd=tmp_path, umask=0o027)
        assert proc.returncode == 0, proc.stderr
    written = [tmp_path / "x.html", tmp_path / "x.json", *(tmp_path / "again" / "records").iterdir()]
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {p.name: "0o640" for p in written}


def test_run_and_sweep_files_get_the_umask_permissions(work: Path) -> None:
    """A run's files and a sweep's table are made as ``open()`` would make them (0o666 less
    the umask), not mkstemp's owner-only 0o600."""
    assert nodesim("run", "s.toml", "--out", "r", "-q", cwd=work, umask=0o027).returncode == 0
    proc = nodesim("sweep", "s.toml", "--seeds", "1", "--workers", "1", "--out", "sw", cwd=work, umask=0o027)
    assert proc.returncode == 0, proc.stderr
    written = [work / "r" / name for name in ("summary.json", "scenario.toml", "trace.jsonl", "metrics.csv")]
    written.append(work / "sw" / "sweep.parquet")
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {p.name: "0o640" for p in written}


# -- what -q prints ----------------------------------------------------------------------------
def test_quiet_prints_only_the_verdict_even_with_report_and_perfetto(work: Path) -> None:
    proc = nodesim("run", "s.toml", "--out", "o", "-q", "--report", "--perfetto", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [proc.stdout.strip()] and proc.stdout.startswith("s seed 0: ok")
    assert proc.stderr == ""
    assert (work / "o" / "report.html").is_file() and (work / "o" / "trace.perfetto.json").is_file()


def test_json_still_says_what_it_wrote_on_stderr(work: Path) -> None:
    proc = nodesim("run", "s.toml", "--out", "o", "--json", "-q", "--perfetto", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["seed"] == 0
    assert "wrote o/trace.perfetto.json" in proc.stderr


# -- the determinism check's hash seed ---------------------------------------------------------
@pytest.mark.parametrize("first", [None, "", "random", "0", "7", "4294967295"])
def test_the_second_hash_seed_is_fixed_valid_and_unlike_the_first(first: str | None) -> None:
    second = second_hash_seed(first)
    assert 0 <= int(second) <= 4294967295
    assert second != first


def test_check_determinism_runs_under_a_random_hash_seed(work: Path) -> None:
    proc = nodesim("run", "s.toml", "--out", "o", "-q", "--check-determinism", cwd=work,
                   env={"PYTHONHASHSEED": "random"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "determinism check passed" in proc.stdout
