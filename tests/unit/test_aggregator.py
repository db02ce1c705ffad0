"""The stream aggregator under Lambda's at-least-once delivery: every accepted
submission is counted exactly once, whatever is retried, replayed or duplicated;
and the whole data path in moto around it (submissions through the ingest handler,
the table's stream through the topology's event filter and batch size, daily-stats
answering exactly)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from infra.local.event_filter import matches
from infra.local.events import LambdaContext
from infra.topology import STREAM_CONSUMER
from ingest.handler import make_submit_number
from shared.histogram import Histogram
from shared.http import Handler
from shared.observability import LambdaHandler, metrics
from shared.rollups import MAX_PICKS_PER_TRANSACTION, Backoff, RollupStore
from shared.submissions import SubmissionStore
from stats import aggregator
from stats.api import make_daily_stats
from tests.support.dynamo import (
    TABLE_NAME,
    raw_histograms,
    rollup_histograms,
    streams_client,
    unmarked_submissions,
)
from tests.support.faults import Fault, FaultyClient, InvocationTimedOut, skipped_waits
from tests.support.http import json_of
from tests.support.metrics import metric_values
from tests.support.stream import Record, deliver, read_stream
from tools.events import api_event, stream_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Aggregate = Callable[[list[Record]], dict[str, Any]]
Given = Callable[..., list[Record]]
StreamHandler = Callable[[list[Record]], dict[str, Any]]

MON, TUE, WED = "2026-03-02", "2026-03-03", "2026-03-04"
# count_once's attempts at a conflicting transaction before it gives up
GIVE_UP = [Fault.CONFLICT] * Backoff().attempts


def _sequence_numbers(records: list[Record]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in records]


class Logged:
    """The aggregator's logger, recording the errors it is told about."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def error(
        self, message: str, /, *args: Any, extra: dict[str, Any] | None = None, **_: Any
    ) -> None:
        self.errors.append({"message": message, **(extra or {})})

    exception = error


@pytest.fixture
def log() -> Logged:
    """The aggregator's errors, recorded (in place of the conftest's logger)."""
    return Logged()


