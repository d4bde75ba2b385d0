"""The pub/sub hub (the Internet Computer events system) as an external system of the world.

``Hub`` is the system itself; ``PubSubSource`` puts it in a world with publishers, network
delay and outages; ``parse_filter`` reads subscription filters. See
/work/shared/spec/pubsub.md.
"""

from sim.sources.pubsub.broadcast import CycleReport as CycleReport
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
    "CycleReport",
    "Filter",
    "FilterSyntaxError",
    "Hub",
    "HubEndpoint",
    "Notification",
    "PubSubError",
    "PubSubLimitError",
    "PubSubSource",
    "PubSubSourceConfig",
    "Stats",
    "SubscriberActor",
    "parse_filter",
]
