"""The eth_deposits listener: Credit logs of a deposit contract become credit_account events.

This follows kwil-db's ``extensions/listeners/eth_deposits`` (v0.7.6 and v0.8.4 agree here):

- config from ``[app.extensions.eth_deposits]`` (strings); no section → return at once;
  a missing ``contract_address`` or ``rpc_provider``, an ``rpc_provider`` that does not
  start with "ws", or a bad value → raise, which shuts the node down ("failure on
  misconfiguration", ``setConfig``);
- the last processed height lives in the listener's KV under ``"lh"`` (8-byte little
  endian); it resumes from ``max(lh, starting_height)``, and fails at start when that is
  beyond ``head - required_confirmations`` (``Start``);
- backfill in chunks of ``block_sync_chunk_size`` up to ``head - required_confirmations``,
  each chunk ``[from, to]`` inclusive of ``from`` (so one block is processed twice; storing
  is idempotent); then follow new heads, each time reading ``[last + 1, head - confirmations]``,
  re-subscribing when the subscription drops or no head arrives within
  ``reconnection_interval``;
- each RPC call is retried on ``ConnectionError`` with kwil's ``retry`` (jpillora/backoff:
  1 s doubling to 10 s, jittered from ``service.rng``); it gives up once ``max_retries + 1``
  backoffs have been slept, i.e. after ``max_retries + 2`` calls. The first dial uses kwil's
  fixed 3 in place of ``max_retries`` (``newEthClient``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs
import trio

from node.extensions.credit import CREDIT_ACCOUNT_TYPE, encode_credit

LISTENER_NAME = "eth_deposits"
LAST_HEIGHT_KEY = "lh"
BACKOFF_MIN = 1.0
BACKOFF_MAX = 10.0
BACKOFF_FACTOR = 2.0
# newEthClient dials with retry(3, ...) whatever max_retries says: a startup dial that keeps
# failing is taken as a permanent error.
DIAL_MAX_RETRIES = 3
WEBSOCKET_PREFIX = "ws"
_INT = re.compile(r"^[+-]?\d+$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

T = TypeVar("T")


class EthDepositsConfigError(ValueError):
    """The ``[app.extensions.eth_deposits]`` table is missing a key or has a bad value."""


class EthDepositsError(RuntimeError):
    """The listener gave up (an RPC kept failing, its resume point is past the confirmed
    head, or its stored state is corrupt)."""


# -- what the listener needs from its surroundings (structural, so node/ needs no sim/) ----
class CreditLogLike(Protocol):
    @property
    def account(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def tx_hash(self) -> str: ...


class NewHeads(Protocol):
    async def next_head(self, timeout: float) -> int | None:
        """The next head, or None if none arrives within ``timeout`` seconds."""
        ...
    def close(self) -> None: ...


class EthRpc(Protocol):
    async def block_number(self) -> int: ...
    async def get_logs(self, from_block: int, to_block: int,
                       address: str) -> Sequence[CreditLogLike]: ...
    async def subscribe_new_heads(self) -> NewHeads: ...


class Service(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def extension_configs(self) -> dict[str, dict[str, str]]: ...
    @property
    def rng(self) -> random.Random: ...

    def dial(self, address: str) -> Any: ...
    def log(self, event: str, **fields: object) -> None: ...


class EventStore(Protocol):
    async def broadcast(self, event_type: str, data: bytes) -> None: ...
    async def set(self, key: str, value: bytes) -> None: ...
    async def get(self, key: str) -> bytes | None: ...
    async def delete(self, key: str) -> None: ...


# -- configuration ----------------------------------------------------------------------
@attrs.frozen
class EthDepositsConfig:
    """kwil's EthDepositConfig; defaults are kwil's."""

    contract_address: str
    rpc_provider: str
    starting_height: int = 0
    required_confirmations: int = 12
    reconnection_interval: float = 60.0  # seconds, at least 5
    max_retries: int = 10
    block_sync_chunk_size: int = 1_000_000

    @classmethod
    def from_strings(cls, values: Mapping[str, str]) -> EthDepositsConfig:
        """Read kwil's string config; unknown keys are ignored, as kwil does."""
        for key in ("contract_address", "rpc_provider"):
            if not values.get(key, "").strip():
                raise EthDepositsConfigError(f"eth_deposits: {key} is required but missing")
        if not values["rpc_provider"].strip().startswith(WEBSOCKET_PREFIX):
            # kwil subscribes to new heads, which needs a websocket (setConfig).
            raise EthDepositsConfigError(
                'eth_deposits: rpc_provider must be a websocket URL (starting with "ws"), '
                f"got {values['rpc_provider']!r}")
        return cls(
            contract_address=values["contract_address"].strip(),
            rpc_provider=values["rpc_provider"].strip(),
            starting_height=_integer(values, "starting_height", 0, 0),
            required_confirmations=_integer(values, "required_confirmations", 12, 0),
            reconnection_interval=_seconds(values, "reconnection_interval", 60.0, 5.0),
            max_retries=_integer(values, "max_retries", 10, 0),
            block_sync_chunk_size=_integer(values, "block_sync_chunk_size", 1_000_000, 1),
        )


def required_confirmations(values: Mapping[str, str]) -> int | None:
    """The confirmation depth a listener with these config strings waits for; None when the
    value is not one kwil reads (that listener refuses to start)."""
    try:
        return _integer(values, "required_confirmations", 12, 0)
    except EthDepositsConfigError:
        return None


def _integer(values: Mapping[str, str], key: str, default: int, low: int) -> int:
    if key not in values:
        return default
    text = values[key].strip()
    if not _INT.match(text) or int(text) < low:
        raise EthDepositsConfigError(
            f"eth_deposits: {key} must be an integer >= {low}, got {values[key]!r}")
    return int(text)


