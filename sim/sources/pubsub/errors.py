"""Errors the hub raises; like the original's traps, each one leaves the hub unchanged."""

from __future__ import annotations

from sim.errors import NodesimError


class PubSubError(NodesimError):
    """A hub call was invalid (a bad argument); nothing was changed."""


class PubSubLimitError(PubSubError):
    """A hub call would break one of the hub's limits; nothing was changed.

    The message starts with the original's wording, e.g. "Active publications limit reached",
    then says whose limit and its value.
    """


class FilterSyntaxError(PubSubError):
    """A subscription filter expression does not parse.

    ``position`` is the 0-based offset in ``text`` where parsing failed; ``pointer()`` shows
    the text with a caret under that offset.
    """

    def __init__(self, text: str, position: int, message: str) -> None:
        self.text = text
        self.position = position
        self.reason = message
        super().__init__(f"invalid filter {text!r}: at position {position}, {message}")

    def pointer(self) -> str:
        """Two lines: the filter text and a caret under the failing position."""
        return f"{self.text}\n{' ' * self.position}^"
