"""The external systems a generated world may have besides its scripted source: an EVM
deposit chain (``scenarios(evm=True)``), the pub/sub hub (``pubsub=True``) and the watcher
source (``watcher=True``), each with every validator's listener of it, and users sending txs
(``load=True``), as scenario tables.
"""

from __future__ import annotations

from typing import Any

import attrs

from sim.scenario_model import duration_text

EVM_CONTRACT = "0x000000000000000000000000000000000000dEaD"  # the deposit contract of EVM worlds
EVM_PROVIDER = "ws://evm"  # what eth_deposits dials: the [sources.evm] address
PUBSUB_EVENT_NAME = "price"  # what the hub's publishers publish and every listener subscribes to
WATCHER_ADDRESS = "watcher://jobs"  # what watcher_events dials: the [sources.watcher] address


@attrs.frozen(kw_only=True)
class EvmWorld:
    """An EVM deposit chain and every validator's eth_deposits listener watching it.

    ``start_height`` (the blocks the chain has at t = 0) is at least ``confirmations``:
    eth_deposits refuses to start while its resume point is past head - confirmations.
    """

    confirmations: int = 12  # eth_deposits required_confirmations
    block_time: float = 12.0  # seconds
    start_height: int = 12
    deposit_rate: str = "2/min"
    reorg_probability: float = 0.0
    reorg_max_depth: int = 3

    def __attrs_post_init__(self) -> None:
        if self.start_height < self.confirmations:
            raise ValueError(f"start_height: expected at least confirmations ({self.confirmations}), "
                             f"got {self.start_height}")

    def tables(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``[app.extensions.eth_deposits]`` (all strings, as kwil reads them) and ``[sources.evm]``."""
        extension = {"contract_address": EVM_CONTRACT, "rpc_provider": EVM_PROVIDER,
                     "required_confirmations": str(self.confirmations)}
        source = {"block_time": duration_text(self.block_time), "start_height": self.start_height,
                  "deposits": {"rate": self.deposit_rate},
                  "reorg": {"probability": self.reorg_probability, "max_depth": self.reorg_max_depth}}
        return extension, source


@attrs.frozen(kw_only=True)
class PubSubWorld:
    """The pub/sub hub with its publishers, and every validator's pubsub_events listener
    subscribed to its events.

    ``filter`` is every listener's subscription filter (None: none); ``own_filters`` gives some
    nodes a filter of their own instead ("" passes everything), so that they see another
    subset of the events than the others, as misconfigured validators would.
    """

    rate: str = "6/min"  # publishes per unit of time, all publishers together (Poisson)
    publishers: int = 1
    latency: float = 0.05  # seconds, one way between the hub and a listener
    filter: str | None = None
    own_filters: tuple[tuple[str, str], ...] = ()  # (node, filter), in address order

    def tables(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, str]]]:
        """``[app.extensions.pubsub_events]`` (all strings, as kwil reads them), ``[sources.pubsub]``
        and each ``[nodes.vN.extensions.pubsub_events]`` that differs."""
        extension = {"event_name": PUBSUB_EVENT_NAME, **({"filter": self.filter} if self.filter is not None else {})}
        source = {"rate": self.rate, "publishers": self.publishers, "event_name": PUBSUB_EVENT_NAME,
                  "latency": duration_text(self.latency)}
        return extension, source, {node: {"filter": text} for node, text in self.own_filters}


@attrs.frozen(kw_only=True)
class WatcherWorld:
    """The watcher source (an orchestrator writing job events into its store), and every
    validator's watcher_events listener watching that store under the node's name.

    ``watch_types`` and ``operations`` are every listener's filters (empty: everything);
    ``own`` gives some nodes a listener table of their own instead (its keys override the
    common ones; "" passes everything), so that they broadcast another subset of the events
    than the others, as misconfigured validators would.
    """

    rate: str = "6/min"  # job events per unit of time (Poisson)
    object_types: tuple[str, ...] = ("Job", "Execution")  # what the orchestrator writes
    gc_age: str = "24h"  # gc_age_threshold ("0s": no GC)
    gc_cadence: str = "10m"
    long_polling_timeout: str = "10s"
    watch_types: tuple[str, ...] = ()  # the listeners' object_types filter
    operations: tuple[str, ...] = ()  # the listeners' operations filter
    batch_size: int | None = None  # None: the listener's default
    own: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (node, its keys), in address order

    def tables(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, str]]]:
        """``[app.extensions.watcher_events]`` (all strings, as kwil reads them),
        ``[sources.watcher]`` and each ``[nodes.vN.extensions.watcher_events]`` that differs."""
        extension = {"address": WATCHER_ADDRESS,
                     **({"object_types": ",".join(self.watch_types)} if self.watch_types else {}),
                     **({"operations": ",".join(self.operations)} if self.operations else {}),
                     **({"batch_size": str(self.batch_size)} if self.batch_size is not None else {})}
        source = {"rate": self.rate, "object_types": list(self.object_types), "gc_age_threshold": self.gc_age,
                  "gc_cadence": self.gc_cadence, "address": WATCHER_ADDRESS,
                  "long_polling_timeout": self.long_polling_timeout}
        return extension, source, {node: dict(keys) for node, keys in self.own}


@attrs.frozen(kw_only=True)
class LoadWorld:
    """Users sending txs (``[load]``) that compete with the validators' votes for mempool room,
    nonces and block bytes.

    ``accounts`` may name a node: its user txs then take nonces from the same account as its
    vote txs. ``max_block_bytes`` None keeps the default block size.
    """

    rate: str = "5/s"
    accounts: tuple[str, ...] = ("u0",)
    size: int = 300  # bytes a tx
    fee: int = 0  # what each tx costs with gas on
    max_block_bytes: int | None = None

    def tables(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``[load]`` and the ``[consensus]`` keys it sets."""
        load = {"rate": self.rate, "accounts": list(self.accounts), "size": self.size, "fee": self.fee}
        return load, ({} if self.max_block_bytes is None else {"max_block_bytes": self.max_block_bytes})
