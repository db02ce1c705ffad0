"""The rollup store's reads and writes: month slices, read consistency, write
parts, and the guards of a rollup replacement; on moto and on DynamoDB Local
(tests/support/engines.py)."""

import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time

from shared.histogram import Histogram
from shared.rollups import (
    MAX_PARTS,
    RollupChanged,
    RollupSnapshot,
    RollupStore,
    add_to_rollup,
    histogram_of,
    is_rollup_key,
    part_key,
    rollup_item,
    rollup_key,
    rollup_partition,
)
from shared.submissions import Pick, SubmissionStore, is_submission_key, pick_from_item
from tests.support.dynamo import (
    TABLE_NAME,
    raw_histograms,
    recorded_calls,
    rollup_histograms,
    scan_all,
    unmarked_submissions,
)
from tests.support.faults import Fault, FaultyClient, skipped_waits
from tests.support.stream import store_submissions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DAY = "2026-03-02"


@pytest.fixture
def table(store_table: "DynamoDBClient") -> "DynamoDBClient":
    return store_table


class Always(random.Random):
    """Every random draw is `draw`: the first part chosen is `draw`, and the other
    part chosen after a contended attempt is the next one."""

    def __init__(self, draw: int) -> None:
        super().__init__()
        self.draw = draw

    def randrange(self, *_: Any, **__: Any) -> int:
        return self.draw


def _given(table: "DynamoDBClient", *picks: tuple[str, int]) -> list[Pick]:
    records = store_submissions(SubmissionStore(table, TABLE_NAME), picks)
    return [pick_from_item(r["dynamodb"]["NewImage"]) for r in records]


def _rollup_sort_keys(table: "DynamoDBClient") -> list[str]:
    return [i["sk"]["S"] for i in scan_all(table) if i["pk"]["S"].startswith("ROLLUP#")]


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        # a range that ends on a month's last day takes no slice of the next month
        ("2026-01-15", "2026-02-28", [("2026-01-15", "2026-01-31"), ("2026-02-01", "2026-02-28")]),
        ("2026-02-28", "2026-02-28", [("2026-02-28", "2026-02-28")]),
        ("2024-02-01", "2024-02-29", [("2024-02-01", "2024-02-29")]),
        ("2026-12-31", "2027-01-01", [("2026-12-31", "2026-12-31"), ("2027-01-01", "2027-01-01")]),
        ("2026-03-05", "2026-03-04", []),
    ],
)
def test_a_range_is_read_one_query_per_month_with_ordered_bounds(
    table: "DynamoDBClient", first: str, last: str, months: list[tuple[str, str]]
) -> None:
    with recorded_calls(table) as calls:
        RollupStore(table, TABLE_NAME).histograms(
            date.fromisoformat(first), date.fromisoformat(last)
        )

    queried = [
        (
            params["ExpressionAttributeValues"][":pk"]["S"],
            params["ExpressionAttributeValues"][":first"]["S"],
            params["ExpressionAttributeValues"][":last"]["S"],
        )
        for name, params in calls
        if name == "Query"
    ]
    assert queried == [
        (rollup_partition(date.fromisoformat(start)), start, end + "~") for start, end in months
    ]


def test_the_api_reads_eventually_consistent_and_a_rebuild_strongly(
    table: "DynamoDBClient",
) -> None:
    store = RollupStore(table, TABLE_NAME)
    day = date.fromisoformat(DAY)

    with recorded_calls(table) as api_reads:
        store.histograms(day, day)
    with recorded_calls(table) as rebuild_reads:
        store.snapshots(day, day)

    # Half the read units for the API; a rebuild must see every count it replaces
    assert [p["ConsistentRead"] for n, p in api_reads if n == "Query"] == [False]
    assert [p["ConsistentRead"] for n, p in rebuild_reads if n == "Query"] == [True]


def test_counts_spread_over_parts_merge_into_the_days_histogram(
    table: "DynamoDBClient",
) -> None:
    # Given a store that spreads a day over four parts
    store = RollupStore(table, TABLE_NAME, parts=4, rng=random.Random(5))
    picks = _given(table, *[(DAY, n % 10 + 1) for n in range(24)])

    # When the picks are counted in transactions of two
    with recorded_calls(table) as calls:
        for i in range(0, len(picks), 2):
            assert store.count_once(DAY, picks[i : i + 2]) == 2

    # Then each transaction marked its two picks and added to one part
    for name, params in calls:
        if name == "TransactWriteItems":
            updates = [action["Update"] for action in params["TransactItems"]]
            assert [u["Key"]["pk"]["S"].split("#")[0] for u in updates] == ["SUB", "SUB", "ROLLUP"]
    # And the parts used are the day's, several of them, and they merge to the picks
    assert set(_rollup_sort_keys(table)) <= {part_key(DAY, p) for p in range(4)}
    assert len(_rollup_sort_keys(table)) > 1
    assert rollup_histograms(table) == raw_histograms(table)
    assert unmarked_submissions(table) == []


