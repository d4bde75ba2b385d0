"""Which listeners receive a subscriber's events: the confirmation rules.

A listener L is confirmed for subscriber S only while both hold: S lists L (its
``listeners`` option) and L's own latest ``confirm_listener(S, True)`` names S. The two may
happen in either order. A listener serves one subscriber at a time, so confirming another
subscriber moves it. A new subscriber lists itself and counts as confirmed by itself, unless
it already confirmed some other subscriber as a listener.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.sources.pubsub.constants import LISTENERS_LIMIT
from sim.sources.pubsub.errors import PubSubError, PubSubLimitError
from sim.sources.pubsub.model import HubState, Subscriber


def check_principals(values: Sequence[str] | None, option: str, limit: int) -> None:
    """Reject an option list that is not a list of non-empty strings or is over ``limit``."""
    if values is None:
        return
    if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
        raise PubSubError(f"{option} must be a list of non-empty principal names")
    if len(values) > limit:
        raise PubSubLimitError(f"{option.capitalize()} option length limit reached: "
                               f"{len(values)} names, at most {limit}")


def updated_listeners(subscriber: Subscriber, listeners: Sequence[str] | None,
                      add: Sequence[str] | None, remove: Sequence[str] | None) -> dict[str, None]:
    """The subscriber's listener list after the options (replace, then add, then remove)."""
    for values, option in ((listeners, "listeners"), (add, "listeners_add"),
                           (remove, "listeners_remove")):
        check_principals(values, option, LISTENERS_LIMIT)
    result = dict.fromkeys(listeners) if listeners is not None else dict(subscriber.listeners)
    result.update(dict.fromkeys(add or ()))
    for listener in remove or ():
        result.pop(listener, None)
    if len(result) > LISTENERS_LIMIT:
        raise PubSubLimitError(f"Listeners limit reached: subscriber {subscriber.subscriber_id} "
                               f"would have {len(result)} listeners, at most {LISTENERS_LIMIT}")
    return result


def set_listeners(state: HubState, subscriber: Subscriber, listeners: dict[str, None]) -> None:
    """Replace the listener list and recompute the confirmed ones.

    Listeners that stay confirmed keep their round-robin places; newly confirmed ones join at
    the back in list order; removed ones leave both lists.
    """
    subscriber.listeners = listeners
    sid = subscriber.subscriber_id
    confirmed = {name: None for name in subscriber.confirmed_listeners
                 if name in listeners and state.listener_owner.get(name) == sid}
    for listener in listeners:
        if state.listener_owner.get(listener) == sid:
            confirmed.setdefault(listener, None)
    subscriber.confirmed_listeners = confirmed


def new_subscriber(state: HubState, subscriber_id: str, now: float) -> Subscriber:
    """Create a subscriber that lists itself as its listener (confirmed unless taken)."""
    subscriber = Subscriber(subscriber_id, now)
    state.subscribers[subscriber_id] = subscriber
    state.listener_owner.setdefault(subscriber_id, subscriber_id)
    set_listeners(state, subscriber, {subscriber_id: None})
    return subscriber


def confirm_listener(state: HubState, listener: str, subscriber_id: str, allow: bool) -> None:
    """``listener`` agrees (allow) or stops agreeing to receive ``subscriber_id``'s events."""
    if listener == subscriber_id:
        raise PubSubError(f"a subscriber cannot confirm itself as a listener ({listener})")
    owner = state.listener_owner.get(listener)
    if not allow:
        if owner == subscriber_id:  # only withdraw from the subscriber named
            del state.listener_owner[listener]
            _drop_confirmed(state, subscriber_id, listener)
        return
    if owner == subscriber_id:
        return
    if owner is not None:
        _drop_confirmed(state, owner, listener)
    state.listener_owner[listener] = subscriber_id
    subscriber = state.subscribers.get(subscriber_id)
    if subscriber is not None and listener in subscriber.listeners:
        subscriber.confirmed_listeners[listener] = None


def _drop_confirmed(state: HubState, subscriber_id: str, listener: str) -> None:
    subscriber = state.subscribers.get(subscriber_id)
    if subscriber is not None:
        subscriber.confirmed_listeners.pop(listener, None)
