"""User transactions (``[load]``): they compete with vote txs for nonces, mempool room and
block space, and a busy chain delays resolutions."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from node.txs import TX_BASE_BYTES, VOTE_ID_BYTES, VoteBodies, VoteIDs
from sim.scenario import ScenarioError
from tests.worlds import burst_of_notes, run_text, scenario_text, trace_events, violations

NOTES = """
[resolutions.note]
expiration_period = 300

[sources.script]
rate = "6/min"
type = "note"
seen_by = "all"
"""

LOAD = """
[load]
rate = "{rate}"
accounts = 50
size = {{ dist = "lognormal", median = 900, sigma = 0.5 }}
"""

SMALL_BLOCKS = 'max_block_bytes = 32768'


def busy(rate: str | None) -> sim.Result:
    body = NOTES + (LOAD.format(rate=rate) if rate else "")
    return run_text(body, duration="5m", protocol="kwil-0.8", consensus=SMALL_BLOCKS, seed=3)


def test_full_blocks_push_votes_out_and_delay_resolutions() -> None:
    """At 60 txs/s of about 1 kB against 32 kB blocks every block fills with users' txs, so
    vote txs wait in mempools behind them: resolutions pass later than on a quiet chain, and
    no block is ever over ``max_block_bytes``."""
    quiet, loaded = busy(None), busy("60/s")
    assert violations(quiet) == [] and violations(loaded) == []
    assert loaded.summary["user_txs_committed"] > 0
    assert loaded.summary["user_txs_sent"] >= loaded.summary["user_txs_committed"]
    blocks = loaded.records.blocks
    assert max(b.bytes for b in blocks) <= 32768
    full = [b for b in blocks if b.bytes > 32768 - 3000]  # no room for one more typical user tx
    assert len(full) > len(blocks) // 2
    assert loaded.summary["resolutions_passed"] > 0
    assert loaded.summary["resolution_latency_p50"] > quiet.summary["resolution_latency_p50"]


def test_the_summary_table_shows_users_in_their_own_group() -> None:
    from sim.summary_text import summary_lines

    lines = summary_lines(busy("20/s").summary)
    headers = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert "users:" in headers and "other:" not in headers
    users = lines[lines.index("users:") + 1:lines.index("users:") + 6]
    assert [line.split()[0] for line in users] == ["user_txs_sent", "user_txs_committed", "user_txs_rejected",
                                                   "user_txs_dropped", "user_txs_pending"]


def test_every_user_tx_sent_is_accounted_for() -> None:
    """Each tx sent was committed, refused by the node it was sent to, dropped (another tx of
    its account took its nonce on another node first, or a crash lost it) or is still
    pending at the end; at 30 txs/s from 50 accounts over four nodes, some are dropped."""
    summary = busy("30/s").summary
    parts = [summary[f"user_txs_{k}"] for k in ("committed", "rejected", "dropped", "pending")]
    assert all(p >= 0 for p in parts) and sum(parts) == summary["user_txs_sent"]
    assert summary["user_txs_dropped"] > 0


def test_the_blocks_frame_shows_user_txs_and_bytes() -> None:
    blocks = busy("20/s").frames()["blocks"]
    assert blocks["user_txs"].sum() > 0 and (blocks["bytes"] <= 32768).all() and blocks["bytes"].max() > 10_000


def test_a_light_load_leaves_resolution_timing_alone() -> None:
    """A few small user txs a second fit beside the votes: resolutions pass in the same
    blocks as on a quiet chain (the latency figures do not move)."""
    quiet, light = busy(None), busy("2/s")
    assert light.summary["user_txs_committed"] > 0
    assert light.summary["resolution_latency_p50"] == quiet.summary["resolution_latency_p50"]


def test_vote_tx_sizes_follow_their_content() -> None:
    """Vote txs are RLP-encoded: a vote-ids tx grows by one id's bytes per id, a vote-bodies
    tx by each body's bytes."""
    one = VoteIDs("v0", 1, (("a", "note"),))
    three = VoteIDs("v0", 1, (("a", "note"), ("b", "note"), ("c", "note")))
    assert three.size() - one.size() == 2 * VOTE_ID_BYTES and one.size() > TX_BASE_BYTES
    short = VoteBodies("v0", 1, (("note", b"x"),))
    long = VoteBodies("v0", 1, (("note", b"x" * 1001),))
    assert long.size() - short.size() == 1000


