"""Which listeners receive a subscriber's events: the rules of ``subscribe.mo``.

- A subscriber is always its own listener: a new subscriber lists itself and has itself
  confirmed, and that confirmation lives only in its own set, outside the listener map
  (``listener_owner``). So a subscriber that also serves as another subscriber's listener
  still receives its own events, and one that confirmed for another subscriber before it
  registered receives its own events too (``registerSubscriber``).
- Another principal L is confirmed for subscriber S when S lists L and L's latest
  ``confirm_listener(S, True)`` names S; the two may happen in either order. A listener
  serves one subscriber at a time: confirming another moves it (``confirmListener``).
- ``listeners`` replaces the list: the confirmed set is cleared and refilled in list order
  with S itself (if listed) and every listed L whose confirmation names S, so round-robin
  restarts in list order. ``listeners_add`` appends (newly confirmed ones join the back of
  the round-robin); ``listeners_remove`` removes from both.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.sources.pubsub.constants import LISTENERS_LIMIT
from sim.sources.pubsub.errors import PubSubError, PubSubLimitError
from sim.sources.pubsub.model import HubState, Subscriber


def check_principals(values: Sequence[str] | None, option: str, limit: int, name: str) -> None:
    """Reject an option list that is not a list of non-empty strings or is over ``limit``.

    ``name`` is the option's name in the original, which its limit message starts with.
    """
    if values is None:
        return
    if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
        raise PubSubError(f"{option} must be a list of non-empty principal names")
    if len(values) > limit:
        raise PubSubLimitError(f"{name} option length limit reached: {len(values)} names, "
                               f"at most {limit}")


def register_subscriber(state: HubState, caller: str, now: float,
                        listeners: Sequence[str] | None, add: Sequence[str] | None,
                        remove: Sequence[str] | None) -> Subscriber:
    """Create ``caller``'s subscriber if new, then apply the options (replace, add, remove).

    Every check runs before anything changes.
    """
    for values, option, name in ((listeners, "listeners", "Listeners"),
                                 (add, "listeners_add", "ListenersAdd"),
                                 (remove, "listeners_remove", "ListenersRemove")):
        check_principals(values, option, LISTENERS_LIMIT, name)
    subscriber = state.subscribers.get(caller)
    if subscriber is None:
        listed, confirmed = {caller: None}, {caller: None}
    else:
        listed, confirmed = dict(subscriber.listeners), dict(subscriber.confirmed_listeners)
    owner = state.listener_owner

    def confirms(principal: str) -> bool:
        return principal == caller or owner.get(principal) == caller

    if listeners is not None:
        listed, confirmed = {}, {}
        for principal in listeners:
            listed[principal] = None
            if confirms(principal):
                confirmed[principal] = None
    if add is not None:
        for principal in add:
            listed.setdefault(principal, None)
            if confirms(principal):
                confirmed.setdefault(principal, None)
        if len(listed) > LISTENERS_LIMIT:
            raise PubSubLimitError(f"Listeners length limit reached: subscriber {caller} would "
                                   f"have {len(listed)} listeners, at most {LISTENERS_LIMIT}")
    for principal in remove or ():
        listed.pop(principal, None)
        confirmed.pop(principal, None)
    # Every check passed: now change state.
    if subscriber is None:
        subscriber = state.subscribers[caller] = Subscriber(caller, now)
    subscriber.listeners = listed
    subscriber.confirmed_listeners = confirmed
    return subscriber


def confirm_listener(state: HubState, listener: str, subscriber_id: str, allow: bool) -> None:
    """``listener`` agrees (allow) or stops agreeing to receive ``subscriber_id``'s events."""
    if listener == subscriber_id:
        raise PubSubError(f"Can not confirm self as listener: {listener} is the subscriber")
    owner = state.listener_owner.get(listener)
    if not allow:
        if owner == subscriber_id:  # only withdraw from the subscriber named
            del state.listener_owner[listener]
            _drop_confirmed(state, subscriber_id, listener)
        return
    state.listener_owner[listener] = subscriber_id
    if owner == subscriber_id:
        return
    if owner is not None:
        _drop_confirmed(state, owner, listener)
    subscriber = state.subscribers.get(subscriber_id)
    if subscriber is not None and listener in subscriber.listeners:
        subscriber.confirmed_listeners.setdefault(listener, None)


def _drop_confirmed(state: HubState, subscriber_id: str, listener: str) -> None:
    subscriber = state.subscribers.get(subscriber_id)
    if subscriber is not None:
        subscriber.confirmed_listeners.pop(listener, None)
