"""Property testing over whole worlds: hypothesis strategies, a stateful machine, failures
written as scenario files.

    from sim.testing import run_machine, world_machine
    run_machine(world_machine(protocols=["kwil-0.7"]), max_examples=200)

See docs/properties.md.
"""

from sim.testing.failures import FAILURES_ENV as FAILURES_ENV
from sim.testing.failures import WorldFailure as WorldFailure
from sim.testing.failures import check_result as check_result
from sim.testing.failures import failures_dir as failures_dir
from sim.testing.failures import run_world as run_world
from sim.testing.failures import write_failure as write_failure
from sim.testing.machine import ACTION_KINDS as ACTION_KINDS
from sim.testing.machine import WorldMachine as WorldMachine
from sim.testing.machine import machine_settings as machine_settings
from sim.testing.machine import run_machine as run_machine
from sim.testing.machine import world_machine as world_machine
from sim.testing.options import NARROW as NARROW
from sim.testing.options import WorldOptions as WorldOptions
from sim.testing.plan import WorldConfig as WorldConfig
from sim.testing.plan import WorldPlan as WorldPlan
from sim.testing.strategies import FAULT_MENU as FAULT_MENU
from sim.testing.strategies import fault_kinds as fault_kinds
from sim.testing.strategies import fault_schedules as fault_schedules
from sim.testing.strategies import scenario_dicts as scenario_dicts
from sim.testing.strategies import scenarios as scenarios
from sim.testing.strategies import world_configs as world_configs

__all__ = ["ACTION_KINDS", "FAULT_MENU", "FAILURES_ENV", "NARROW", "WorldConfig", "WorldFailure", "WorldMachine",
           "WorldOptions",
           "WorldPlan", "check_result", "failures_dir", "fault_kinds", "fault_schedules",
           "machine_settings", "run_machine", "run_world", "scenario_dicts", "scenarios", "world_configs",
           "write_failure"]
