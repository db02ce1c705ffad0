"""The whole data path in moto: submissions through the ingest handler, the
table's stream through the topology's event filter and batch size into the
aggregator (with faults and re-deliveries), and daily-stats answering exactly."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from infra.local.event_filter import matches
from infra.local.events import api_event
from infra.topology import STREAM_CONSUMER
from ingest.handler import make_submit_number
from shared.histogram import Histogram
from shared.http import Handler
from shared.rollups import RollupStore
from shared.submissions import SubmissionStore
from stats.aggregator import aggregate
from stats.api import make_daily_stats
from tests.support.dynamo import TABLE_NAME, streams_client
from tests.support.faults import Fault, FaultyClient, skipped_waits
from tests.support.http import json_of
from tests.support.stream import Record, deliver, read_stream

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

StreamHandler = Callable[[list[Record]], dict[str, Any]]

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
        lambda records: aggregate(rollups, records),
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
