"""Errors a user can cause, each with a message that names what was wrong and where."""

from __future__ import annotations


class NodesimError(Exception):
    """Base of the errors nodesim raises for bad input; the CLI prints them as one line."""


class ScenarioError(NodesimError):
    """A scenario file (or a parameter override) does not describe a valid world.

    The message names the file, the key path, what was expected and what was found, e.g.
    ``quick.toml: validators.count: expected an integer >= 1, got "four"``.
    """

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {message}")


class SimulationError(NodesimError):
    """The world was asked to do something impossible at run time (e.g. a bad broadcast)."""


class HookFailed(NodesimError):
    """User code the scenario names (a byzantine behaviour) raised and the run cannot go on;
    the message names the node, the code and what it raised."""
