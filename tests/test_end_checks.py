"""The checks that run at the end of a run look only at what can still fail: a long run's
resolved events cost them nothing."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

from sim.checks.base import Violation
from sim.checks.deposits import DepositsExact, _deposit_id
from sim.checks.liveness import Liveness
from sim.world.records import RunRecords
from tests.memory import peak

NODES = [f"v{i}" for i in range(100)]


class _State:
    total_power = len(NODES)

    def power_of(self, name: str) -> int:
        return 1


def _view(records: RunRecords, faults: list[dict[str, object]] | None = None) -> SimpleNamespace:
    records.faults = faults or []
    return SimpleNamespace(
        scenario=SimpleNamespace(checks=SimpleNamespace(liveness_within=60.0)), now=10_000.0,
        records=records, nodes=[SimpleNamespace(name=n, byzantine=False) for n in NODES],
        chain_state=_State, types=SimpleNamespace(get=lambda _type: SimpleNamespace(
            confirmation_threshold=Fraction(2, 3))))


def test_liveness_reports_the_unresolved_event_and_holds_no_set_per_resolved_one() -> None:
    """5,000 events seen by a hundred validators, all passed but one: the one is reported;
    the check's peak memory is a chunk of observations read back, not a set of a hundred
    names per passed event (~43 MB here, growing with a long run's events)."""
    records = RunRecords()
    for i in range(5_001):
        rid = f"id-{i:05d}"
        for node in NODES:
            records.observations.append((node, rid, float(i)))
        record = records.resolution(rid, "note")
        record.first_seen = float(i)
        if i != 2_500:
            record.status = "passed"
            records.resolutions.settle(rid)
    found: list[Violation] = []
    check = Liveness(_view(records), found.append)  # type: ignore[arg-type]
    _none, held = peak(check.at_end)
    assert [v.explanation.split()[1] for v in found] == ["id-02500"]
    assert held < 8_000_000, f"the liveness check held {held} bytes at once"


def test_liveness_reports_an_event_that_passed_or_expired_after_the_bound() -> None:
    """simulator.md: every event observed by enough power *resolves within* the bound. Of
    four events first seen at 0 s (bound 60 s, no faults), the one that passed at 30 s holds;
    the one that passed at 90 s, the one that expired and the one still open are reported."""
    records = RunRecords()
    outcomes = {"in-time": ("passed", 30.0), "late": ("passed", 90.0), "expired": ("expired", 600.0),
                "open": (None, None)}
    for rid, (status, time) in outcomes.items():
        for node in NODES:
            records.observations.append((node, rid, 0.0))
        record = records.resolution(rid, "note")
        record.first_seen, record.status, record.time = 0.0, status, time
        if status is not None:
            records.resolutions.settle(rid)
    found: list[Violation] = []
    Liveness(_view(records), found.append).at_end()  # type: ignore[arg-type]
    assert {v.explanation.split()[1]: v.explanation.split(" power ")[1] for v in found} == {
        "expired": "expired unresolved 600.0s after it was first seen",
        "late": "passed 90.0s after it was first seen (bound 60s from then or from the last fault's end)",
        "open": "is unresolved 10000.0s after it was first seen"}


def test_liveness_judges_the_quiet_time_not_what_expired_during_the_faults() -> None:
    """The bound runs from the last fault's end (a partition of 30-50 s here): an event that
    expired during the partition (its votes kept apart) is not reported; one that expired
    after it, and one that passed 70 s after it (bound 60 s), are."""
    records = RunRecords()
    outcomes = {"expired-in-faults": ("expired", 45.0), "expired-after": ("expired", 80.0),
                "late": ("passed", 120.0), "in-time": ("passed", 100.0)}
    for rid, (status, time) in outcomes.items():
        for node in NODES:
            records.observations.append((node, rid, 10.0))
        record = records.resolution(rid, "note")
        record.first_seen, record.status, record.time = 10.0, status, time
        records.resolutions.settle(rid)
    found: list[Violation] = []
    partition = {"time": 30.0, "kind": "partition", "duration": 20.0}
    Liveness(_view(records, [partition]), found.append).at_end()  # type: ignore[arg-type]
    assert sorted(v.explanation.split()[1] for v in found) == ["expired-after", "late"]


def test_deposits_exact_reports_a_final_deposit_enough_power_saw_and_nobody_credited() -> None:
    """Of three final deposits, one seen by every validator and never credited is reported;
    one seen by a single validator, and one whose resolution expired, are not."""
    deposits = [SimpleNamespace(account=f"0x{i:040x}", amount=10 + i, tx_hash=f"0x{i:064x}", block_time=100.0,
                                block_number=7) for i in range(3)]
    records = RunRecords()
    for i, deposit in enumerate(deposits):
        rid = _deposit_id(deposit)
        for node in NODES if i != 1 else NODES[:1]:
            records.observations.append((node, rid, 200.0))
        record = records.resolution(rid, "credit_account")
        if i == 2:
            record.status = "expired"
            records.resolutions.settle(rid)
    source = SimpleNamespace(config=SimpleNamespace(reorg_max_depth=3, block_time=12.0),
                             final_deposits=lambda _conf: deposits)
    view = _view(records)
    view.sources = SimpleNamespace(get=lambda _name: source, require=lambda _name: source)
    view.nodes = [SimpleNamespace(name=n, byzantine=False, extension_configs={}) for n in NODES]
    found: list[Violation] = []
    DepositsExact(view, found.append).at_end()
    assert [v.explanation.split()[2] for v in found] == [deposits[0].tx_hash]
    assert len(found[0].nodes) == len(NODES)


def test_a_network_fault_without_a_duration_lasts_until_a_heal() -> None:
    """A partition or delay with no ``duration`` lasts until a ``heal`` (it was taken to end
    at its own instant, so an event its votes could not cross was reported): liveness judges
    from the heal, and judges nothing when no heal comes."""
    records = RunRecords()
    for node in NODES:
        records.observations.append((node, "late", 10.0))
    record = records.resolution("late", "note")
    record.first_seen, record.status, record.time = 10.0, "passed", 500.0
    records.resolutions.settle("late")
    delay = {"time": 20.0, "kind": "delay", "duration": None}

    def reported(faults: list[dict[str, object]]) -> list[str]:
        found: list[Violation] = []
        Liveness(_view(records, faults), found.append).at_end()  # type: ignore[arg-type]
        return [v.explanation.split()[1] for v in found]

    assert reported([delay]) == []  # never healed: the faults are never over
    assert reported([delay, {"time": 450.0, "kind": "heal", "duration": None}]) == []  # passed 50 s after
    assert reported([delay, {"time": 300.0, "kind": "heal", "duration": None}]) == ["late"]  # 200 s after


def _uncredited_deposits_reported(faults: list[dict[str, object]] | None = None,
                                  byzantine: frozenset[str] = frozenset()) -> int:
    """How many violations ``deposits-exact`` reports for one final deposit (block 7, final
    at 244 s) that every validator saw at 200 s and nobody credited, by the end at 10,000 s."""
    deposit = SimpleNamespace(account=f"0x{1:040x}", amount=10, tx_hash=f"0x{1:064x}", block_time=100.0,
                              block_number=7)
    records = RunRecords()
    for node in NODES:
        records.observations.append((node, _deposit_id(deposit), 200.0))
    records.resolution(_deposit_id(deposit), "credit_account")
    source = SimpleNamespace(config=SimpleNamespace(reorg_max_depth=3, block_time=12.0),
                             final_deposits=lambda _conf: [deposit])
    view = _view(records, faults)
    view.sources = SimpleNamespace(get=lambda _name: source, require=lambda _name: source)
    view.nodes = [SimpleNamespace(name=n, byzantine=n in byzantine, extension_configs={}) for n in NODES]
    found: list[Violation] = []
    DepositsExact(view, found.append).at_end()
    return len(found)


def test_deposits_exact_waits_for_a_network_fault_to_be_healed() -> None:
    """A final deposit every validator saw and nobody credited is not reported while a
    partition without a duration was never healed (the chain could not decide it); it is
    once a heal came long enough before the end."""
    partition = {"time": 150.0, "kind": "partition", "duration": None}
    assert _uncredited_deposits_reported([partition]) == 0
    assert _uncredited_deposits_reported([partition, {"time": 5_000.0, "kind": "heal", "duration": None}]) == 1


def test_deposits_exact_counts_only_honest_observers() -> None:
    """A byzantine validator may see a deposit and never vote (``silent``): a final deposit
    seen by every validator, most of the power byzantine, is not reported uncredited (it was,
    with three silent validators of four); seen by the same validators all honest, it is."""
    assert _uncredited_deposits_reported(byzantine=frozenset(NODES[34:])) == 0  # 34 honest of 100: below 2/3
    assert _uncredited_deposits_reported(byzantine=frozenset(NODES[90:])) == 1  # 90 honest
    assert _uncredited_deposits_reported() == 1
