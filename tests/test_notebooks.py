"""The four notebooks: they run top to bottom in their small (CI) size, they are saved executed at
full size, and their prose quotes no figure a run measured (the code cells print those)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
PARAMETER_LINE = 'SMALL = os.environ.get("NODESIM_NOTEBOOK_SMALL") == "1"'
FULL_SIZE_BANNER = "full size"  # what the parameter cell prints when SMALL is off

# A number in prose: not glued to a name before it (p50, v2, eth_deposits, kwil-0.8), so
# "0-2 s", "12 validators" and "0.25" count while identifiers do not.
PROSE_NUMBER = re.compile(r"(?<![\w.])(?<![A-Za-z_]-)\d+(?:\.\d+)?")
# A number in code: any numeric literal, also inside strings ("20m", "2/3", "kwil-0.8").
CODE_NUMBER = re.compile(r"(?<![A-Za-z_\d.])\d+(?:\.\d+)?")
HEADING_NUMBER = re.compile(r"^(#+\s*)\d+\.", re.MULTILINE)  # "## 3. Validator count"


def prose_numbers(markdown: str) -> list[str]:
    return PROSE_NUMBER.findall(HEADING_NUMBER.sub(r"\1", markdown))


def adjacent_code(cells: list[nbformat.NotebookNode], index: int) -> str:
    """The source of the code cells next to markdown cell ``index``: the run of code cells
    directly before it and the run directly after it (up to the neighbouring markdown)."""
    sources = []
    for step in (-1, 1):
        i = index + step
        while 0 <= i < len(cells) and cells[i].cell_type == "code":
            sources.append(cells[i].source)
            i += step
    return "\n".join(sources)


def quoted_figures(notebook: nbformat.NotebookNode) -> list[str]:
    """Every number of a markdown cell that no adjacent code cell sets, as "cell N: number"."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        settings = {float(n) for n in CODE_NUMBER.findall(adjacent_code(notebook.cells, index))}
        found += [f"cell {index}: {number}" for number in prose_numbers(cell.source)
                  if float(number) not in settings]
    return found


def test_the_four_stories_exist() -> None:
    names = {path.stem for path in PATHS}
    assert {"consensus_timing", "protocol_0_7_vs_0_8", "churn_and_expiry", "sources"} <= names


@pytest.mark.heavy
@pytest.mark.parametrize("path", PATHS, ids=[path.stem for path in PATHS])
def test_notebook_executes_small(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(path, as_version=4)
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert PARAMETER_LINE in sources
    monkeypatch.setenv("NODESIM_NOTEBOOK_SMALL", "1")  # the kernel inherits this environment
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []


@pytest.mark.parametrize("path", PATHS, ids=[path.stem for path in PATHS])
def test_prose_quotes_no_measured_figure(path: Path) -> None:
    """Markdown cells say what is measured and why; only code cells say how much.

    The rule: every number written in a markdown cell (in `code spans` too) must also appear
    as a number in the source of a code cell adjacent to it, i.e. the run of code cells
    directly before or after it. Such a number is a setting the notebook makes and the prose
    names (`timeout_commit = 1s`, 12 validators, rates of 10 to 90 tx/s). A figure a run
    produces (a latency, a share, a count of events) is in no source, so prose quoting one
    fails here, and a re-run can never contradict the text. Not numbers: the section number
    of a heading ("## 3.") and digits inside a name (p50, v2, kwil-0.8).
    """
    notebook = nbformat.read(path, as_version=4)
    assert quoted_figures(notebook) == []


def test_the_figure_rule_catches_a_quoted_measurement() -> None:
    """The rule above flags measured figures and passes settings named beside their code."""
    cells = [nbformat.v4.new_markdown_cell("## 2. Sweep `timeout_commit` from 1s to 10s over 4 validators"),
             nbformat.v4.new_code_cell('commits = ["1s", "10s"]\nparams = {"validators.count": [4]}'),
             nbformat.v4.new_markdown_cell("Latency p50 is 2.61 s, 52% of it threshold wait, in 27 blocks;"
                                           " `kwil-0.8` takes 0.3 s more"),
             nbformat.v4.new_code_cell("print(results)")]
    flagged = quoted_figures(nbformat.v4.new_notebook(cells=cells))
    assert flagged == ["cell 2: 2.61", "cell 2: 52", "cell 2: 27", "cell 2: 0.3"]


@pytest.mark.parametrize("path", PATHS, ids=[path.stem for path in PATHS])
def test_saved_executed_at_full_size(path: Path) -> None:
    """The committed notebook is its last full-size run: every code cell ran once, in order,
    without an error; the parameter cell printed the full size; and the notebook ends with
    conclusions a code cell wrote as Markdown from the numbers above it."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert [output.get("ename") for cell in code for output in cell.outputs
            if output.output_type == "error"] == []
    parameters = next(cell for cell in code if PARAMETER_LINE in cell.source)
    printed = "".join(output.get("text", "") for output in parameters.outputs if output.output_type == "stream")
    assert FULL_SIZE_BANNER in printed
    last = notebook.cells[-1]
    assert last.cell_type == "code"
    assert any("text/markdown" in output.get("data", {}) for output in last.outputs)
