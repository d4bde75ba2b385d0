"""The ``credit_account`` resolution: a deposit seen on the external chain credits an account.

A body is the canonical JSON of ``{"account": str, "amount": int, "tx_hash": str}``: keys
sorted, no spaces, UTF-8. Canonical matters because the event id is a hash of the body, so
one deposit must always encode to the same bytes; ``decode_credit`` rejects anything else.
Passing credits the account in the node's application state and records
``credited/<tx_hash>``, and a deposit is never credited twice.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any, Protocol

import attrs

from node.resolutions import ResolutionConfig

CREDIT_ACCOUNT_TYPE = "credit_account"
# (confirmation_threshold, refund_threshold, expiration_period in blocks), as kwil has them.
CREDIT_DEFAULTS = (Fraction(2, 3), Fraction(1, 3), 600)
_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
_KEYS = ("account", "amount", "tx_hash")


@attrs.frozen
class CreditBody:
    """What a credit_account event says: credit ``amount`` to ``account`` for ``tx_hash``."""

    account: str
    amount: int
    tx_hash: str


class CreditState(Protocol):
    def credit(self, account: str, amount: int) -> None: ...
    def put(self, key: str, value: bytes) -> None: ...
    def get(self, key: str) -> bytes | None: ...


class CreditContext(Protocol):
    @property
    def body(self) -> bytes: ...
    @property
    def state(self) -> CreditState: ...


def encode_credit(account: str, amount: int, tx_hash: str) -> bytes:
    """The canonical body of a deposit (raises ValueError for values no body may hold)."""
    _check(account, amount, tx_hash)
    return _canonical({"account": account, "amount": amount, "tx_hash": tx_hash})


def decode_credit(body: bytes) -> CreditBody:
    """Parse a body made by ``encode_credit``; raises ValueError naming what is wrong."""
    if not isinstance(body, bytes | bytearray):
        raise ValueError(f"credit body must be bytes, got {type(body).__name__}")
    try:
        value = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("credit body is not UTF-8 JSON") from None
    if not isinstance(value, dict) or sorted(value) != list(_KEYS):
        raise ValueError('credit body must be a JSON object with exactly the keys '
                         '"account", "amount", "tx_hash"')
    _check(value["account"], value["amount"], value["tx_hash"])
    if _canonical(value) != bytes(body):
        raise ValueError("credit body is not in canonical form (sorted keys, no spaces)")
    return CreditBody(value["account"], value["amount"], value["tx_hash"])


def resolve_credit(ctx: CreditContext) -> None:
    """Credit the deposit's account once; a tx_hash already credited is an error."""
    credit = decode_credit(ctx.body)
    key = "credited/" + credit.tx_hash
    if ctx.state.get(key) is not None:
        raise ValueError(f"deposit {credit.tx_hash} was already credited")
    ctx.state.credit(credit.account, credit.amount)
    ctx.state.put(key, b"1")


def credit_resolution() -> ResolutionConfig:
    """The credit_account ResolutionConfig with kwil's thresholds and expiry."""
    confirmation, refund, expiration = CREDIT_DEFAULTS
    return ResolutionConfig(resolve_func=resolve_credit, confirmation_threshold=confirmation,
                            refund_threshold=refund, expiration_period=expiration)


def _check(account: Any, amount: Any, tx_hash: Any) -> None:
    if not isinstance(account, str) or not account:
        raise ValueError(f"credit account must be a non-empty string, got {account!r}")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"credit amount must be an integer > 0, got {amount!r}")
    if not isinstance(tx_hash, str) or not _TX_HASH.match(tx_hash):
        raise ValueError(f'credit tx_hash must be "0x" + 64 lowercase hex digits, got {tx_hash!r}')


def _canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
