"""The embedded DynamoDB: the topology's table with its stream, and transactions
that roll back without breaking the stream (moto's own rollback replaces the
table, and a stream reader then never sees another record)."""

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from infra.local.embedded_aws import (
    EmbeddedAws,
    dynamodb,
    dynamodb_streams,
    ensure_table,
    expire_shard_iterators,
)

TABLE = "embedded-test"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = EmbeddedAws("127.0.0.1", 0)
    server.start()
    yield server.endpoint_url
    server.stop()


def item(pk: str, **attributes: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": "SUB"}, **{k: {"S": v} for k, v in attributes.items()}}


def read_stream(streams, iterator: str) -> tuple[list[str], str]:
    page = streams.get_records(ShardIterator=iterator)
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]
    return keys, page["NextShardIterator"]


def test_a_cancelled_transaction_leaves_no_trace_and_the_stream_flows_on(endpoint):
    client, streams = dynamodb(endpoint), dynamodb_streams(endpoint)
    stream_arn, created = ensure_table(client, TABLE)
    assert created
    assert ensure_table(client, TABLE) == (stream_arn, False)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    client.put_item(TableName=TABLE, Item=item("SUB#1", v="before"))
    seen, iterator = read_stream(streams, iterator)
    assert seen == ["SUB#1"]

    # When a transaction updates one item, then fails its condition on another
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": item("SUB#1"),
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "during"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": item("SUB#2"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    # Then nothing of it remains, in the table or its stream, and later writes flow
    stored = client.get_item(TableName=TABLE, Key=item("SUB#1"), ConsistentRead=True)["Item"]
    assert stored["v"] == {"S": "before"}
    client.put_item(TableName=TABLE, Item=item("SUB#3"))
    seen, _ = read_stream(streams, iterator)
    assert seen == ["SUB#3"]


def test_expired_shard_iterators_are_refused_so_readers_renew_them(endpoint):
    client, streams = dynamodb(endpoint), dynamodb_streams(endpoint)
    stream_arn, _ = ensure_table(client, "expiry-test")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
    )["ShardIterator"]

    expire_shard_iterators()

    with pytest.raises(ClientError):
        streams.get_records(ShardIterator=iterator)
