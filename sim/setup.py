"""Building a world's registries from a scenario: resolution types, listeners, sources.

User code is named in scenarios as ``"module:function"``; an import failure is the user's
mistake, reported as a ScenarioError naming the key that asked for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.listeners import DEFAULT_REGISTRY, ListenerNameError, ListenerRegistry, load_function
from node.resolutions import ResolutionConfig, ResolutionTypes, record_body
from sim.errors import ScenarioError

if TYPE_CHECKING:
    from sim.world import World

# Each source enables its built-in listener, named as the spec names it.
BUILTIN_LISTENERS = {
    "script": ("script", "node.extensions.script:script"),
    "evm": ("eth_deposits", "node.extensions.eth_deposits:eth_deposits"),
    "watcher": ("watcher_events", "node.extensions.watcher_events:watcher_events"),
    "pubsub": ("pubsub_events", "node.extensions.pubsub_events:pubsub_events"),
}
SOURCE_CLASSES = {
    "script": "sim.sources.script:ScriptSource",
    "evm": "sim.sources.evm:EvmSource",
    "watcher": "sim.sources.watcher.source:WatcherSource",
    "pubsub": "sim.sources.pubsub.source:PubSubSource",
}
BUILTIN_RESOLVERS = {"credit_account": "node.extensions.credit:resolve_credit"}


def _load(spec: str, file: str, path: str) -> Any:
    try:
        return load_function(spec)
    except (ImportError, ValueError) as exc:
        raise ScenarioError(file, path, f"cannot load {spec!r}: {exc}") from None


def build_resolution_types(scenario: Any) -> ResolutionTypes:
    types: dict[str, ResolutionConfig] = {}
    for name, cfg in sorted(scenario.resolutions.items()):
        if cfg.resolve:
            resolve = _load(cfg.resolve, scenario.file, f"resolutions.{name}.resolve")
        elif name in BUILTIN_RESOLVERS:
            resolve = _load(BUILTIN_RESOLVERS[name], scenario.file, f"resolutions.{name}")
        else:
            resolve = record_body
        types[name] = ResolutionConfig(resolve, cfg.confirmation_threshold, cfg.refund_threshold,
                                       cfg.expiration_period)
    return ResolutionTypes(types)


def build_listeners(scenario: Any) -> ListenerRegistry:
    registry = DEFAULT_REGISTRY.copy()
    for kind in sorted(scenario.sources):
        if kind in BUILTIN_LISTENERS:
            name, spec = BUILTIN_LISTENERS[kind]
            registry.register(name, _load(spec, scenario.file, f"sources.{kind}"))
    for name, spec in sorted(scenario.listeners.items()):
        try:
            registry.register(name, _load(spec, scenario.file, f"app.listeners.{name}"))
        except ListenerNameError as exc:
            raise ScenarioError(scenario.file, f"app.listeners.{name}", str(exc)) from None
    return registry


def build_sources(scenario: Any, world: World) -> dict[str, Any]:
    from sim.world import SourceContextImpl

    sources: dict[str, Any] = {}
    for kind in sorted(scenario.sources):
        cls = _load(SOURCE_CLASSES[kind], scenario.file, f"sources.{kind}")
        sources[kind] = cls(scenario.sources[kind], SourceContextImpl(world, kind))
    return sources
