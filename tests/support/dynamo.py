"""An emulated table for tests: moto's DynamoDB, created from the topology."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws

from infra.topology import TABLE
from shared.aws import dynamodb
from shared.histogram import Histogram
from shared.rollups import RollupStore, is_rollup_key
from shared.submissions import MARKER, is_submission_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_NAME = "pick-a-number-test"

Item = dict[str, Any]


@cache
def _client() -> "DynamoDBClient":
    # Creating a client costs ~0.1 s; moto answers a client made before the mock
    # started, and every mock_aws() starts from an empty account.
    return dynamodb()


@contextmanager
def emulated_table(name: str = TABLE_NAME, *, stream: bool = True) -> Iterator["DynamoDBClient"]:
    """A fresh moto account holding the app's table; yields a client.

    Without `stream`, the table has no stream: moto copies the whole table, stream
    records included, on every transaction, so tests that do not read the stream
    run much faster without it.
    """
    request = TABLE.create_table_request(name)
    if not stream:
        del request["StreamSpecification"]
    with mock_aws():
        client = _client()
        client.create_table(**request)
        yield client


def scan_all(client: "DynamoDBClient", name: str = TABLE_NAME) -> list[Item]:
    """Every item of the table, sorted by key: a snapshot to compare before and after."""
    items: list[Item] = []
    for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        items.extend(page.get("Items", []))
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


@contextmanager
def recorded_calls(client: "DynamoDBClient") -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every API call the client makes inside the block (paginators included), as
    (operation name, parameters)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def remember(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    event = "provide-client-params.dynamodb.*"
    client.meta.events.register(event, remember)
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, remember)


def streams_client() -> Any:
    """A DynamoDB Streams client (the Config keeps botocore off account-id endpoints)."""
    return boto3.client("dynamodbstreams")


def raw_histograms(client: "DynamoDBClient", name: str = TABLE_NAME) -> dict[str, Histogram]:
    """The truth: each day's histogram computed from the raw submissions."""
    numbers: dict[str, list[int]] = {}
    for item in scan_all(client, name):
        if is_submission_key(item):
            numbers.setdefault(item["date"]["S"], []).append(int(item["number"]["N"]))
    return {day: Histogram.of(picks) for day, picks in numbers.items()}


def rollup_histograms(client: "DynamoDBClient", name: str = TABLE_NAME) -> dict[str, Histogram]:
    """Each day's histogram as the rollups hold it, read the way the API reads it."""
    days = sorted(
        date.fromisoformat(item["sk"]["S"][:10])
        for item in scan_all(client, name)
        if is_rollup_key(item)
    )
    if not days:
        return {}
    return RollupStore(client, name).histograms(days[0], days[-1])


def unmarked_submissions(client: "DynamoDBClient", name: str = TABLE_NAME) -> list[str]:
    """Keys of raw submissions the aggregator has not marked as counted."""
    return [
        item["pk"]["S"]
        for item in scan_all(client, name)
        if is_submission_key(item) and MARKER not in item
    ]
