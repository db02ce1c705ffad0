"""Concurrent aggregator invocations over overlapping records, against the
local AWS endpoint: DynamoDB Local, whose transactions really interleave; with
the rollup in one item or spread over parts, and with conflicts and throttling
injected on top of the real interleaving."""

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

import pytest

from infra.local.aws_endpoint import LocalAwsEndpoint, dynamodb, ensure_table
from shared.rollups import RollupStore
from shared.submissions import SubmissionStore
from stats.aggregator import aggregate
from tests.support.dynamo import raw_histograms, rollup_histograms, unmarked_submissions
from tests.support.faults import Fault, FaultyClient, skipped_waits
from tests.support.stream import deliver, store_submissions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "concurrent-aggregation"
INVOCATIONS = 6


@pytest.fixture(params=[1, 4], ids=["one-item", "four-parts"])
def parts(request: pytest.FixtureRequest) -> int:
    parts: int = request.param
    return parts


@pytest.fixture
def table(parts: int) -> Iterator["DynamoDBClient"]:
    with LocalAwsEndpoint(None) as endpoint:
        client = dynamodb(endpoint.endpoint_url)
        ensure_table(client, f"{TABLE}-{parts}")
        yield client


def test_concurrent_invocations_over_overlapping_records_count_each_submission_once(
    table: "DynamoDBClient", parts: int
) -> None:
    name = f"{TABLE}-{parts}"
    # Given 300 submissions over three days, and writes that meet injected
    # conflicts and throttling besides the real contention
    rng = random.Random(7)
    faulty = FaultyClient(table)
    faulty.inject(rng.choices([Fault.NONE, Fault.CONFLICT, Fault.THROTTLED], k=60))
    store = RollupStore(faulty.as_dynamodb(), name, parts=parts, backoff=skipped_waits())
    aggregator = partial(aggregate, store)
    picks = [(f"2026-03-0{rng.randint(1, 3)}", rng.randint(1, 10)) for _ in range(300)]
    records = store_submissions(SubmissionStore(table, name), picks)

    # When several invocations run at once, each over an overlapping slice of the
    # stream in its own order (as after retries, bisection and a concurrent replay),
    # and whatever one reports as failed is delivered again
    slices = [rng.sample(records, k=200) for _ in range(INVOCATIONS)]
    with ThreadPoolExecutor(max_workers=INVOCATIONS) as pool:
        list(pool.map(aggregator, slices))
    # (the mapping re-delivers everything once more, failed or not, until acknowledged)
    deliver(records, aggregator, batch_size=100)

    # Then every submission is counted exactly once, whatever the parts
    assert unmarked_submissions(table, name) == []
    assert rollup_histograms(table, name) == raw_histograms(table, name)
    assert sum(h.count for h in rollup_histograms(table, name).values()) == 300
