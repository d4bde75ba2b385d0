"""CometBFT's proposer-priority rotation against the worked examples of the Tendermint spec."""

from node.proposer import ProposerRotation, address_key, proposer_sequence


def test_powers_1_2_3_give_c_b_a_c_b_c() -> None:
    assert proposer_sequence({"A": 1, "B": 2, "C": 3}, 12) == ["C", "B", "A", "C", "B", "C"] * 2


def test_tendermint_example_4_2_2_2() -> None:
    powers = {"p0": 4, "p1": 2, "p2": 2, "p3": 2}
    assert proposer_sequence(powers, 10) == ["p0", "p1", "p2", "p3", "p0", "p0", "p1", "p2", "p3", "p0"]


def test_tendermint_example_3_and_seven_ones() -> None:
    powers = {"p0": 3, **{f"p{i}": 1 for i in range(1, 8)}}
    assert proposer_sequence(powers, 10) == ["p0", "p1", "p2", "p3", "p0", "p4", "p5", "p6", "p7", "p0"]


def test_equal_powers_rotate_in_address_order_numerically() -> None:
    names = {f"v{i}": 1 for i in range(12)}
    assert proposer_sequence(names, 12) == [f"v{i}" for i in range(12)]
    assert sorted(["v10", "v2", "v1"], key=address_key) == ["v1", "v2", "v10"]


def test_round_r_advances_r_more_steps() -> None:
    rotation = ProposerRotation({"v0": 1, "v1": 1, "v2": 1, "v3": 1})
    assert rotation.increment(1) == "v0"
    assert rotation.proposer_for_round(1) == "v1"
    assert rotation.proposer_for_round(2) == "v2"
    assert rotation.increment(1) == "v1"  # the round copies did not move the height's rotation


def test_joining_validator_starts_at_minus_one_and_an_eighth_of_total() -> None:
    rotation = ProposerRotation({"v0": 1, "v1": 1, "v2": 1, "v3": 1})
    rotation.increment(1)
    rotation.update([("v4", 4)])
    assert "v4" in rotation.priorities
    # -1.125 x 8 = -9 before re-centring; it is the lowest priority of the set
    assert rotation.priorities["v4"] == min(rotation.priorities.values())


def test_a_newcomer_joining_with_a_removal_starts_from_the_total_before_removals() -> None:
    """CometBFT's updateWithChangeSet: a new validator starts at -1.125 x the total power
    after the updates but before the removals (tvpAfterUpdatesBeforeRemovals). Four of power
    2, v4 joins with 2 while v3 leaves: 10 + 10 >> 3 = 11 below the others, not 8 + 1 = 9."""
    rotation = ProposerRotation({"v0": 2, "v1": 2, "v2": 2, "v3": 2})
    rotation.update([("v4", 2), ("v3", 0)])
    assert rotation.priorities["v4"] - rotation.priorities["v0"] == -11
    alone = ProposerRotation({"v0": 2, "v1": 2, "v2": 2, "v3": 2})
    alone.update([("v4", 2)])
    assert alone.priorities["v4"] - alone.priorities["v0"] == -11  # 10 after the update either way


def test_removed_validator_leaves_rotation() -> None:
    rotation = ProposerRotation({"v0": 1, "v1": 1, "v2": 1})
    rotation.update([("v1", 0)])
    assert [rotation.increment(1) for _ in range(4)] == ["v0", "v2", "v0", "v2"]


def test_a_copy_rotates_like_its_original_and_apart_from_it() -> None:
    """A copy (which keeps the address order) gives the same proposers as the original, and
    stepping either leaves the other as it was."""
    rotation = ProposerRotation({"v10": 3, "v2": 1, "v1": 2})
    rotation.increment(2)
    twin = rotation.copy()
    assert [twin.increment(1) for _ in range(7)] == [rotation.increment(1) for _ in range(7)]
    before = dict(rotation.priorities)
    twin.increment(3)
    assert rotation.priorities == before
    twin.update([("v0", 5)])
    assert rotation.copy().increment(1) == ProposerRotation(dict(rotation.powers),
                                                            dict(rotation.priorities)).increment(1)
