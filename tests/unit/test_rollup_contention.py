"""Contended rollup writes: a transaction DynamoDB cancels for a conflict or for
throttling is retried after a capped, jittered, growing wait, while attempts and
the invocation's time last, and then reported; never a lost or double count.

The waits are recorded by an injected sleeper and the time left comes from an
injected clock: nothing sleeps, nothing patches `time`.
"""

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from infra.local.events import LambdaContext
from shared.histogram import Histogram
from shared.observability import LambdaHandler, metrics
from shared.rollups import Backoff, Contention, RollupContention, RollupStore, part_key
from shared.submissions import Pick, pick_from_item
from tests.support.dynamo import TABLE_NAME, raw_histograms, rollup_histograms, unmarked_submissions
from tests.support.faults import Fault, FaultyClient
from tests.support.metrics import metric_units, metric_values
from tests.support.stream import Record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Aggregate = Callable[[list[Record]], dict[str, Any]]
Given = Callable[..., list[Record]]

DAY = "2026-03-02"
ATTEMPTS = Backoff().attempts


@pytest.fixture
def published(capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """What the next invocations publish: metrics left over by earlier tests (that
    called `aggregate` without the handler's flush) are dropped first."""
    metrics.clear_metrics()
    capsys.readouterr()
    return lambda: capsys.readouterr().out


class Ceiling(random.Random):
    """Jitter at its ceiling: every wait is the largest the back-off allows."""

    def uniform(self, a: float, b: float) -> float:
        return b


@dataclass
class Clock:
    """An invocation's clock: `seconds` left, and a sleeper that spends them."""

    seconds: float
    waits: list[float] = field(default_factory=list)

    def left(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.seconds -= seconds


def _picks(records: list[Record]) -> list[Pick]:
    return [pick_from_item(r["dynamodb"]["NewImage"]) for r in records]


def _store(
    faulty: FaultyClient, clock: Clock, rng: random.Random | None = None, **backoff: Any
) -> RollupStore:
    return RollupStore(
        faulty.as_dynamodb(),
        TABLE_NAME,
        backoff=Backoff(sleep=clock.sleep, **backoff),
        rng=rng or Ceiling(),
    )


def test_conflicts_are_retried_after_doubling_waits_up_to_the_cap(
    faulty_client: FaultyClient, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    # Given a rollup held by other writers for all but the last attempt
    records = given_submissions((DAY, 1), (DAY, 2))
    faulty_client.inject([Fault.CONFLICT] * (ATTEMPTS - 1))
    clock = Clock(seconds=60)
    contention = Contention()

    # When the picks are counted
    counted = _store(faulty_client, clock).count_once(
        DAY, _picks(records), seconds_left=clock.left, contention=contention
    )

    # Then the last attempt succeeds after waits that double from 50 ms up to 1 s
    assert counted == 2
    assert clock.waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert contention == Contention(conflicts=ATTEMPTS - 1, throttles=0, retries=ATTEMPTS - 1)
    assert rollup_histograms(table) == {DAY: Histogram.of([1, 2])}
    assert unmarked_submissions(table) == []


def test_after_the_last_attempt_the_write_gives_up_and_counts_nothing(
    faulty_client: FaultyClient, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    records = given_submissions((DAY, 3))
    faulty_client.inject([Fault.CONFLICT] * ATTEMPTS)
    clock = Clock(seconds=60)
    contention = Contention()

    with pytest.raises(RollupContention, match=f"rollup of {DAY} not written"):
        _store(faulty_client, clock).count_once(
            DAY, _picks(records), seconds_left=clock.left, contention=contention
        )

    assert len(clock.waits) == ATTEMPTS - 1
    assert contention == Contention(conflicts=ATTEMPTS, throttles=0, retries=ATTEMPTS - 1)
    assert faulty_client.pending_faults == 0
    assert rollup_histograms(table) == {}
    assert len(unmarked_submissions(table)) == 1


def test_waits_are_jittered_below_their_ceiling(
    faulty_client: FaultyClient, given_submissions: Given
) -> None:
    records = given_submissions((DAY, 4))
    faulty_client.inject([Fault.CONFLICT] * (ATTEMPTS - 1))
    clock = Clock(seconds=60)

    _store(faulty_client, clock, rng=random.Random(3)).count_once(
        DAY, _picks(records), seconds_left=clock.left
    )

    ceilings = [min(1.0, 0.025 * 2**n) for n in range(1, ATTEMPTS)]
    assert len(clock.waits) == len(ceilings)
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(clock.waits, ceilings, strict=True))
    assert clock.waits != ceilings  # spread out, so that contending writers drift apart


def test_throttling_is_retried_and_counted_apart_from_conflicts(
    faulty_client: FaultyClient, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    records = given_submissions((DAY, 5), (DAY, 6))
    faulty_client.inject([Fault.THROTTLED, Fault.CONFLICT, Fault.THROTTLED])
    clock = Clock(seconds=60)
    contention = Contention()

    _store(faulty_client, clock).count_once(
        DAY, _picks(records), seconds_left=clock.left, contention=contention
    )

    assert contention == Contention(conflicts=1, throttles=2, retries=3)
    assert clock.waits == [0.05, 0.1, 0.2]
    assert rollup_histograms(table) == {DAY: Histogram.of([5, 6])}


def test_no_wait_outlasts_the_invocations_time(
    faulty_client: FaultyClient, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    # Given 3 s left, 2 of them kept in reserve, and a rollup that stays contended
    records = given_submissions((DAY, 7))
    faulty_client.inject([Fault.CONFLICT] * ATTEMPTS)
    clock = Clock(seconds=3.0)

    # When the picks are counted, it gives up before a wait would eat the reserve
    with pytest.raises(RollupContention):
        _store(faulty_client, clock, reserve=2.0).count_once(
            DAY, _picks(records), seconds_left=clock.left
        )

    # Then it waited 50 + 100 + 200 + 400 ms; the next 800 ms would have left 1.45 s
    assert clock.waits == [0.05, 0.1, 0.2, 0.4]
    assert clock.seconds >= 2.0
    assert faulty_client.pending_faults == ATTEMPTS - 5
    assert rollup_histograms(table) == {}


def test_a_cancellation_that_waiting_cannot_clear_is_not_retried(
    faulty_client: FaultyClient, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    records = given_submissions((DAY, 8))
    faulty_client.inject([Fault.REJECTED, Fault.NONE])
    clock = Clock(seconds=60)
    contention = Contention()

    with pytest.raises(table.exceptions.TransactionCanceledException):
        _store(faulty_client, clock).count_once(
            DAY, _picks(records), seconds_left=clock.left, contention=contention
        )

    assert clock.waits == []
    assert contention == Contention()
    assert faulty_client.pending_faults == 1


def test_the_aggregator_publishes_counts_conflicts_throttles_and_retries(
    aggregator_handler: LambdaHandler,
    given_submissions: Given,
    faulty_client: FaultyClient,
    table: "DynamoDBClient",
    waits: list[float],
    published: Callable[[], str],
) -> None:
    # Given a batch of two days whose writes meet a conflict and a throttle
    records = given_submissions((DAY, 1), ("2026-03-03", 2), (DAY, 3))
    faulty_client.inject([Fault.CONFLICT, Fault.NONE, Fault.THROTTLED])

    # When Lambda invokes the function
    response = aggregator_handler({"Records": records}, LambdaContext.timeless())

    # Then all is counted, and the metrics say what the writes met
    assert response == {"batchItemFailures": []}
    assert len(waits) == 2
    out = published()
    assert metric_values(out, "SubmissionsCounted") == [3]
    assert metric_values(out, "RollupConflicts") == [1]
    assert metric_values(out, "RollupThrottles") == [1]
    assert metric_values(out, "RollupRetries") == [2]
    assert set(metric_units(out).values()) == {"Count"}
    assert rollup_histograms(table) == raw_histograms(table)


def test_an_uncontended_batch_publishes_only_its_count(
    aggregator_handler: LambdaHandler, given_submissions: Given, published: Callable[[], str]
) -> None:
    records = given_submissions((DAY, 1), (DAY, 1))

    aggregator_handler({"Records": records}, LambdaContext.timeless())

    out = published()
    assert metric_units(out) == {"SubmissionsCounted": "Count"}
    assert metric_values(out, "SubmissionsCounted") == [2]


class ShortOfTime(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 1500  # less than the back-off's 2 s reserve


def test_an_invocation_short_of_time_reports_a_contended_group_at_once(
    aggregator_handler: LambdaHandler,
    aggregate: Aggregate,
    given_submissions: Given,
    faulty_client: FaultyClient,
    table: "DynamoDBClient",
    waits: list[float],
) -> None:
    # Given an invocation with 1.5 s left whose first day's rollup is contended
    records = given_submissions((DAY, 1), ("2026-03-03", 2))
    faulty_client.inject([Fault.CONFLICT])

    # When Lambda invokes the function
    response = aggregator_handler({"Records": records}, ShortOfTime.timeless())

    # Then it does not wait: that day's record is reported, the other day counted
    assert waits == []
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        records[0]["dynamodb"]["SequenceNumber"]
    ]
    assert rollup_histograms(table) == {"2026-03-03": Histogram.of([2])}

    # And the redelivery counts it once
    assert aggregate(records) == {"batchItemFailures": []}
    assert rollup_histograms(table) == raw_histograms(table)
    assert unmarked_submissions(table) == []


def test_the_default_back_off_is_the_documented_one() -> None:
    # docs/ARCHITECTURE.md: up to 50 ms, 100 ms, ..., 1 s; 8 attempts; 2 s kept
    backoff = Backoff()
    assert (backoff.attempts, backoff.reserve) == (8, 2.0)
    assert [backoff.ceiling(n) for n in range(1, 8)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.sleep is time.sleep


def test_a_wait_that_leaves_exactly_the_reserve_is_taken(
    faulty_client: FaultyClient, given_submissions: Given, table: "DynamoDBClient"
) -> None:
    # Given 2.5 s left, 2 s in reserve, and a first wait of 0.5 s (exact in binary)
    records = given_submissions((DAY, 2))
    faulty_client.inject([Fault.CONFLICT])
    clock = Clock(seconds=2.5)

    _store(faulty_client, clock, first=0.25, reserve=2.0).count_once(
        DAY, _picks(records), seconds_left=clock.left
    )

    assert clock.waits == [0.5]
    assert rollup_histograms(table) == {DAY: Histogram.of([2])}


@pytest.mark.parametrize("parts", [2, 3, 5])
def test_each_retry_after_contention_goes_to_another_part(
    faulty_client: FaultyClient, given_submissions: Given, table: "DynamoDBClient", parts: int
) -> None:
    # Given a rollup over several parts, contended for seven attempts in a row
    records = given_submissions((DAY, 3))
    faulty_client.inject([Fault.CONFLICT] * (ATTEMPTS - 1))
    store = RollupStore(
        faulty_client.as_dynamodb(),
        TABLE_NAME,
        parts=parts,
        backoff=Backoff(sleep=lambda _: None),
        rng=random.Random(11),
    )

    store.count_once(DAY, _picks(records))

    # Then no attempt repeats the part of the one before
    tried = [t[-1]["Update"]["Key"]["sk"]["S"] for t in faulty_client.transactions_attempted]
    assert len(tried) == ATTEMPTS
    assert all(a != b for a, b in itertools.pairwise(tried))
    assert set(tried) <= {part_key(DAY, p) for p in range(parts)}
    assert rollup_histograms(table) == {DAY: Histogram.of([3])}


def test_more_picks_than_one_transaction_holds_are_refused(faulty_client: FaultyClient) -> None:
    picks = [Pick(f"s{i}", DAY, 1) for i in range(100)]

    with pytest.raises(ValueError, match="at most 99 picks per transaction"):
        _store(faulty_client, Clock(seconds=60)).count_once(DAY, picks)
    assert faulty_client.transactions_attempted == []
