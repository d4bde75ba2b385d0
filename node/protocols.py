"""What differs between the two kwil generations at the node: which events a validator votes
on, which bodies a proposer includes, and the per-tx caps.

``kwil-0.7`` (v0.7.6): validators vote on every event they have not had received or
broadcast, ids before bodies; a proposer includes up to 50 bodies whose resolution has no
body yet. ``kwil-0.8`` (v0.8.4): only the proposer creates resolutions (bodies of events no
resolution exists for); other validators vote only on resolutions that already exist.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from node.app import AppState
from node.eventstore import EventStore, StoredEvent
from node.execute import PROTOCOL_07, PROTOCOL_08
from node.resolutions import ResolutionTypes

MAX_VOTE_IDS_07 = 100  # internal/events/broadcast: maxVoteIDsPerTx
MAX_VOTE_BODIES_07 = 50
MAX_VOTES_PER_TX_08 = 100  # the genesis parameter max_votes_per_tx


class ProtocolFlow(Protocol):
    """The voting rules of one kwil generation, as the node's broadcaster and proposer use them."""

    @property
    def name(self) -> str:
        """``kwil-0.7`` or ``kwil-0.8``."""
        ...

    def vote_candidates(self, store: EventStore, state: AppState) -> list[tuple[str, str]]:
        """(id, type) of the events this validator votes on now, at most one tx's worth."""
        ...

    def body_candidates(self, store: EventStore, state: AppState, types: ResolutionTypes) -> list[StoredEvent]:
        """The events whose bodies this node, as proposer, puts in its vote-bodies tx."""
        ...

    def awaits_resolutions(self, store: EventStore, state: AppState) -> bool:
        """Whether some stored event may become votable later without being stored again."""
        ...


@attrs.frozen
class Flow07:
    """kwil v0.7.6: vote ids may come before any body (a placeholder resolution)."""

    name: str = PROTOCOL_07
    max_vote_ids: int = MAX_VOTE_IDS_07
    max_bodies: int = MAX_VOTE_BODIES_07

    def vote_candidates(self, store: EventStore, state: AppState) -> list[tuple[str, str]]:
        return [(e.id, e.event_type) for e in store.get_unreceived_events(self.max_vote_ids)]

    def body_candidates(self, store: EventStore, state: AppState, types: ResolutionTypes) -> list[StoredEvent]:
        """kwil 0.7.6 (txapp.go ProposerTxs) caps the stored events at 50 first, then drops
        those whose resolution has a body or is processed, so a proposer can include fewer
        bodies than it has."""
        picked: list[StoredEvent] = []
        for event in store.get_events()[:self.max_bodies]:
            if state.is_processed(event.id) or event.event_type not in types:
                continue
            resolution = state.resolutions.get(event.id)
            if resolution is None or resolution.body is None:
                picked.append(event)
        return picked

    def awaits_resolutions(self, store: EventStore, state: AppState) -> bool:
        return False  # ids are voted before any body: nothing waits


@attrs.frozen
class Flow08:
    """kwil v0.8.4: only the proposer creates resolutions; others vote on existing ones."""

    name: str = PROTOCOL_08
    max_votes_per_tx: int = MAX_VOTES_PER_TX_08

    def vote_candidates(self, store: EventStore, state: AppState) -> list[tuple[str, str]]:
        votes: list[tuple[str, str]] = []
        for event in store.get_events():
            if event.broadcasted:
                continue
            if state.is_processed(event.id):
                store.delete_event(event.id)  # ids already processed are dropped
                continue
            if event.id in state.resolutions:
                votes.append((event.id, event.event_type))
                if len(votes) >= self.max_votes_per_tx:
                    break
        return votes

    def body_candidates(self, store: EventStore, state: AppState, types: ResolutionTypes) -> list[StoredEvent]:
        picked: list[StoredEvent] = []
        for event in store.get_events():
            if len(picked) >= self.max_votes_per_tx:
                break
            if state.is_processed(event.id) or event.event_type not in types:
                continue
            if event.id not in state.resolutions:
                picked.append(event)
        return picked

    def awaits_resolutions(self, store: EventStore, state: AppState) -> bool:
        """An event without a resolution is voted once a proposer creates one."""
        return any(not e.broadcasted and e.id not in state.resolutions and not state.is_processed(e.id)
                   for e in store.get_events())


def protocol_flow(protocol: str) -> ProtocolFlow:
    if protocol == PROTOCOL_08:
        return Flow08()
    if protocol == PROTOCOL_07:
        return Flow07()
    raise ValueError(f"unknown protocol {protocol!r} (known: {PROTOCOL_07}, {PROTOCOL_08})")
