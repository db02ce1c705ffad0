"""The rollup rebuild against moto: rollups recomputed from the raw submissions,
the exactly-once invariant kept (with the stream and with a concurrent count)."""

import itertools
import random
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from backup import rebuild as rebuild_command
from backup.rebuild import rebuild
from shared.histogram import Histogram
from shared.rollups import RollupChanged, RollupStore
from shared.submissions import Pick, Submission, SubmissionStore, picks_by_day
from stats.aggregator import aggregate
from tests.support.backup import TABLE_NAME, all_items, backup_account, stream_records

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 3)
_ids = itertools.count()


@pytest.fixture
def table() -> Iterator["DynamoDBClient"]:
    with backup_account() as client:
        yield client


@pytest.fixture
def submissions(table: "DynamoDBClient") -> SubmissionStore:
    return SubmissionStore(table, TABLE_NAME)


@pytest.fixture
def rollups(table: "DynamoDBClient") -> RollupStore:
    return RollupStore(table, TABLE_NAME)


def given(store: SubmissionStore, day: str, *numbers: int) -> list[Pick]:
    picks = []
    for number in numbers:
        pick = Pick(f"{day}-{next(_ids):04d}", day, number)
        store.add(Submission(pick, f"{day}T12:00:00Z", "0" * 64))
        picks.append(pick)
    return picks


def put_rollup(table: "DynamoDBClient", sort_key: str, **counts: int) -> None:
    table.put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": "ROLLUP#" + sort_key[:7]},
            "sk": {"S": sort_key},
            **{name: {"N": str(c)} for name, c in counts.items()},
        },
    )


def test_rollups_are_recomputed_from_the_submissions(
    table: "DynamoDBClient", submissions: SubmissionStore, rollups: RollupStore
) -> None:
    # Given: day 1 counted, then its rollup corrupted (a bug); day 2 half counted,
    # with a stray write-shard part; day 3 never counted; day 4, out of range, wrong
    rollups.count_once("2026-03-01", given(submissions, "2026-03-01", 1, 2, 2))
    put_rollup(table, "2026-03-01", n9=40)
    rollups.count_once("2026-03-02", given(submissions, "2026-03-02", 5))
    given(submissions, "2026-03-02", 6, 6)
    put_rollup(table, "2026-03-02#1", n3=2)
    given(submissions, "2026-03-03", 10)
    given(submissions, "2026-03-04", 4)
    put_rollup(table, "2026-03-04", n8=1)

    days = rebuild(submissions, rollups, FIRST, LAST)

    # Then: each day in range equals the histogram of all its submissions, all counted
    assert rollups.histograms(FIRST, date(2026, 3, 4)) == {
        "2026-03-01": Histogram.of([1, 2, 2]),
        "2026-03-02": Histogram.of([5, 6, 6]),
        "2026-03-03": Histogram.of([10]),
        "2026-03-04": Histogram.of([8]),
    }
    assert [(d.day, d.newly_counted) for d in days] == [
        ("2026-03-01", 0),
        ("2026-03-02", 2),
        ("2026-03-03", 1),
    ]
    assert all(p.counted for p in submissions.scan_picks("2026-03-01", "2026-03-03"))
    assert not any(i["sk"]["S"] == "2026-03-02#1" for i in all_items(table, TABLE_NAME))


def test_a_second_rebuild_changes_nothing(
    table: "DynamoDBClient", submissions: SubmissionStore, rollups: RollupStore
) -> None:
    given(submissions, "2026-03-01", 3, 4)
    rebuild(submissions, rollups, FIRST, LAST)
    before = all_items(table, TABLE_NAME)

    days = rebuild(submissions, rollups, FIRST, LAST)

    assert [d.changed for d in days] == [False]
    assert all_items(table, TABLE_NAME) == before


def test_the_stream_never_counts_a_rebuilt_submission_twice(
    table: "DynamoDBClient", submissions: SubmissionStore, rollups: RollupStore
) -> None:
    # Given: submissions whose stream records are still waiting for the aggregator
    given(submissions, "2026-03-01", 2, 7, 7)
    records = stream_records(table, TABLE_NAME)

    rebuild(submissions, rollups, FIRST, LAST)
    # When: the event source mapping is enabled again and delivers them
    assert aggregate(rollups, records) == {"batchItemFailures": []}

    assert rollups.histograms(FIRST, LAST) == {"2026-03-01": Histogram.of([2, 7, 7])}


def test_a_rollup_without_submissions_is_emptied(
    table: "DynamoDBClient", submissions: SubmissionStore, rollups: RollupStore
) -> None:
    put_rollup(table, "2026-03-02", n1=3)

    rebuild(submissions, rollups, FIRST, LAST)

    assert rollups.histograms(FIRST, LAST) == {}


