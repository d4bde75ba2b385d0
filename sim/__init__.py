"""nodesim's world: load a scenario, run it, read the results.

    import sim
    scenario = sim.load_scenario("scenarios/quickstart.toml")
    result = sim.run(scenario, seed=7)
    result.summary["resolutions_passed"], result.frames()["blocks"]
    again = sim.load_run("runs/quickstart-7")   # a written run folder, without re-running it
"""

from sim.errors import NodesimError as NodesimError
from sim.errors import ScenarioError as ScenarioError
from sim.results import Result as Result
from sim.run_files import load_run as load_run
from sim.runner import run as run
from sim.scenario import load_scenario as load_scenario
from sim.scenario import parse_scenario as parse_scenario
from sim.scenario import with_faults as with_faults

__all__ = ["NodesimError", "Result", "ScenarioError", "load_run", "load_scenario", "parse_scenario", "run",
           "with_faults"]
