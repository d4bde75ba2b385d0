"""The user code a scenario names, imported and checked before a run starts.

A scenario names hooks as ``"module:function"``: listeners (``[app.listeners]``, each an
``async def listen(service, eventstore)``), resolve functions (``[resolutions.<type>] resolve``,
each a plain ``def resolve(ctx)`` taking one ``ResolveContext``) and, as ``"module:Class"``,
byzantine behaviours. ``check_hooks`` imports every one and checks its shape, so ``nodesim
check`` fails exactly where ``nodesim run`` would, with the same one-line error, instead of a
node shutting down mid-run.

Where hooks are imported from: the normal ``sys.path`` (the current directory when run as
``python -m``, installed packages), plus the folder of the scenario file, appended at the end
(so ``mylisten.py`` beside the scenario just works, and never shadows an installed module).
A run folder keeps a copy of such modules beside its ``scenario.toml``, so a replay finds them.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError
from sim.scenario_model import is_function_spec


def add_scenario_folder(file: str) -> None:
    """Append the folder of scenario ``file`` to ``sys.path`` (once), if it is a real file."""
    path = Path(file)
    if not path.is_file():
        return
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)


def load_hook(spec: str, file: str, path: str) -> Any:
    """Import ``"module:name"``; any failure is a ``ScenarioError`` at ``path``.

    The message has the same form as the world's own loader (``sim.setup``): ``cannot load
    'mod:fn': <why>``.
    """
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScenarioError(file, path, f"cannot load {spec!r}: {exc}") from None
    except Exception as exc:  # the module itself is broken: say how, without a traceback
        raise ScenarioError(file, path, f"cannot load {spec!r}: importing {module_name} raised "
                            f"{type(exc).__name__}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ScenarioError(file, path, f"cannot load {spec!r}: module {module_name!r} has no "
                            f"attribute {attr!r}") from None


def _binds(func: Callable[..., Any], count: int) -> bool | None:
    """Whether ``func`` accepts ``count`` positional arguments (None: it cannot be told)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*([None] * count))
    except TypeError:
        return False
    return True


def _shape(func: Any) -> str:
    try:
        params = f"({', '.join(inspect.signature(func).parameters)})"
    except (TypeError, ValueError):
        params = "(...)"
    kind = "async def" if inspect.iscoroutinefunction(func) else "def"
    return f"{kind} {getattr(func, '__name__', type(func).__name__)}{params}"


def check_listener(func: Any, spec: str, file: str, path: str) -> None:
    expected = '"module:function" naming an async def listen(service, eventstore)'
    if not callable(func) or not inspect.iscoroutinefunction(func) or _binds(func, 2) is False:
        got = _shape(func) if callable(func) else f"a {type(func).__name__}"
        raise ScenarioError(file, path, f"expected {expected}, got {spec!r}: {got}")


def check_resolve(func: Any, spec: str, file: str, path: str) -> None:
    expected = '"module:function" naming a def resolve(ctx) that takes one ResolveContext'
    if not callable(func) or inspect.iscoroutinefunction(func) or _binds(func, 1) is False:
        got = _shape(func) if callable(func) else f"a {type(func).__name__}"
        raise ScenarioError(file, path, f"expected {expected}, got {spec!r}: {got}")


def check_behaviour(obj: Any, spec: str, file: str, path: str) -> None:
    if not inspect.isclass(obj):
        raise ScenarioError(file, path, f'expected "module:Class" naming a behaviour class, got '
                            f"{spec!r}: a {type(obj).__name__}")


def named_hooks(scenario: Any) -> Iterator[tuple[str, str, Callable[[Any, str, str, str], None]]]:
    """(key path, spec, shape check) for every hook the scenario names, in file order."""
    for name, spec in scenario.listeners.items():
        yield f"app.listeners.{name}", spec, check_listener
    for name, cfg in scenario.resolutions.items():
        if cfg.resolve:
            yield f"resolutions.{name}.resolve", cfg.resolve, check_resolve
    for node in scenario.nodes:
        if is_function_spec(node.byzantine):
            yield f"nodes.{node.name}.byzantine", node.byzantine, check_behaviour


def hook_sources_beside(scenario: Any) -> list[Path]:
    """The modules (a ``.py`` file or a package folder) of the hooks ``scenario`` names that
    were imported from the scenario's own folder: what a run folder keeps a copy of, so that
    replaying it finds them (``check_hooks`` imported them already)."""
    if not Path(scenario.file).is_file():
        return []
    folder = Path(scenario.file).resolve().parent
    found: list[Path] = []
    for _path, spec, _check in named_hooks(scenario):
        top = spec.partition(":")[0].split(".")[0]
        origin = getattr(sys.modules.get(top), "__file__", None)
        if origin is None:
            continue
        source = Path(origin).resolve()
        if source.name == "__init__.py":
            source = source.parent
        if source.parent == folder and source not in found:
            found.append(source)
    return found


def check_hooks(scenario: Any) -> None:
    """Import every hook ``scenario`` names and check its shape (see the module docstring)."""
    add_scenario_folder(scenario.file)
    for path, spec, check in named_hooks(scenario):
        check(load_hook(spec, scenario.file, path), spec, scenario.file, path)
