"""GET /api/daily-stats through the handler: precomputed rollups, never raw items."""

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time

from shared.histogram import Histogram
from shared.rollups import RollupStore, is_rollup_key, rollup_partition
from shared.submissions import Pick, Submission, SubmissionStore
from tests.support.dynamo import TABLE_NAME, recorded_calls
from tests.support.http import assert_problem, json_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

GetStats = Callable[..., dict[str, Any]]
Count = Callable[[str, list[int]], None]

TODAY = "2026-03-04"
EVERY_KEY = [str(n) for n in range(1, 11)]


@pytest.fixture
def counted(table: "DynamoDBClient") -> Count:
    """Submissions stored and counted into the rollups, as the aggregator does."""
    submissions = SubmissionStore(table, TABLE_NAME)
    rollups = RollupStore(table, TABLE_NAME)
    serial = iter(range(10**6))

    def count(day: str, numbers: list[int]) -> None:
        picks = []
        for number in numbers:
            pick = Pick(f"d{next(serial)}", day, number)
            submissions.add(Submission(pick, f"{day}T12:00:00Z", "h"))
            picks.append(pick)
        rollups.count_once(day, picks)

    return count


@freeze_time(f"{TODAY}T23:59:59Z")
def test_default_range_is_the_last_seven_days_with_empty_days_present(
    get_daily_stats: GetStats, counted: Count
) -> None:
    # Given picks today and six days ago, and one just outside the default range
    counted(TODAY, [3, 3, 8])
    counted("2026-02-26", [10])
    counted("2026-02-25", [1])

    # When the stats are asked for without parameters
    response = get_daily_stats()

    # Then the last seven days are answered, each one present
    assert response["statusCode"] == 200
    answer = json_of(response)
    assert (answer["from"], answer["to"]) == ("2026-02-26", TODAY)
    assert [d["date"] for d in answer["days"]] == [
        "2026-02-26",
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        TODAY,
    ]
    # And a day without picks has a zero count, null statistics and a full histogram
    empty = answer["days"][1]
    assert empty == {"date": "2026-02-27", **Histogram().stats()}
    assert list(empty["histogram"]) == EVERY_KEY
    # And the days with picks and the total are exact
    assert answer["days"][-1] == {"date": TODAY, **Histogram.of([3, 3, 8]).stats()}
    assert answer["total"] == Histogram.of([3, 3, 8, 10]).stats()
    assert list(answer["total"]["histogram"]) == EVERY_KEY


@freeze_time(f"{TODAY}T00:00:00Z")
def test_an_explicit_range_across_months_queries_each_month_once(
    get_daily_stats: GetStats, counted: Count, table: "DynamoDBClient"
) -> None:
    # Given picks on both sides of two month boundaries
    counted("2026-01-31", [1])
    counted("2026-02-01", [2])
    counted("2026-02-28", [3])
    counted("2026-03-01", [4, 4])

    # When a range over three months is asked for
    with recorded_calls(table) as calls:
        answer = json_of(get_daily_stats(query={"from": "2026-01-31", "to": "2026-03-01"}))

    # Then it is one Query per month of rollups, and every pick is there
    assert [name for name, _ in calls] == ["Query", "Query", "Query"]
    partitions = [params["ExpressionAttributeValues"][":pk"]["S"] for _, params in calls]
    assert partitions == [rollup_partition(date(2026, m, 1)) for m in (1, 2, 3)]
    assert len(answer["days"]) == 30
    assert answer["total"] == Histogram.of([1, 2, 3, 4, 4]).stats()
    by_day = {d["date"]: d["count"] for d in answer["days"]}
    assert (by_day["2026-01-31"], by_day["2026-02-01"], by_day["2026-03-01"]) == (1, 1, 2)