def test_part_keys_keep_part_zero_as_the_day_itself() -> None:
    assert [part_key(DAY, p) for p in range(3)] == [DAY, f"{DAY}#1", f"{DAY}#2"]


@pytest.mark.parametrize("parts", [0, MAX_PARTS + 1])
def test_a_number_of_parts_out_of_range_is_refused(table: "DynamoDBClient", parts: int) -> None:
    with pytest.raises(ValueError, match="rollup parts"):
        RollupStore(table, TABLE_NAME, parts=parts)


def test_the_largest_number_of_parts_is_accepted(table: "DynamoDBClient") -> None:
    RollupStore(table, TABLE_NAME, parts=MAX_PARTS)
    RollupStore(table, TABLE_NAME, parts=1)


def test_a_retry_after_contention_moves_to_another_part(table: "DynamoDBClient") -> None:
    # Given three parts, the first choice part 0, and two conflicts in a row
    faulty = FaultyClient(table)
    store = RollupStore(
        faulty.as_dynamodb(), TABLE_NAME, parts=3, backoff=skipped_waits(), rng=Always(0)
    )
    faulty.inject([Fault.CONFLICT, Fault.CONFLICT])

    # When a pick is counted
    store.count_once(DAY, _given(table, (DAY, 1)))

    # Then each retry went to the next other part: 0, then 1, then 2 succeeded
    assert _rollup_sort_keys(table) == [part_key(DAY, 2)]


def test_replacing_a_day_without_a_rollup_creates_it(table: "DynamoDBClient") -> None:
    store = RollupStore(table, TABLE_NAME)

    store.replace_day(RollupSnapshot(DAY), Histogram.of([2, 2, 9]))

    assert rollup_histograms(table) == {DAY: Histogram.of([2, 2, 9])}


def test_replacing_an_empty_day_with_nothing_writes_nothing(table: "DynamoDBClient") -> None:
    with recorded_calls(table) as calls:
        RollupStore(table, TABLE_NAME, parts=3).replace_day(RollupSnapshot(DAY), Histogram())

    assert calls == []


def test_a_rollup_created_after_the_snapshot_is_not_overwritten(
    table: "DynamoDBClient",
) -> None:
    # Given a snapshot of a day without a rollup
    store = RollupStore(table, TABLE_NAME)
    day = date.fromisoformat(DAY)
    snapshot = store.snapshots(day, day).get(DAY, RollupSnapshot(DAY))

    # When a count creates the rollup before the replacement
    store.count_once(DAY, _given(table, (DAY, 4)))

    # Then the replacement refuses, naming the day, and the count stays
    with pytest.raises(RollupChanged, match=f"the rollup of {DAY} changed"):
        store.replace_day(snapshot, Histogram.of([1]))
    assert rollup_histograms(table) == {DAY: Histogram.of([4])}


@pytest.mark.parametrize("histogram", [Histogram.of([1]), Histogram()])
def test_a_part_created_after_the_snapshot_is_never_kept_beside_the_replacement(
    table: "DynamoDBClient", histogram: Histogram
) -> None:
    # Given a day counted into part 0, and a snapshot of it
    store = RollupStore(table, TABLE_NAME, parts=3)
    RollupStore(table, TABLE_NAME).count_once(DAY, _given(table, (DAY, 1)))
    day = date.fromisoformat(DAY)
    snapshot = store.snapshots(day, day)[DAY]

    # When a count lands in another part before the replacement
    late = _given(table, (DAY, 6))
    RollupStore(table, TABLE_NAME, parts=3, rng=Always(2)).count_once(DAY, late)

    # Then the replacement refuses rather than keep the late part beside it
    with pytest.raises(RollupChanged):
        store.replace_day(snapshot, histogram)
    assert rollup_histograms(table) == {DAY: Histogram.of([1, 6])}


def test_replacing_a_day_of_several_parts_leaves_one_item(table: "DynamoDBClient") -> None:
    store = RollupStore(table, TABLE_NAME, parts=4, rng=random.Random(2))
    picks = _given(table, *[(DAY, n) for n in range(1, 9)])
    for pick in picks:
        store.count_once(DAY, [pick])
    day = date.fromisoformat(DAY)
    snapshot = store.snapshots(day, day)[DAY]
    assert len(snapshot.parts) > 1

    store.replace_day(snapshot, snapshot.histogram)

    assert _rollup_sort_keys(table) == [DAY]
    assert rollup_histograms(table) == {DAY: Histogram.of(range(1, 9))}