def _failures(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def assert_counted_exactly_once(table: "DynamoDBClient") -> None:
    """The rollups hold exactly the raw submissions, each marked as counted."""
    assert rollup_histograms(table) == raw_histograms(table)
    assert unmarked_submissions(table) == []


def test_a_batch_is_counted_into_its_days_rollups(
    aggregate: Aggregate, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    # Given submissions of three days, interleaved in one batch
    batch = given_submissions((MON, 1), (TUE, 5), (MON, 1), (WED, 10), (TUE, 6))

    # When the batch is aggregated
    response = aggregate(batch)

    # Then each day's rollup holds its picks
    assert response == {"batchItemFailures": []}
    assert rollup_histograms(table) == {
        MON: Histogram.of([1, 1]),
        TUE: Histogram.of([5, 6]),
        WED: Histogram.of([10]),
    }
    assert_counted_exactly_once(table)


def test_the_same_batch_delivered_twice_is_counted_once(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
) -> None:
    batch = given_submissions((MON, 2), (MON, 3), (TUE, 4))
    aggregate(batch)
    counted = rollup_histograms(table)

    # When Lambda delivers the very same batch again
    response = aggregate(batch)

    # Then nothing changes: every record was counted already
    assert response == {"batchItemFailures": []}
    assert rollup_histograms(table) == counted
    assert faulty_client.transactions_applied == 2  # the first delivery's two days only
    assert_counted_exactly_once(table)


def test_duplicate_records_within_a_batch_are_counted_once(
    aggregate: Aggregate, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    first, second = given_submissions((MON, 7), (MON, 8))

    aggregate([first, second, first, first])

    assert rollup_histograms(table) == {MON: Histogram.of([7, 8])}


def test_more_than_one_transaction_of_one_day(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
) -> None:
    # Given more picks of one day than one transaction can hold
    batch = given_submissions(*[(MON, n % 10 + 1) for n in range(MAX_PICKS_PER_TRANSACTION + 51)])

    # When they are aggregated
    response = aggregate(batch)

    # Then they take two transactions and are all counted
    assert response == {"batchItemFailures": []}
    assert faulty_client.transactions_applied == 2
    assert rollup_histograms(table)[MON].count == 150
    assert_counted_exactly_once(table)


def test_a_failed_rollup_write_reports_the_records_of_its_group(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
    log: Logged,
) -> None:
    # Given a batch of two days whose second day's rollup is held by conflicting writers
    batch = given_submissions((MON, 1), (TUE, 2), (MON, 3), (TUE, 4))
    faulty_client.inject([Fault.NONE, *GIVE_UP])

    # When the batch is aggregated
    response = aggregate(batch)

    # Then exactly Tuesday's records are reported for retry, and Monday is counted
    assert _failures(response) == _sequence_numbers([batch[1], batch[3]])
    assert log.errors == [{"message": "rollup not written; records will be retried", "day": TUE}]
    assert rollup_histograms(table) == {MON: Histogram.of([1, 3])}

    # When Lambda retries from the first failed record (Monday's second pick comes again)
    retry = aggregate(batch[1:])

    # Then Tuesday is counted and Monday is not counted twice
    assert retry == {"batchItemFailures": []}
    assert rollup_histograms(table) == {MON: Histogram.of([1, 3]), TUE: Histogram.of([2, 4])}
    assert_counted_exactly_once(table)


def test_records_reported_for_retry_are_published_as_records_failed(
    aggregator_handler: LambdaHandler,
    given_submissions: Given,
    faulty_client: FaultyClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Lambda counts an invocation that reports batch item failures as a success: its
    `Errors` stay at 0. RecordsFailed is what the aggregator's canary alarm reads."""
    metrics.clear_metrics()  # left over by tests that call `aggregate` without a flush
    batch = given_submissions((MON, 1), (TUE, 2), (TUE, 4))
    faulty_client.inject([Fault.NONE, *GIVE_UP])

    # When Tuesday's group fails (handled: its records are reported)
    response = aggregator_handler({"Records": batch}, LambdaContext.timeless())

    # Then the invocation succeeds, and says how many records it reported
    assert len(_failures(response)) == 2
    assert metric_values(capsys.readouterr().out, "RecordsFailed") == [2]

    # And a clean batch publishes none: no data is not breaching, and costs nothing
    aggregator_handler({"Records": given_submissions((WED, 3))}, LambdaContext.timeless())
    assert metric_values(capsys.readouterr().out, "RecordsFailed") == []


def test_a_conflict_that_clears_is_retried_within_the_invocation(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
) -> None:
    batch = given_submissions((MON, 1), (MON, 2))
    faulty_client.inject([Fault.CONFLICT, Fault.CONFLICT])

    assert aggregate(batch) == {"batchItemFailures": []}
    assert rollup_histograms(table) == {MON: Histogram.of([1, 2])}


@pytest.mark.parametrize("fault", [Fault.BEFORE_WRITE, Fault.AFTER_WRITE])
def test_a_write_that_fails_before_or_after_dynamodb_applied_it_is_counted_once(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
    fault: Fault,
) -> None:
    # Given the rollup write fails, either before it reaches DynamoDB or after
    # DynamoDB applied it (the response is lost on the way back)
    batch = given_submissions((MON, 4), (MON, 4), (TUE, 9))
    faulty_client.inject([fault])

    # When the batch is aggregated, the failure is reported
    response = aggregate(batch)
    assert _failures(response) == _sequence_numbers(batch[:2])

    # And Lambda redelivers from the failed record on
    assert aggregate(batch) == {"batchItemFailures": []}

    # Then every pick is counted once
    assert rollup_histograms(table) == {MON: Histogram.of([4, 4]), TUE: Histogram.of([9])}
    assert_counted_exactly_once(table)


def test_an_invocation_that_dies_mid_batch_is_redelivered_whole(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
) -> None:
    # Given a batch of three days, and an invocation that times out after the first
    batch = given_submissions((MON, 1), (TUE, 2), (WED, 3), (MON, 4))
    faulty_client.inject([Fault.NONE, Fault.TIMEOUT])
    with pytest.raises(InvocationTimedOut):
        aggregate(batch)
    assert rollup_histograms(table) == {MON: Histogram.of([1, 4])}

    # When Lambda delivers the whole batch again
    response = aggregate(batch)

    # Then the days not yet counted are, and the first is not counted twice
    assert response == {"batchItemFailures": []}
    assert rollup_histograms(table) == {
        MON: Histogram.of([1, 4]),
        TUE: Histogram.of([2]),
        WED: Histogram.of([3]),
    }
    assert_counted_exactly_once(table)


def test_records_counted_by_a_concurrent_invocation_are_dropped_and_the_rest_counted(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
) -> None:
    # Given another invocation already counted part of a group (a duplicate delivery)
    batch = given_submissions((MON, 1), (MON, 2), (MON, 3), (MON, 4))
    aggregate([batch[1], batch[3]])

    # When this invocation counts the whole group
    response = aggregate(batch)

    # Then its transaction is cancelled on the marked ones, which it drops
    # before committing the rest
    assert response == {"batchItemFailures": []}
    assert faulty_client.transactions_applied == 2
    assert rollup_histograms(table) == {MON: Histogram.of([1, 2, 3, 4])}
    assert_counted_exactly_once(table)


def test_records_that_are_not_submission_inserts_are_ignored(
    aggregate: Aggregate, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    # Given records the event source filter should have kept away, and malformed ones
    (inserted,) = given_submissions((MON, 5))
    image = inserted["dynamodb"]["NewImage"]
    keys = inserted["dynamodb"]["Keys"]
    rollup_keys = {"pk": {"S": "ROLLUP#2026-03"}, "sk": {"S": MON}}
    ignored = [
        stream_record("MODIFY", keys, {**image, "aggregated_at": {"S": "x"}}, "1"),
        stream_record("REMOVE", keys, None, "2"),
        stream_record("INSERT", rollup_keys, {**rollup_keys, "n5": {"N": "1"}}, "3"),
        stream_record("MODIFY", rollup_keys, {**rollup_keys, "n5": {"N": "2"}}, "4"),
        stream_record("INSERT", keys, {**image, "number": {"N": "11"}}, "5"),
        stream_record("INSERT", keys, {**image, "number": {"S": "five"}}, "6"),
        stream_record("INSERT", keys, None, "7"),
        stream_record("INSERT", keys, {**image, "date": {"S": "2026-02-30"}}, "8"),
        stream_record("INSERT", keys, {**image, "date": {"S": "20260302"}}, "9"),
    ]

    # When they are delivered
    response = aggregate(ignored)

    # Then nothing is counted and nothing blocks the shard
    assert response == {"batchItemFailures": []}
    assert rollup_histograms(table) == {}


@pytest.mark.parametrize(
    "odd",
    [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"N": "1"}}}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": None}}}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": "SUB#x"}}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {}}},
        {"eventName": "INSERT", "dynamodb": {"Keys": None}},
        {"eventName": "INSERT", "dynamodb": "garbage"},
        {"eventName": "INSERT"},
        "not a record",
    ],
    ids=[
        "pk-not-S",
        "pk-S-null",
        "pk-not-typed",
        "no-pk",
        "keys-null",
        "change-str",
        "no-change",
        "str",
    ],
)
def test_a_record_of_any_shape_is_skipped_alone_and_the_rest_counted(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    odd: Any,
    log: Logged,
) -> None:
    # Given a malformed record between two good ones
    first, last = given_submissions((MON, 2), (MON, 9))

    # When the batch is aggregated
    response = aggregate([first, odd, last])

    # Then the malformed record is skipped, with an error logged; neither the
    # batch fails nor the rest is dropped
    assert [entry["message"] for entry in log.errors] == ["malformed stream record skipped"]
    assert response == {"batchItemFailures": []}
    assert rollup_histograms(table) == {MON: Histogram.of([2, 9])}
    assert_counted_exactly_once(table)


