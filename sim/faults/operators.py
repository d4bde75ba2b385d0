"""What operators of validators do about the chain's pending joins and removals: every
validator approves a pending join and votes a pending removal once it sees it on chain.
Approving and removing are operator actions, so byzantine validators take part too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.app import AppState
from node.resolutions import VALIDATOR_JOIN, VALIDATOR_REMOVE

if TYPE_CHECKING:
    from node.control import NodeControl


class ValidatorSetActions:
    """What operators of validators do about pending joins and removals."""

    def __init__(self, controls: list[NodeControl]) -> None:
        self._controls = controls
        self._approved: set[tuple[str, str]] = set()
        self._removing: set[str] = set()
        self._removed_sent: set[tuple[str, str]] = set()

    def _acting(self) -> list[NodeControl]:
        return [c for c in self._controls if c.online and c.is_validator]

    def remove(self, target: str) -> None:
        self._removing.add(target)
        self._send_removes()

    def _send_removes(self) -> None:
        for target in sorted(self._removing):
            for control in self._acting():
                if control.name != target and (control.name, target) not in self._removed_sent:
                    self._removed_sent.add((control.name, target))
                    control.send_remove(target)

    def on_block(self, state: AppState) -> None:
        """Approve pending joins and vote pending removals seen on chain."""
        for rid in sorted(state.resolutions):
            resolution = state.resolutions[rid]
            if resolution.type == VALIDATOR_JOIN and resolution.body is not None:
                candidate = resolution.body.split(b"\x00")[0].decode()
                for control in self._acting():
                    key = (control.name, rid)
                    if control.name != candidate and control.name not in resolution.voters \
                            and key not in self._approved:
                        self._approved.add(key)
                        control.send_approve(candidate)
            elif resolution.type == VALIDATOR_REMOVE and resolution.body is not None:
                self._removing.add(resolution.body.decode())
        self._removing = {t for t in self._removing if state.power_of(t) > 0}
        self._send_removes()