def test_a_count_stored_as_zero_is_replaced_like_a_missing_one(table: "DynamoDBClient") -> None:
    # Given a rollup item that holds an explicit zero (as an older writer may leave)
    table.put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": rollup_partition(date.fromisoformat(DAY))},
            "sk": {"S": DAY},
            "n3": {"N": "2"},
            "n4": {"N": "0"},
        },
    )
    store = RollupStore(table, TABLE_NAME)
    day = date.fromisoformat(DAY)
    snapshot = store.snapshots(day, day)[DAY]

    # When it is replaced
    store.replace_day(snapshot, Histogram.of([3, 3, 4]))

    # Then the zero counted as an unchanged (empty) count
    assert rollup_histograms(table) == {DAY: Histogram.of([3, 3, 4])}


@freeze_time("2026-03-02T08:09:10Z")
def test_a_counted_submission_carries_the_time_it_was_counted(table: "DynamoDBClient") -> None:
    RollupStore(table, TABLE_NAME).count_once(DAY, _given(table, (DAY, 5)))

    [marked] = [i for i in scan_all(table) if i["pk"]["S"].startswith("SUB#")]
    assert marked["aggregated_at"] == {"S": "2026-03-02T08:09:10Z"}


def test_the_counting_time_is_utc_whatever_the_machines_time_zone(
    table: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch
) -> None:
    # A laptop running the local stack is rarely on UTC (Lambda always is).
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        RollupStore(table, TABLE_NAME).count_once(DAY, _given(table, (DAY, 5)))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()

    [marked] = [i for i in scan_all(table) if i["pk"]["S"].startswith("SUB#")]
    counted_at = datetime.strptime(marked["aggregated_at"]["S"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(counted_at.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=5)


class Cancelled:
    """A client whose transactions are cancelled without any reason given."""

    def __init__(self, client: "DynamoDBClient") -> None:
        self.exceptions = client.exceptions

    def transact_write_items(self, **_: Any) -> None:
        raise self.exceptions.TransactionCanceledException(
            {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
            "TransactWriteItems",
        )


def test_a_cancellation_without_reasons_is_raised_as_it_came(table: "DynamoDBClient") -> None:
    store = RollupStore(Cancelled(table), TABLE_NAME, backoff=skipped_waits())  # type: ignore[arg-type]

    with pytest.raises(table.exceptions.TransactionCanceledException):
        store.count_once(DAY, [Pick("s", DAY, 1)])
    with pytest.raises(table.exceptions.TransactionCanceledException):
        store.replace_day(RollupSnapshot(DAY), Histogram.of([1]))


def test_a_day_of_the_most_parts_is_replaced_in_one_transaction(table: "DynamoDBClient") -> None:
    # Given a day with every third of the most parts present (the others absent)
    store = RollupStore(table, TABLE_NAME, parts=MAX_PARTS)
    present = range(0, MAX_PARTS, 3)
    for part in present:
        table.put_item(
            TableName=TABLE_NAME,
            Item={
                "pk": {"S": rollup_partition(date.fromisoformat(DAY))},
                "sk": {"S": part_key(DAY, part)},
                "n2": {"N": "1"},
            },
        )
    day = date.fromisoformat(DAY)
    snapshot = store.snapshots(day, day)[DAY]

    # When it is replaced
    with recorded_calls(table) as calls:
        store.replace_day(snapshot, snapshot.histogram)

    # Then one transaction of 100 actions left one item with the whole day
    [(_, request)] = [(n, p) for n, p in calls if n == "TransactWriteItems"]
    assert len(request["TransactItems"]) == MAX_PARTS == 100
    assert _rollup_sort_keys(table) == [DAY]
    assert rollup_histograms(table) == {DAY: Histogram.of([2] * len(present))}


def test_an_item_written_as_rollup_item_or_added_by_add_to_rollup_reads_back(
    table: "DynamoDBClient",
) -> None:
    """What the harnesses write without the store (a loaded rollup, a plain ADD
    counter) is in the format the store reads, and is told apart from submissions."""
    # Given a day's rollup written whole, and counts ADDed twice to another day's part 1
    written, added = Histogram.of([1, 1, 10]), Histogram.of([4])
    table.put_item(TableName=TABLE_NAME, Item=rollup_item(DAY, written))
    for _ in range(2):
        table.update_item(**add_to_rollup(TABLE_NAME, "2026-03-03", 1, added))

    # When the store reads them, and when the items are classified
    histograms = RollupStore(table, TABLE_NAME).histograms(date(2026, 3, 2), date(2026, 3, 3))
    items = scan_all(table)

    # Then the counts read back, the second day's doubled, and every item is a rollup's
    assert histograms == {DAY: written, "2026-03-03": added + added}
    assert [histogram_of(item) for item in items if item["sk"]["S"] == DAY] == [written]
    assert all(is_rollup_key(item) and not is_submission_key(item) for item in items)
    assert rollup_key("2026-03-03", 1).items() <= items[-1].items()