def test_a_count_during_the_rebuild_is_never_lost(
    table: "DynamoDBClient",
    submissions: SubmissionStore,
    rollups: RollupStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: a wrong rollup, and the aggregator counting a submission while the
    # rebuild scans (its event source mapping was left enabled)
    late = given(submissions, "2026-03-01", 9)
    rollups.count_once("2026-03-01", given(submissions, "2026-03-01", 1))
    put_rollup(table, "2026-03-01", n1=1, n5=3)
    scan = SubmissionStore.scan_picks

    def scan_while_counting(self: SubmissionStore, first: str, last: str) -> Iterator[Pick]:
        picks = list(scan(self, first, last))
        rollups.count_once("2026-03-01", late)
        return iter(picks)

    monkeypatch.setattr(SubmissionStore, "scan_picks", scan_while_counting)

    # When / Then: the replacement is refused rather than overwrite the new count
    with pytest.raises(RollupChanged):
        rebuild(submissions, rollups, FIRST, LAST)
    assert rollups.histograms(FIRST, LAST) == {"2026-03-01": Histogram.of([1, 5, 5, 5, 9])}
    # ...and a rebuild without the race repairs the day, the late count included
    monkeypatch.undo()
    rebuild(submissions, rollups, FIRST, LAST)
    assert rollups.histograms(FIRST, LAST) == {"2026-03-01": Histogram.of([1, 9])}


def test_a_day_spread_over_parts_is_rebuilt_into_one_item(
    table: "DynamoDBClient", submissions: SubmissionStore
) -> None:
    # Given: a day counted over four parts, one part of it wrong
    spread = RollupStore(table, TABLE_NAME, parts=4, rng=random.Random(4))
    for pick in given(submissions, "2026-03-02", *range(1, 11)):
        spread.count_once("2026-03-02", [pick])
    put_rollup(table, "2026-03-02#3", n7=5)

    # When: the rebuild runs with the aggregator's layout
    [day] = rebuild(submissions, spread, FIRST, LAST)

    # Then: one item holds the day, equal to its counted submissions
    assert day.changed
    assert [
        i["sk"]["S"] for i in all_items(table, TABLE_NAME) if i["pk"]["S"].startswith("ROLLUP#")
    ] == ["2026-03-02"]
    assert spread.histograms(FIRST, LAST) == {"2026-03-02": Histogram.of(range(1, 11))}


def test_a_count_into_a_new_part_during_the_rebuild_is_never_kept_twice(
    table: "DynamoDBClient", submissions: SubmissionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: a day in part 0, and a count landing in part 2 after the rebuild's snapshot
    spread = RollupStore(table, TABLE_NAME, parts=3, rng=random.Random(0))
    RollupStore(table, TABLE_NAME).count_once("2026-03-01", given(submissions, "2026-03-01", 1))
    late = given(submissions, "2026-03-01", 9)
    scan = SubmissionStore.scan_picks

    class Part2(random.Random):
        def randrange(self, *_: Any, **__: Any) -> int:
            return 2

    def count_then_scan(self: SubmissionStore, first: str, last: str) -> Iterator[Pick]:
        RollupStore(table, TABLE_NAME, parts=3, rng=Part2()).count_once("2026-03-01", late)
        return scan(self, first, last)

    monkeypatch.setattr(SubmissionStore, "scan_picks", count_then_scan)
    put_rollup(table, "2026-03-01", n1=1, n5=1)

    # When / Then: the scan sees the late pick counted, so the replacement holds it:
    # it is refused, since the new part would survive beside it (counted twice)
    with pytest.raises(RollupChanged):
        rebuild(submissions, spread, FIRST, LAST)
    monkeypatch.undo()
    rebuild(submissions, spread, FIRST, LAST)
    assert spread.histograms(FIRST, LAST) == {"2026-03-01": Histogram.of([1, 9])}


def test_the_command_rebuilds_a_named_table(
    table: "DynamoDBClient",
    submissions: SubmissionStore,
    rollups: RollupStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    given(submissions, "2026-03-02", 4, 4)

    status = rebuild_command.main(
        ["--table", TABLE_NAME, "--from", "2026-03-01", "--to", "2026-03-03"]
    )

    assert status == 0
    assert (
        "2026-03-02: rollup 0 -> 0 picks, 2 uncounted submissions counted"
        in capsys.readouterr().out
    )
    assert rollups.histograms(FIRST, LAST) == {"2026-03-02": Histogram.of([4, 4])}


def test_the_command_refuses_a_reversed_range(table: "DynamoDBClient") -> None:
    with pytest.raises(SystemExit) as exit_:
        rebuild_command.main(["--table", TABLE_NAME, "--from", "2026-03-03", "--to", "2026-03-01"])
    assert exit_.value.code == 2


def test_picks_are_grouped_by_day_counted_apart() -> None:
    picks = [
        Pick("a", "2026-03-01", 1, counted=True),
        Pick("b", "2026-03-02", 2, counted=False),
        Pick("c", "2026-03-01", 3, counted=False),
        Pick("d", "2026-03-01", 4, counted=True),
    ]

    days = picks_by_day(picks)

    assert sorted(days) == ["2026-03-01", "2026-03-02"]
    assert days["2026-03-01"].counted_numbers == [1, 4]
    assert [p.submission_id for p in days["2026-03-01"].uncounted] == ["c"]
    assert days["2026-03-02"].counted == []
    assert [p.submission_id for p in days["2026-03-02"].uncounted] == ["b"]
