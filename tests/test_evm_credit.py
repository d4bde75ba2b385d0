"""The credit_account body encoding and its resolution."""

from __future__ import annotations

from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.extensions.credit import (
    CREDIT_ACCOUNT_TYPE,
    CREDIT_DEFAULTS,
    CreditBody,
    credit_resolution,
    decode_credit,
    encode_credit,
    resolve_credit,
)

TX = "0x" + "ab" * 32


@attrs.define(eq=False)
class FakeState:
    balances: dict[str, int] = attrs.Factory(dict)
    kv: dict[str, bytes] = attrs.Factory(dict)

    def credit(self, account: str, amount: int) -> None:
        self.balances[account] = self.balances.get(account, 0) + amount

    def put(self, key: str, value: bytes) -> None:
        self.kv[key] = value

    def get(self, key: str) -> bytes | None:
        return self.kv.get(key)


@attrs.frozen
class FakeContext:
    body: bytes
    state: FakeState


def test_constants_are_kwils() -> None:
    assert CREDIT_ACCOUNT_TYPE == "credit_account"
    assert (Fraction(2, 3), Fraction(1, 3), 600) == CREDIT_DEFAULTS
    config = credit_resolution()
    assert (config.confirmation_threshold, config.refund_threshold,
            config.expiration_period) == CREDIT_DEFAULTS
    assert config.resolve_func is resolve_credit


def test_the_encoding_is_canonical_json() -> None:
    assert encode_credit("acct-1", 5, TX) == \
        b'{"account":"acct-1","amount":5,"tx_hash":"' + TX.encode() + b'"}'


@given(account=st.text(min_size=1, max_size=20), amount=st.integers(1, 2**80),
       tx=st.binary(min_size=32, max_size=32))
def test_bodies_round_trip(account: str, amount: int, tx: bytes) -> None:
    """Every valid (account, amount, tx_hash) encodes to bytes that decode to the same values,
    and encoding is a function of the values alone (so one deposit has one event id)."""
    tx_hash = "0x" + tx.hex()
    body = encode_credit(account, amount, tx_hash)
    assert decode_credit(body) == CreditBody(account, amount, tx_hash)
    assert encode_credit(account, amount, tx_hash) == body


@pytest.mark.parametrize(("body", "message"), [
    (b"\xff", "credit body is not UTF-8 JSON"),
    (b"[1, 2]", 'credit body must be a JSON object with exactly the keys "account", '
                '"amount", "tx_hash"'),
    (b'{"account":"a","amount":1}', "exactly the keys"),
    (b'{"account":"a","amount":"1","tx_hash":"' + TX.encode() + b'"}',
     "credit amount must be an integer > 0, got '1'"),
    (b'{"account":"a","amount":0,"tx_hash":"' + TX.encode() + b'"}',
     "credit amount must be an integer > 0, got 0"),
    (b'{"account":"","amount":1,"tx_hash":"' + TX.encode() + b'"}',
     "credit account must be a non-empty string"),
    (b'{"account":"a","amount":1,"tx_hash":"0x12"}', 'credit tx_hash must be "0x" + 64'),
    (b'{"amount":1,"account":"a","tx_hash":"' + TX.encode() + b'"}',
     "credit body is not in canonical form"),
])
def test_malformed_bodies_are_rejected(body: bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        decode_credit(body)
    assert message in str(info.value)


def test_encode_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="credit amount must be an integer > 0, got True"):
        encode_credit("a", True, TX)


def test_resolving_credits_once_and_records_the_tx_hash() -> None:
    state = FakeState()
    body = encode_credit("acct-3", 40, TX)
    resolve_credit(FakeContext(body, state))
    resolve_credit(FakeContext(encode_credit("acct-3", 2, "0x" + "cd" * 32), state))
    assert state.balances == {"acct-3": 42}
    assert state.kv["credited/" + TX] == b"1"
    with pytest.raises(ValueError, match=f"deposit {TX} was already credited"):
        resolve_credit(FakeContext(body, state))
    assert state.balances == {"acct-3": 42}


def test_resolving_a_malformed_body_changes_nothing() -> None:
    state = FakeState()
    with pytest.raises(ValueError):
        resolve_credit(FakeContext(b"{}", state))
    assert state.balances == {} and state.kv == {}