def test_the_same_load_gives_the_same_run() -> None:
    """Every user tx (arrival, account, size, node) comes from the world's seeded streams."""
    text = scenario_text(NOTES + LOAD.format(rate="20/s"), duration="2m", consensus=SMALL_BLOCKS)
    hashes = {sim.run(sim.parse_scenario(text, file="t.toml"), seed=5).trace_hash for _ in range(2)}
    assert len(hashes) == 1


@pytest.mark.parametrize(("table", "where"), [
    ('[load]\nrate = "fast"\n', "load.rate"),
    ('[load]\nrate = "0/s"\n', "load.rate"),
    ('[load]\nrate = "5/s"\naccounts = []\n', "load.accounts"),
    ('[load]\nrate = "5/s"\naccounts = ["a", "a"]\n', "load.accounts"),
    ('[load]\nrate = "5/s"\nsize = 3\n', "load.size"),
    ('[load]\nrate = "5/s"\nsize = { dist = "uniform", low = 900, high = 500 }\n', "load.size.high"),
    ('[load]\nrate = "5/s"\nfee = -1\n', "load.fee"),
    ('[load]\nrate = "5/s"\nburst = 3\n', "load.burst"),
])
def test_a_bad_load_table_is_one_line_naming_the_key(table: str, where: str, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        sim.parse_scenario(scenario_text(table), file="busy.toml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("busy.toml: ") and where in message


BIG_USER_TXS = """
[load]
rate = "1/s"
accounts = 2
size = 2000
"""


def test_a_user_tx_larger_than_a_block_is_refused_by_the_mempool() -> None:
    """CometBFT's mempool pre-check (TxPreCheck) refuses a tx bigger than a block's data: it
    could never be included. 2 kB txs against 1 kB blocks are all rejected, none left
    pending for good; the votes still pass."""
    result = run_text(NOTES + BIG_USER_TXS, duration="3m", consensus="max_block_bytes = 1000", seed=2)
    summary = result.summary
    assert summary["user_txs_sent"] > 100
    assert summary["user_txs_rejected"] == summary["user_txs_sent"]
    assert summary["user_txs_pending"] == 0 and summary["user_txs_committed"] == 0
    assert violations(result) == [] and summary["resolutions_passed"] > 0


def test_an_own_vote_too_large_for_a_block_is_refused_and_traced() -> None:
    """A vote-ids tx bigger than a block (12 ids against room for 7) is refused at once, as
    CometBFT refuses it before kwil's CheckTx; the node says so in its trace. Its ids stay
    unbroadcasted, so the next block's vote carries them again, with the same nonce."""
    room = TX_BASE_BYTES + 7 * VOTE_ID_BYTES
    result = run_text(burst_of_notes(12), duration="1m",
                      consensus=f"max_block_bytes = {room}", seed=2)
    refused = trace_events(result, "tx.rejected", why="too large", kind="VoteIDs")
    assert refused, "a vote-ids tx of 12 ids does not fit a block of room for 7"
    assert len({r["node"] for r in refused}) >= 3  # every validator but the one proposing bodies
    again = [(r["node"], r["nonce"]) for r in refused]
    assert max(again.count(pair) for pair in set(again)) > 1


def test_a_mempool_full_when_the_block_is_finalized_refuses_the_vote() -> None:
    """kwil's broadcaster runs inside FinalizeBlock, before CometBFT's mempool Update frees the
    room the block's txs took. At 300 users' txs a second the mempools stay full (5,000 txs),
    so the votes are refused there, block after block, and no event seen after that passes:
    the oracle starves. (The vote used to go in after the Update, into the room the block had freed.)"""
    result = run_text(NOTES + LOAD.format(rate="300/s"), duration="2m", protocol="kwil-0.8",
                      consensus=SMALL_BLOCKS, seed=3)
    assert violations(result) == []
    refused = trace_events(result, "tx.rejected", why="full", kind="VoteIDs")
    assert len({r["node"] for r in refused}) >= 3 and len(refused) > 50
    starved_from = min(r["t"] for r in refused)
    later = [r for r in result.records.resolutions.values()
             if r.first_seen is not None and r.first_seen > starved_from]
    assert later and all(r.status != "passed" for r in later)


def test_a_user_tx_over_the_mempools_4_mib_is_refused_though_a_block_would_hold_it() -> None:
    """kwil sets CometBFT's [mempool] max_tx_bytes to 4 MiB (both versions' default config):
    a 5 MB tx is refused though the 6 MiB default block would hold it."""
    big = '[load]\nrate = "1/s"\naccounts = 1\nsize = 5000000\n'
    result = run_text(NOTES + big, duration="30s", seed=2)
    summary = result.summary
    assert summary["user_txs_sent"] > 10 and summary["user_txs_rejected"] == summary["user_txs_sent"]
