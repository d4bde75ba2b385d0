"""The pub/sub hub (the Internet Computer events system) as an external system of the world.

``Hub`` is the system itself; ``PubSubSource`` puts it in a world with publishers, network
delay and outages; ``parse_filter`` reads subscription filters; payloads are candy values
(``Nat8(5)``, ``Principal("p")``, ...) or their Python form. See /work/shared/spec/pubsub.md.
"""

from sim.sources.pubsub.admin import EventInfo as EventInfo
from sim.sources.pubsub.admin import Page as Page
from sim.sources.pubsub.admin import SubscriberInfo as SubscriberInfo
from sim.sources.pubsub.broadcast import CycleReport as CycleReport
from sim.sources.pubsub.candy import Array as Array
from sim.sources.pubsub.candy import Blob as Blob
from sim.sources.pubsub.candy import Bool as Bool
from sim.sources.pubsub.candy import Candy as Candy
from sim.sources.pubsub.candy import Class as Class
from sim.sources.pubsub.candy import Empty as Empty
from sim.sources.pubsub.candy import Float as Float
from sim.sources.pubsub.candy import Int as Int
from sim.sources.pubsub.candy import Int8 as Int8
from sim.sources.pubsub.candy import Int16 as Int16
from sim.sources.pubsub.candy import Int32 as Int32
from sim.sources.pubsub.candy import Int64 as Int64
from sim.sources.pubsub.candy import Nat as Nat
from sim.sources.pubsub.candy import Nat8 as Nat8
from sim.sources.pubsub.candy import Nat16 as Nat16
from sim.sources.pubsub.candy import Nat32 as Nat32
from sim.sources.pubsub.candy import Nat64 as Nat64
from sim.sources.pubsub.candy import Option as Option
from sim.sources.pubsub.candy import Principal as Principal
from sim.sources.pubsub.candy import Text as Text
from sim.sources.pubsub.candy import to_candy as to_candy
from sim.sources.pubsub.candy import to_python as to_python
from sim.sources.pubsub.config import PubSubSourceConfig as PubSubSourceConfig
from sim.sources.pubsub.endpoint import HubEndpoint as HubEndpoint
from sim.sources.pubsub.errors import FilterSyntaxError as FilterSyntaxError
from sim.sources.pubsub.errors import PubSubError as PubSubError
from sim.sources.pubsub.errors import PubSubLimitError as PubSubLimitError
from sim.sources.pubsub.filter import Filter as Filter
from sim.sources.pubsub.filter import parse_filter as parse_filter
from sim.sources.pubsub.hub import UNCHANGED as UNCHANGED
from sim.sources.pubsub.hub import Hub as Hub
from sim.sources.pubsub.model import Notification as Notification
from sim.sources.pubsub.model import SubscriberActor as SubscriberActor
from sim.sources.pubsub.source import PubSubSource as PubSubSource
from sim.sources.pubsub.stats import Stats as Stats

__all__ = [
    "UNCHANGED",
    "Array",
    "Blob",
    "Bool",
    "Candy",
    "Class",
    "CycleReport",
    "Empty",
    "EventInfo",
    "Filter",
    "FilterSyntaxError",
    "Float",
    "Hub",
    "HubEndpoint",
    "Int",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Nat",
    "Nat8",
    "Nat16",
    "Nat32",
    "Nat64",
    "Notification",
    "Option",
    "Page",
    "Principal",
    "PubSubError",
    "PubSubLimitError",
    "PubSubSource",
    "PubSubSourceConfig",
    "Stats",
    "SubscriberActor",
    "SubscriberInfo",
    "Text",
    "parse_filter",
    "to_candy",
    "to_python",
]
