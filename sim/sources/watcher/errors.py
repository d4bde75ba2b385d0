"""The watcher library's errors: sentinels for the broken rule, wrappers for who it hit.

Mirrors Go's ``errors.Is`` style: a wrapper (``WatcherError``, ``CheckpointError``, ...) names
the watcher or event involved and keeps the underlying error as ``__cause__``; ``caused_by``
walks that chain the way ``errors.Is`` does.
"""

from __future__ import annotations

from typing import Any


class WatcherLibraryError(Exception):
    """Base of every error the watcher library raises on purpose."""


# -- sentinels: which rule was broken ------------------------------------------------------
class WatcherAlreadyExists(WatcherLibraryError):
    """A registry already holds a live watcher with this id."""

    def __init__(self, message: str = "watcher already exists") -> None:
        super().__init__(message)


class WatcherNotFound(WatcherLibraryError):
    """A registry holds no watcher with this id."""

    def __init__(self, message: str = "watcher not found") -> None:
        super().__init__(message)


class CheckpointNotFound(WatcherLibraryError):
    """No checkpoint has been stored for this watcher id."""

    def __init__(self, message: str = "checkpoint not found") -> None:
        super().__init__(message)


class NoHandler(WatcherLibraryError):
    """A watcher was started before it was given a handler."""

    def __init__(self, message: str = "no handler set; call set_handler() before start()") -> None:
        super().__init__(message)


class HandlerExists(WatcherLibraryError):
    """A watcher's handler may be set only once."""

    def __init__(self, message: str = "handler already set; a watcher's handler is set once") -> None:
        super().__init__(message)


class InvalidArgumentError(WatcherLibraryError, ValueError):
    """An option or argument is out of range or of the wrong kind; the message names it."""


class StoreClosedError(WatcherLibraryError):
    """The event store was used after ``close()``."""

    def __init__(self, message: str = "event store is closed") -> None:
        super().__init__(message)


# -- wrappers: who the error happened to ---------------------------------------------------
class WatcherError(WatcherLibraryError):
    """An operation on watcher ``watcher_id`` failed; ``__cause__`` says why."""

    def __init__(self, watcher_id: str, cause: BaseException) -> None:
        self.watcher_id = watcher_id
        super().__init__(f"watcher {watcher_id!r}: {cause}")
        self.__cause__ = cause


class CheckpointError(WatcherLibraryError):
    """Storing or reading the checkpoint of ``watcher_id`` failed; ``__cause__`` says why."""

    def __init__(self, watcher_id: str, cause: BaseException) -> None:
        self.watcher_id = watcher_id
        super().__init__(f"checkpoint of watcher {watcher_id!r}: {cause}")
        self.__cause__ = cause


class EventHandlingError(WatcherLibraryError):
    """The handler of ``watcher_id`` kept failing on event ``event_id`` and it was skipped."""

    def __init__(self, watcher_id: str, event_id: int, cause: BaseException) -> None:
        self.watcher_id = watcher_id
        self.event_id = event_id
        super().__init__(f"watcher {watcher_id!r} failed to handle event {event_id}: {cause}")
        self.__cause__ = cause


class SerializationError(WatcherLibraryError):
    """``event`` could not be serialized; ``__cause__`` says why."""

    def __init__(self, event: Any, cause: BaseException) -> None:
        self.event = event
        seq = getattr(event, "seq_num", "?")
        super().__init__(f"failed to serialize event {seq}: {cause}")
        self.__cause__ = cause


class DeserializationError(WatcherLibraryError):
    """Stored bytes could not be turned back into an event; ``__cause__`` says why."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"failed to deserialize event: {cause}")
        self.__cause__ = cause


def caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` or anything in its ``__cause__`` chain is a ``kind`` (Go's errors.Is)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and not any(current is s for s in seen):
        if isinstance(current, kind):
            return True
        seen.append(current)
        current = current.__cause__
    return False
