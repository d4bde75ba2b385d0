"""A durable ordered event log with checkpointed watchers (Bacalhau's pkg/lib/watcher).

``EventStore`` keeps events in SQLite; a ``Watcher`` (usually made by a ``Registry``) reads
them in order and hands each to a handler, resuming after its last ``checkpoint``. All waiting
is trio, so a simulator's virtual clock makes it instant, and trio's ordinary clock makes it a
real-time library over a real file.
"""

from sim.sources.watcher.errors import CheckpointError as CheckpointError
from sim.sources.watcher.errors import CheckpointNotFound as CheckpointNotFound
from sim.sources.watcher.errors import DeserializationError as DeserializationError
from sim.sources.watcher.errors import EventHandlingError as EventHandlingError
from sim.sources.watcher.errors import HandlerExists as HandlerExists
from sim.sources.watcher.errors import InvalidArgumentError as InvalidArgumentError
from sim.sources.watcher.errors import NoHandler as NoHandler
from sim.sources.watcher.errors import SerializationError as SerializationError
from sim.sources.watcher.errors import StoreClosedError as StoreClosedError
from sim.sources.watcher.errors import WatcherAlreadyExists as WatcherAlreadyExists
from sim.sources.watcher.errors import WatcherError as WatcherError
from sim.sources.watcher.errors import WatcherLibraryError as WatcherLibraryError
from sim.sources.watcher.errors import WatcherNotFound as WatcherNotFound
from sim.sources.watcher.errors import caused_by as caused_by
from sim.sources.watcher.options import WatchOptions as WatchOptions
from sim.sources.watcher.registry import Registry as Registry
from sim.sources.watcher.registry import open_registry as open_registry
from sim.sources.watcher.serializer import JSONSerializer as JSONSerializer
from sim.sources.watcher.serializer import Serializer as Serializer
from sim.sources.watcher.store import EventStore as EventStore
from sim.sources.watcher.transaction import Transaction as Transaction
from sim.sources.watcher.types import Event as Event
from sim.sources.watcher.types import EventFilter as EventFilter
from sim.sources.watcher.types import EventHandler as EventHandler
from sim.sources.watcher.types import EventIterator as EventIterator
from sim.sources.watcher.types import GetEventsRequest as GetEventsRequest
from sim.sources.watcher.types import GetEventsResponse as GetEventsResponse
from sim.sources.watcher.types import IteratorType as IteratorType
from sim.sources.watcher.types import Operation as Operation
from sim.sources.watcher.types import RetryStrategy as RetryStrategy
from sim.sources.watcher.types import State as State
from sim.sources.watcher.types import Stats as Stats
from sim.sources.watcher.types import WatchableStore as WatchableStore
from sim.sources.watcher.watcher import Watcher as Watcher