def _seconds(values: Mapping[str, str], key: str, default: float, low: float) -> float:
    """Whole seconds as kwil writes them ("60"), or a duration with a unit ("90s")."""
    if key not in values:
        return default
    text = values[key].strip()
    match = _DURATION.match(text)
    if _INT.match(text):
        seconds = float(int(text))
    elif match:
        seconds = float(match.group(1)) * _SCALE[match.group(2)]
    else:
        seconds = -1.0
    if seconds < low:
        raise EthDepositsConfigError(
            f"eth_deposits: {key} must be at least {low:g} seconds, got {values[key]!r}")
    return seconds


# -- height persistence -----------------------------------------------------------------
def encode_height(height: int) -> bytes:
    """A height as KV stores it: 8 bytes, little endian (kwil's ``lh``)."""
    return height.to_bytes(8, "little")


def decode_height(data: bytes) -> int:
    if len(data) != 8:
        raise EthDepositsError(f"eth_deposits: stored {LAST_HEIGHT_KEY!r} is {len(data)} bytes,"
                               " expected 8")
    return int.from_bytes(data, "little")


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """kwil's backoff (jpillora/backoff ``ForAttempt`` with jitter): U(1, 2^attempt) seconds,
    at most 10; ``attempt`` counts the backoffs already taken (0 for the first)."""
    ceiling = BACKOFF_MIN * BACKOFF_FACTOR ** min(attempt, 62)
    delay = rng.random() * (ceiling - BACKOFF_MIN) + BACKOFF_MIN
    return min(delay, BACKOFF_MAX)


# -- the listener -------------------------------------------------------------------------
async def eth_deposits(service: Service, eventstore: EventStore) -> None:
    """kwil's eth_deposits ListenFunc: runs until cancelled, or raises when it must stop."""
    section = service.extension_configs.get(LISTENER_NAME)
    if section is None:
        service.log("eth_deposits.unconfigured")
        return
    config = EthDepositsConfig.from_strings(section)
    await _Listener(service, eventstore, config).run()


@attrs.define(eq=False)
class _Listener:
    """One call of the listener: its config, connection and progress."""

    service: Service
    store: EventStore
    config: EthDepositsConfig
    rpc: EthRpc | None = None

    async def run(self) -> None:
        self.rpc = await self._retry("dial", self._dial, DIAL_MAX_RETRIES)
        stored = await self.store.get(LAST_HEIGHT_KEY)
        last = max(decode_height(stored) if stored else 0, self.config.starting_height)
        head = await self._retry("block_number", self.rpc.block_number)
        target = head - self.config.required_confirmations
        self.service.log("eth_deposits.start", from_=last, head=head)
        if last > target:
            # kwil refuses to start rather than wait for the chain to catch up (Start).
            raise EthDepositsError(
                f"eth_deposits: starting height {last} is greater than the last confirmed eth "
                f"block height {target} (head {head} - required_confirmations "
                f"{self.config.required_confirmations})")
        if last < target:
            self.service.log("eth_deposits.backfill", from_=last, to=target)
        while last < target:
            to = min(last + self.config.block_sync_chunk_size, target)
            await self._process(last, to)
            last = to
        await self._follow(last)

    async def _follow(self, last: int) -> None:
        """Process the blocks after ``last`` up to each new head minus confirmations,
        re-subscribing as needed."""
        assert self.rpc is not None
        interval = self.config.reconnection_interval
        while True:
            heads = await self._retry("subscribe", self.rpc.subscribe_new_heads)
            while True:
                try:
                    # kwil's reconnection timer: a subscription silent that long is renewed
                    head = await heads.next_head(interval)
                except ConnectionError as exc:
                    self.service.log("eth_deposits.resubscribe", reason=str(exc))
                    break
                if head is None:
                    self.service.log("eth_deposits.resubscribe", reason="no new head")
                    break
                target = head - self.config.required_confirmations
                if target <= last:  # the same height can arrive twice
                    continue
                # ``last`` was processed already: unlike backfill, follow starts after it.
                await self._process(last + 1, target)
                last = target
            heads.close()

    async def _process(self, from_block: int, to_block: int) -> None:
        """Broadcast the Credit logs of blocks from..to (inclusive), then store ``to``."""
        assert self.rpc is not None
        rpc = self.rpc
        logs = await self._retry(
            "get_logs", lambda: rpc.get_logs(from_block, to_block, self.config.contract_address))
        for log in logs:
            body = encode_credit(log.account, log.amount, log.tx_hash)
            await self.store.broadcast(CREDIT_ACCOUNT_TYPE, body)
        await self.store.set(LAST_HEIGHT_KEY, encode_height(to_block))

    async def _dial(self) -> EthRpc:
        await trio.lowlevel.checkpoint()
        rpc: EthRpc = self.service.dial(self.config.rpc_provider)
        return rpc

    async def _retry(self, op: str, call: Callable[[], Awaitable[T]],
                     max_retries: int | None = None) -> T:
        """kwil's ``retry``: call until it succeeds; after a failure, give up if more than
        ``max_retries`` backoffs were already taken, else sleep the next one. So a call that
        never succeeds is made ``max_retries + 2`` times."""
        limit = self.config.max_retries if max_retries is None else max_retries
        backoffs = 0
        while True:
            try:
                return await call()
            except ConnectionError as exc:
                if backoffs > limit:
                    raise EthDepositsError(
                        f"eth_deposits: {op} failed {backoffs + 1} times in a row "
                        f"(max_retries = {limit}): {exc}") from exc
                delay = backoff_delay(backoffs, self.service.rng)
                backoffs += 1
                self.service.log("eth_deposits.retry", op=op, attempt=backoffs,
                                 delay=round(delay, 6), error=str(exc))
                await trio.sleep(delay)
