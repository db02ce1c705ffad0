"""Helpers for the backup, restore and rebuild tests: a moto account holding the
app's table, a whole-table snapshot, and the table's real stream as Lambda
delivers it."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws

from infra.topology import TABLE
from shared.aws import dynamodb
from tools.events import stream_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_NAME = "pick-a-number-test"  # tests/conftest.py sets it as TABLE_NAME

Item = dict[str, Any]


@contextmanager
def backup_account(name: str = TABLE_NAME) -> Iterator["DynamoDBClient"]:
    """A fresh moto account holding the app's table (with its stream)."""
    with mock_aws():
        client = dynamodb()
        client.create_table(**TABLE.create_table_request(name))
        yield client


def all_items(client: "DynamoDBClient", name: str) -> list[Item]:
    """Every item of a table, sorted by key."""
    items: list[Item] = []
    for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        items.extend(page.get("Items", []))
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def stream_records(client: "DynamoDBClient", name: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, oldest first, in Lambda's event shape."""
    streams = boto3.client("dynamodbstreams")
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator is not None:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for r in page["Records"]:
                change: Any = r["dynamodb"]
                records.append(
                    stream_record(
                        r["eventName"],
                        change["Keys"],
                        change.get("NewImage"),
                        change["SequenceNumber"],
                    )
                )
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records