def test_a_submission_after_ignored_records_is_counted(
    aggregate: Aggregate, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    # Given a batch whose first records are not submission INSERTs
    first, second = given_submissions((MON, 3), (TUE, 4))
    rollup_keys = {"pk": {"S": "ROLLUP#2026-03"}, "sk": {"S": MON}}
    batch = [
        stream_record("MODIFY", first["dynamodb"]["Keys"], first["dynamodb"]["NewImage"], "1"),
        first,
        stream_record("INSERT", rollup_keys, {**rollup_keys, "n3": {"N": "1"}}, "2"),
        second,
    ]

    # When it is aggregated
    response = aggregate(batch)

    # Then the submissions after the ignored records are counted, not skipped
    assert response == {"batchItemFailures": []}
    assert rollup_histograms(table) == {MON: Histogram.of([3]), TUE: Histogram.of([4])}


def test_the_submission_id_comes_from_the_records_keys(
    aggregate: Aggregate, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    # Given a submission INSERT whose image leaves the key out (the event filter, and
    # so the aggregator, match on the record's Keys)
    [record] = given_submissions((MON, 8))
    image = {k: v for k, v in record["dynamodb"]["NewImage"].items() if k != "pk"}
    keys = record["dynamodb"]["Keys"]

    # When it is aggregated
    response = aggregate([stream_record("INSERT", keys, image, "1")])

    # Then it is counted, and marked, under the key's submission
    assert response == {"batchItemFailures": []}
    assert_counted_exactly_once(table)
    assert rollup_histograms(table) == {MON: Histogram.of([8])}


def test_the_lambda_entry_point_takes_the_stream_event(
    aggregator_handler: LambdaHandler,
    given_submissions: Given,
    table: "DynamoDBClient",
    log: Logged,
) -> None:
    records = given_submissions((WED, 6), (WED, 6))
    malformed = stream_record("INSERT", records[0]["dynamodb"]["Keys"], {"number": {"S": "x"}}, "9")

    response = aggregator_handler({"Records": [*records, malformed]}, LambdaContext.timeless())

    assert response == {"batchItemFailures": []}
    assert rollup_histograms(table) == {WED: Histogram.of([6, 6])}
    # and what it skipped reaches the handler's log
    assert [e["message"] for e in log.errors] == ["malformed stream record skipped"]


def test_a_stream_with_every_kind_of_fault_ends_exact(
    aggregate: Aggregate,
    given_submissions: Given,
    table: "DynamoDBClient",
    faulty_client: FaultyClient,
) -> None:
    # Given 60 submissions over three days and a write path that fails in every way
    days = (MON, TUE, WED)
    records = given_submissions(*[(days[i % 3], (i * 7) % 10 + 1) for i in range(60)])
    faulty_client.inject(
        [Fault.AFTER_WRITE, Fault.TIMEOUT, *GIVE_UP, Fault.BEFORE_WRITE, Fault.NONE, Fault.TIMEOUT]
    )

    # When Lambda delivers the stream in batches until all is acknowledged
    deliver(records, aggregate, batch_size=25)

    # Then every submission is counted exactly once
    assert faulty_client.pending_faults == 0
    assert_counted_exactly_once(table)
    assert sum(h.count for h in rollup_histograms(table).values()) == 60

    # And replaying the whole stream changes nothing
    before = rollup_histograms(table)
    deliver(records, aggregate, batch_size=25)
    assert rollup_histograms(table) == before


FIRST_DAY = datetime(2026, 2, 27, tzinfo=UTC)


# Picks per day: enough on the first day for two stream batches and two transactions.
PICKS = {0: [n % 10 + 1 for n in range(100)], 1: [], 2: [3, 3, 7, 10], 3: [1]}


@dataclass(frozen=True)
class App:
    """The three functions wired to one table with its stream; the aggregator
    writes through a fault-injecting client."""

    faulty: FaultyClient
    submit_number: Handler
    aggregate: StreamHandler
    daily_stats: Handler

    def submit(self, number: int, at: datetime, key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": key} if key else {}
        body = {"number": number}
        return self.submit_number(
            api_event("POST", "/api/submit-number", body=body, headers=headers, at=at)
        )


@pytest.fixture
def app(streamed_table: "DynamoDBClient") -> App:
    faulty = FaultyClient(streamed_table)
    rollups = RollupStore(faulty.as_dynamodb(), TABLE_NAME, backoff=skipped_waits())
    return App(
        faulty,
        make_submit_number(SubmissionStore(streamed_table, TABLE_NAME)),
        lambda records: aggregator.aggregate(rollups, records),
        make_daily_stats(RollupStore(streamed_table, TABLE_NAME)),
    )


def _aggregator_input(table: "DynamoDBClient") -> list[Record]:
    """The stream as the event source mapping passes it on: filtered at the source."""
    records = read_stream(table, streams_client(), TABLE_NAME)
    return [r for r in records if matches(STREAM_CONSUMER.filter_pattern, r)]


def test_submissions_reach_daily_stats_exactly_once_through_the_stream(
    streamed_table: "DynamoDBClient", app: App
) -> None:
    # Given submissions over four days, some retried with their Idempotency-Key
    # and some rejected
    for offset, numbers in PICKS.items():
        for i, number in enumerate(numbers):
            at = FIRST_DAY + timedelta(days=offset, minutes=i)
            key = f"retry-key-{offset}-{i:04d}" if i % 20 == 0 else None
            assert app.submit(number, at, key)["statusCode"] == 201
            if key:
                assert app.submit(number, at + timedelta(seconds=30), key)["statusCode"] == 200
    assert app.submit(11, FIRST_DAY)["statusCode"] == 400

    # And the aggregator's writes fail in every way along the stream
    app.faulty.inject(
        [Fault.NONE, Fault.AFTER_WRITE, Fault.TIMEOUT, *[Fault.CONFLICT] * 4, Fault.BEFORE_WRITE]
    )

    # When the filtered stream is delivered in the topology's batches until acknowledged
    inserts = _aggregator_input(streamed_table)
    assert len(inserts) == sum(len(numbers) for numbers in PICKS.values())
    deliver(inserts, app.aggregate, STREAM_CONSUMER.batch_size)

    # Then the aggregator's own writes (markers, rollups) never pass the filter
    assert _aggregator_input(streamed_table) == inserts
    assert app.faulty.pending_faults == 0

    # And daily-stats answers exactly what was accepted, per day and in total
    query = {"from": "2026-02-27", "to": "2026-03-02"}
    answer = json_of(app.daily_stats(api_event("GET", "/", query=query)))
    assert [day["date"] for day in answer["days"]] == [
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
    ]
    assert [day["count"] for day in answer["days"]] == [len(n) for n in PICKS.values()]
    for day, numbers in zip(answer["days"], PICKS.values(), strict=True):
        assert day == {"date": day["date"], **Histogram.of(numbers).stats()}
    assert answer["total"] == Histogram.of(n for numbers in PICKS.values() for n in numbers).stats()

    # And replaying the whole stream changes nothing
    deliver(inserts, app.aggregate, STREAM_CONSUMER.batch_size)
    replayed = json_of(app.daily_stats(api_event("GET", "/", query=query)))
    assert replayed == answer
