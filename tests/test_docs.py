"""Every code block of README.md and docs/*.md runs as written.

Blocks run in order, one scratch folder per document (with the repository's ``scenarios/``
and ``examples/`` linked in, and ``.venv`` pointing at this interpreter's environment):
``python`` blocks as scripts, ``sh``/``bash`` blocks with ``bash -e`` (``nodesim`` and
``python`` on PATH), ``toml`` blocks as scenarios (a fragment is added to a minimal
``[scenario]``). A block that is not meant to run is followed by the line
``<!-- not run: why -->``; any other language is an error, so nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sim.scenario import TOP_LEVEL, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)\s*$")
NOT_RUN = re.compile(r"^<!-- not run: (.+) -->$")
MINIMAL = '[scenario]\nname = "doc"\nduration = "1h"\n'
MAX_NOT_RUN = 8  # blocks across all docs that are examples of output or need a human


def blocks(path: Path) -> list[tuple[int, str, str, str | None]]:
    """(line, language, code, reason it is not run or None) for each fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, lang = i + 1, match.group(1)
        end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
        after = lines[end + 1] if end + 1 < len(lines) else ""
        reason = NOT_RUN.match(after)
        found.append((start, lang, "\n".join(lines[start:end]) + "\n", reason.group(1) if reason else None))
        i = end + 1
    return found


def scratch(tmp_path: Path) -> Path:
    for name in ("scenarios", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    return tmp_path


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env["MPLBACKEND"] = "Agg"
    return env


def run_block(lang: str, code: str, cwd: Path, where: str) -> None:
    if lang == "python":
        script = cwd / "block.py"
        script.write_text(code)
        proc = subprocess.run([sys.executable, str(script)], cwd=cwd, env=environment(), capture_output=True,
                              text=True, check=False, timeout=600)
    elif lang in ("sh", "bash"):
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=cwd, env=environment(),
                              capture_output=True, text=True, check=False, timeout=600)
    elif lang == "toml":
        data = tomllib.loads(code)
        assert set(data) <= set(TOP_LEVEL), f"{where}: a toml block that is not a scenario: {sorted(data)}"
        text = code if "scenario" in data else MINIMAL + code
        parse_scenario(text, file=where)
        return
    else:
        raise AssertionError(f"{where}: a ```{lang} block that does not run must be followed by "
                             "<!-- not run: why -->")
    assert proc.returncode == 0, f"{where} ({lang}) failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_code_block_runs_as_written(doc: Path, tmp_path: Path) -> None:
    cwd = scratch(tmp_path)
    for line, lang, code, reason in blocks(doc):
        if reason is None:
            run_block(lang, code, cwd, f"{doc.name}:{line}")


def test_blocks_that_do_not_run_are_few_and_say_why() -> None:
    skipped = [(doc.name, line, reason) for doc in DOCS for line, _, _, reason in blocks(doc) if reason]
    assert len(skipped) <= MAX_NOT_RUN, skipped
    assert all(len(reason) > 10 for _, _, reason in skipped)


def test_readme_starts_with_its_two_commands() -> None:
    first = blocks(ROOT / "README.md")[0]
    assert first[2].splitlines() == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/nodesim run scenarios/quickstart.toml",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/python -m pytest",
    ]


def test_ci_runs_the_readme_tests_and_then_the_slow_ones() -> None:
    """The suite leaves the slow tests out (pyproject's addopts); CI must still run them,
    after the README's own command, or they would run nowhere."""
    import shlex

    readme_tests = blocks(ROOT / "README.md")[0][2].splitlines()[1]
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert readme_tests in lines
    after = lines[lines.index(readme_tests) + 1:]
    assert ".venv/bin/python -m pytest -m slow" in after
    pytest_config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = shlex.split(pytest_config["addopts"])
    assert addopts[addopts.index("-m") + 1] == "not slow"


def test_docs_cite_no_file_outside_the_repo() -> None:
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert "simulator.md" not in text and "kwil.md" not in text, doc
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            if not target.startswith("http"):
                assert (doc.parent / target).exists(), f"{doc.name}: link to missing {target}"
