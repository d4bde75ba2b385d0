"""Building a world's registries from a scenario: resolution types and listeners.

User code is named in scenarios as ``"module:function"``; an import failure is the user's
mistake, reported as a ScenarioError naming the key that asked for it.
"""

from __future__ import annotations

from typing import Any

from node.listeners import DEFAULT_REGISTRY, ListenerNameError, ListenerRegistry, load_function
from node.resolutions import ResolutionConfig, ResolutionTypes, record_body
from sim.errors import ScenarioError
from sim.sources.registry import source_kind

BUILTIN_RESOLVERS = {"credit_account": "node.extensions.credit:resolve_credit"}


def load_hook(spec: str, file: str, path: str) -> Any:
    """Import what a scenario names as ``"module:function"`` at ``path``."""
    try:
        return load_function(spec)
    except (ImportError, ValueError) as exc:
        raise ScenarioError(file, path, f"cannot load {spec!r}: {exc}") from None


def build_resolution_types(scenario: Any) -> ResolutionTypes:
    types: dict[str, ResolutionConfig] = {}
    for name, cfg in sorted(scenario.resolutions.items()):
        if cfg.resolve:
            resolve = load_hook(cfg.resolve, scenario.file, f"resolutions.{name}.resolve")
        elif name in BUILTIN_RESOLVERS:
            resolve = load_hook(BUILTIN_RESOLVERS[name], scenario.file, f"resolutions.{name}")
        else:
            resolve = record_body
        types[name] = ResolutionConfig(resolve, cfg.confirmation_threshold, cfg.refund_threshold,
                                       cfg.expiration_period)
    return ResolutionTypes(types)


def build_listeners(scenario: Any) -> ListenerRegistry:
    """Every source's built-in listener, then the scenario's own ``[app.listeners]``."""
    registry = DEFAULT_REGISTRY.copy()
    for kind in sorted(scenario.sources):
        spec = source_kind(kind)
        registry.register(spec.listener, load_hook(spec.listen, scenario.file, f"sources.{kind}"))
    for name, spec_text in sorted(scenario.listeners.items()):
        try:
            registry.register(name, load_hook(spec_text, scenario.file, f"app.listeners.{name}"))
        except ListenerNameError as exc:
            raise ScenarioError(scenario.file, f"app.listeners.{name}", str(exc)) from None
    return registry
