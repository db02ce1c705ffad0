"""Concurrent aggregator invocations over overlapping records, against the
local AWS endpoint: DynamoDB Local, whose transactions really interleave."""

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from infra.local.aws_endpoint import LocalAwsEndpoint, dynamodb, ensure_table
from shared.rollups import RollupStore
from shared.submissions import SubmissionStore
from stats import aggregator
from tests.support.dynamo import raw_histograms, rollup_histograms, unmarked_submissions
from tests.support.stream import store_submissions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "concurrent-aggregation"
INVOCATIONS = 6


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator["DynamoDBClient"]:
    with LocalAwsEndpoint(None) as endpoint:
        client = dynamodb(endpoint.endpoint_url)
        ensure_table(client, TABLE)
        monkeypatch.setattr(aggregator, "rollups", RollupStore(client, TABLE))
        yield client


def test_concurrent_invocations_over_overlapping_records_count_each_submission_once(
    table: "DynamoDBClient",
) -> None:
    # Given 300 submissions over three days
    rng = random.Random(7)
    picks = [(f"2026-03-0{rng.randint(1, 3)}", rng.randint(1, 10)) for _ in range(300)]
    records = store_submissions(SubmissionStore(table, TABLE), picks)

    # When several invocations run at once, each over an overlapping slice of the
    # stream in its own order (as after retries, bisection and a concurrent replay),
    # and whatever one reports as failed is delivered again
    slices = [rng.sample(records, k=200) for _ in range(INVOCATIONS)]
    with ThreadPoolExecutor(max_workers=INVOCATIONS) as pool:
        list(pool.map(aggregator.aggregate, slices))
    # (the mapping re-delivers everything once more, failed or not)
    leftovers = aggregator.aggregate(records)

    # Then every submission is counted exactly once
    assert leftovers == {"batchItemFailures": []}
    assert unmarked_submissions(table, TABLE) == []
    assert rollup_histograms(table, TABLE) == raw_histograms(table, TABLE)
    assert sum(h.count for h in rollup_histograms(table, TABLE).values()) == 300