@freeze_time(f"{TODAY}T00:00:00Z")
def test_only_rollups_are_read_never_the_raw_submissions(
    get_daily_stats: GetStats, table: "DynamoDBClient"
) -> None:
    # Given raw submissions that no rollup has counted yet
    store = SubmissionStore(table, TABLE_NAME)
    for i, number in enumerate([5, 6, 7]):
        store.add(Submission(Pick(f"raw{i}", TODAY, number), f"{TODAY}T10:00:00Z", "h"))

    # When the stats are asked for
    with recorded_calls(table) as calls:
        answer = json_of(get_daily_stats())

    # Then nothing is counted: the API reads rollup partitions only, by Query
    assert answer["total"]["count"] == 0
    assert {name for name, _ in calls} == {"Query"}
    assert all(
        is_rollup_key({"pk": params["ExpressionAttributeValues"][":pk"]}) for _, params in calls
    )


@freeze_time(f"{TODAY}T12:00:00Z")
def test_a_366_day_range_is_answered(get_daily_stats: GetStats, counted: Count) -> None:
    counted("2025-03-04", [6])
    counted(TODAY, [7])

    answer = json_of(get_daily_stats(query={"from": "2025-03-04", "to": TODAY}))

    assert len(answer["days"]) == 366
    assert answer["total"]["count"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2025-03-03", "to": TODAY}, "from"),  # 367 days
        ({"from": "2026-03-05", "to": TODAY}, "from"),  # from > to
        ({"from": "2026-02-30"}, "from"),
        ({"to": "2026-02-29"}, "to"),  # 2026 is no leap year
        ({"from": "2026-3-1"}, "from"),
        ({"to": ""}, "to"),
        ({"from": "2026-03-01T00:00:00Z"}, "from"),
        ({"from": ["2026-03-01", "2026-03-02"]}, "from"),  # repeated parameter
        ({"to": [TODAY, TODAY]}, "to"),  # repeated, even with the same value
        ({"day": TODAY}, "day"),
        ({"from": "2026-03-01", "limit": "5"}, "limit"),
    ],
)
@freeze_time(f"{TODAY}T12:00:00Z")
def test_invalid_parameters_are_a_400_problem_naming_the_parameter(
    get_daily_stats: GetStats, query: dict[str, Any], field: str
) -> None:
    assert_problem(get_daily_stats(query=query), 400, field)


@freeze_time("2026-03-01T00:00:00Z")
def test_today_is_the_utc_day_right_after_midnight(
    get_daily_stats: GetStats, counted: Count
) -> None:
    counted("2026-03-01", [2])

    answer = json_of(get_daily_stats())

    assert answer["to"] == "2026-03-01"
    assert answer["days"][-1]["count"] == 1


def test_rollup_parts_of_one_day_are_merged(
    get_daily_stats: GetStats, table: "DynamoDBClient"
) -> None:
    # Given a hot day whose rollup is split over write-shard parts
    for sort_key, number in [("2026-03-02", "n1"), ("2026-03-02#1", "n1"), ("2026-03-02#2", "n9")]:
        table.update_item(
            TableName=TABLE_NAME,
            Key={"pk": {"S": rollup_partition(date(2026, 3, 2))}, "sk": {"S": sort_key}},
            UpdateExpression=f"ADD {number} :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    # When that day is asked for
    answer = json_of(get_daily_stats(query={"from": "2026-03-02", "to": "2026-03-02"}))

    # Then the parts add up
    assert answer["total"] == Histogram.of([1, 1, 9]).stats()


@freeze_time(f"{TODAY}T12:00:00Z")
def test_the_last_days_the_app_accepts_are_answered(
    get_daily_stats: GetStats, counted: Count
) -> None:
    # Given the last week of the latest year the date pattern admits
    answer = json_of(get_daily_stats(query={"from": "2999-12-25", "to": "2999-12-31"}))

    # Then it is an ordinary, empty answer (month arithmetic must not overflow)
    assert [day["date"] for day in answer["days"]][-1] == "2999-12-31"
    assert answer["total"]["count"] == 0
