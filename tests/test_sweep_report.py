"""nodesim report SWEEP_DIR: parameter plots over seeds, and rows linking to their run reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.report.sweep import write_sweep_report
from sim.sweep import sweep
from sim.sweep_store import RUNS_DIR
from tests.test_report import embedded_sources

# every test shares a fixture of seconds: the module runs whole, among the first (conftest.py)
pytestmark = pytest.mark.heavy

SMALL = """
[scenario]
name = "small"
duration = "2m"
[network]
latency = { dist = "fixed", value = "50ms" }
[consensus]
timeout_commit = "1s"
[validators]
count = 4
[resolutions.note]
expiration_period = 50
[sources.script]
rate = "10/min"
type = "note"
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    root = tmp_path_factory.mktemp("sweep")
    scenario = root / "small.toml"
    scenario.write_text(SMALL, encoding="utf-8")
    out = root / "out"
    table = sweep(scenario, seeds=2, params={"consensus.timeout_commit": ["500ms", "2s"]}, workers=2,
                  out=out, keep_runs=True)
    return table, out


def test_sweep_report_links_every_kept_run_to_its_report(swept: tuple[pd.DataFrame, Path]) -> None:
    table, out = swept
    assert main(["report", str(out)]) == 0
    data = embedded_sources(out / "report.html")
    rows = data["sweep_table"]
    assert rows["seed"] == table["seed"].tolist()
    assert rows["consensus.timeout_commit"] == table["consensus.timeout_commit"].tolist()
    assert len(rows["report"]) == len(table) == 4
    for link, seed, timeout in zip(rows["report"], rows["seed"], rows["consensus.timeout_commit"], strict=True):
        assert link.startswith(f"{RUNS_DIR}/") and link.endswith("/report.html")
        target = out / link
        assert target.is_file()
        assert f"consensus.timeout_commit={timeout}" in link and f"seed={seed}" in link
        run_rows = embedded_sources(target)["blocks"]
        assert len(run_rows["height"]) > 0


def test_sweep_report_plots_the_mean_over_seeds(swept: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    table, out = swept
    path = write_sweep_report(out, tmp_path / "elsewhere.html")
    data = embedded_sources(path)
    plotted = data["sweep:block_time_p50:consensus.timeout_commit"]
    expected = table.groupby("consensus.timeout_commit", sort=False)["block_time_p50"].mean()
    assert plotted["value"] == list(expected.index)
    assert np.allclose(plotted["mean"], expected.to_numpy())
    assert all(low <= mean <= high for low, mean, high in zip(plotted["low"], plotted["mean"], plotted["high"],
                                                             strict=True))
    # Links are relative to where the report is written.
    links = data["sweep_table"]["report"]
    assert all((tmp_path / link).is_file() for link in links)


def test_sweep_without_kept_runs_has_no_links(tmp_path: Path) -> None:
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL, encoding="utf-8")
    sweep(scenario, seeds=2, params={"consensus.timeout_commit": ["500ms", "2s"]}, workers=1, out=tmp_path / "o")
    data: dict[str, Any] = embedded_sources(write_sweep_report(tmp_path / "o"))
    assert data["sweep_table"]["report"] == ["", "", "", ""]
    assert not (tmp_path / "o" / RUNS_DIR).exists()


def test_keep_runs_needs_an_output_folder(tmp_path: Path) -> None:
    from sim.errors import NodesimError

    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL, encoding="utf-8")
    with pytest.raises(NodesimError, match="keep_runs: needs an output folder"):
        sweep(scenario, seeds=1, workers=1, keep_runs=True)
