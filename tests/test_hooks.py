"""User hooks: `check` imports and checks them like `run` would; a raising resolve hook is
counted, traced, printed, and not reported as a clean pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sim
from sim.errors import ScenarioError
from sim.hooks import check_hooks

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = """
[scenario]
name = "hooks"
duration = "2m"
[consensus]
timeout_commit = "1s"
[resolutions.note]
{resolve}
[sources.script]
rate = "6/min"
type = "note"
{listeners}
"""
GOOD = "async def listen(service, eventstore):\n    return None\n"


def write(tmp_path: Path, module: str = "", resolve: str = "", listeners: str = "") -> Path:
    """A scenario in its own folder, with ``myhooks.py`` beside it."""
    folder = tmp_path / "scenarios"
    folder.mkdir(exist_ok=True)
    if module:
        (folder / "myhooks.py").write_text(module)
    path = folder / "hooks.toml"
    path.write_text(SCENARIO.format(resolve=resolve, listeners=listeners))
    return path


def nodesim(*args: str) -> subprocess.CompletedProcess[str]:
    # From the repository root, not the scenario's folder: the folder must be found by nodesim.
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)


@pytest.mark.parametrize(("module", "section", "message"), [
    ("", '[app.listeners]\nmine = "nosuchmodule_xyz:listen"\n',
     "app.listeners.mine: cannot load 'nosuchmodule_xyz:listen': No module named 'nosuchmodule_xyz'"),
    (GOOD, '[app.listeners]\nmine = "myhooks:nothing"\n',
     "app.listeners.mine: cannot load 'myhooks:nothing': module 'myhooks' has no attribute 'nothing'"),
    ("def listen(service, eventstore):\n    pass\n", '[app.listeners]\nmine = "myhooks:listen"\n',
     "app.listeners.mine: expected \"module:function\" naming an async def listen(service, eventstore), "
     "got 'myhooks:listen': def listen(service, eventstore)"),
    ("async def listen(service):\n    pass\n", '[app.listeners]\nmine = "myhooks:listen"\n',
     "app.listeners.mine: expected \"module:function\" naming an async def listen(service, eventstore), "
     "got 'myhooks:listen': async def listen(service)"),
    ("raise RuntimeError('broken module')\n", '[app.listeners]\nmine = "myhooks:listen"\n',
     "app.listeners.mine: cannot load 'myhooks:listen': importing myhooks raised RuntimeError: broken module"),
])
def test_check_and_run_fail_the_same_way_on_a_bad_listener(tmp_path: Path, module: str, section: str,
                                                           message: str) -> None:
    path = write(tmp_path, module, listeners=section)
    check = nodesim("check", str(path))
    run = nodesim("run", str(path), "--out", str(tmp_path / "out"))
    for proc in (check, run):
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.strip() == f"nodesim: {path}: {message}"
    assert not (tmp_path / "out").exists()


def test_a_resolve_hook_with_the_wrong_shape_fails_check(tmp_path: Path) -> None:
    path = write(tmp_path, "def resolve(a, b):\n    pass\n", resolve='resolve = "myhooks:resolve"')
    proc = nodesim("check", str(path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"nodesim: {path}: resolutions.note.resolve: expected \"module:function\" naming a def resolve(ctx) "
        "that takes one ResolveContext, got 'myhooks:resolve': def resolve(a, b)")


def test_a_hook_beside_the_scenario_is_found_from_anywhere(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "def resolve(ctx):\n    ctx.state.put('seen', ctx.body)\n",
                 resolve='resolve = "myhooks:resolve"', listeners='[app.listeners]\nmine = "myhooks:listen"\n')
    check = nodesim("check", str(path))
    assert check.returncode == 0, check.stderr
    assert "estimate: ~" in check.stdout
    run = nodesim("run", str(path), "--out", str(tmp_path / "out"), "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["resolutions_passed"] > 0 and summary["resolve_errors"] == 0


def test_a_run_folder_keeps_its_hooks_so_replaying_it_needs_no_scenario_folder(tmp_path: Path) -> None:
    """simulator.md: a run folder's scenario.toml replays the run. Hooks taken from the
    scenario's folder are copied beside it, so the replay finds them (it failed with "No
    module named 'myhooks'" when the run folder was elsewhere)."""
    path = write(tmp_path, GOOD + "def resolve(ctx):\n    ctx.state.put('seen', ctx.body)\n",
                 resolve='resolve = "myhooks:resolve"', listeners='[app.listeners]\nmine = "myhooks:listen"\n')
    out = tmp_path / "elsewhere" / "run"
    run = nodesim("run", str(path), "--out", str(out), "-q")
    assert run.returncode == 0, run.stderr
    assert (out / "myhooks.py").read_text() == (path.parent / "myhooks.py").read_text()
    replay = subprocess.run([sys.executable, "-m", "sim.cli", "replay", str(out), "--out", str(tmp_path / "again")],
                            capture_output=True, text=True, cwd=tmp_path, check=False)
    assert replay.returncode == 0, replay.stdout + replay.stderr


def test_a_resolve_hook_that_raises_is_counted_traced_printed_and_not_a_clean_pass(tmp_path: Path) -> None:
    path = write(tmp_path, resolve='resolve = "os:system"')  # system(ctx): TypeError
    scenario = sim.load_scenario(path)
    result = sim.run(scenario)
    summary = result.summary
    assert summary["resolve_errors"] > 0
    assert summary["resolutions_passed"] == 0  # every pass raised: none is clean
    assert "TypeError" in summary["resolve_error_messages"][0]
    assert len(summary["resolve_error_messages"]) == min(5, summary["resolve_errors"])
    assert sum(1 for r in result.trace if r["event"] == "resolution.error") == summary["resolve_errors"]
    proc = nodesim("run", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout.splitlines()[0] and "resolve hook error(s)" in proc.stdout.splitlines()[0]
    assert any(line.startswith("resolve error note ") and "TypeError" in line for line in proc.stdout.splitlines())


def test_a_byzantine_class_that_raises_stops_the_run_with_one_line_and_exit_3(tmp_path: Path) -> None:
    """A user's behaviour raising is user code failing: one line naming node, class and hook,
    exit 3, no traceback, no output folder (the run could not go on)."""
    module = ("from node.behaviours import Behaviour\n\nclass Broken(Behaviour):\n"
              "    def vote_ids(self, ctx, votes):\n        raise KeyError('oops')\n")
    path = write(tmp_path, module, listeners='[nodes.v2]\nbyzantine = "myhooks:Broken"\n')
    proc = nodesim("run", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stderr.strip() == ("nodesim: v2: byzantine behaviour 'myhooks:Broken' raised in vote_ids: "
                                   "KeyError: 'oops'")
    assert not (tmp_path / "out").exists()


def test_sim_run_checks_hooks_too(tmp_path: Path) -> None:
    path = write(tmp_path, "def listen(service, eventstore):\n    pass\n",
                 listeners='[app.listeners]\nmine = "myhooks:listen"\n')
    scenario = sim.load_scenario(path)
    with pytest.raises(ScenarioError, match="naming an async def listen"):
        sim.run(scenario)
    with pytest.raises(ScenarioError, match="naming an async def listen"):
        check_hooks(scenario)
