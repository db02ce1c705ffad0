"""The local AWS endpoint: DynamoDB Local behind a loopback endpoint that also
serves DynamoDB's backup API, with DynamoDB's shapes and errors, and refuses a
function a table action its declaration does not grant."""

import io
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from infra.local.access import TABLE_ARN, AccessPolicy
from infra.local.aws_endpoint import LocalAwsEndpoint, dynamodb, dynamodb_streams, ensure_table
from infra.local.stack import EmulatedStack, Options
from infra.topology import AGGREGATOR, BACKUP, DAILY_STATS, FUNCTIONS, SUBMIT_NUMBER
from tests.support.local_stack import submit
from tests.support.overreach import OVERREACH_ROUTE, OVERREACHING

TABLE = "endpoint-test"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with LocalAwsEndpoint(None) as local:
        yield local.endpoint_url


def item(pk: str, **attributes: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": "SUB"}, **{k: {"S": v} for k, v in attributes.items()}}


def read_stream(streams, iterator: str) -> tuple[list[str], str]:
    page = streams.get_records(ShardIterator=iterator)
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]
    return keys, page["NextShardIterator"]


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


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


def test_a_backup_is_a_copy_that_restores_into_a_new_table_without_a_stream(endpoint):
    client = dynamodb(endpoint)
    ensure_table(client, "backed-up")
    for n in range(60):
        client.put_item(TableName="backed-up", Item=item(f"SUB#{n:03d}", v=str(n)))

    # When the table is backed up, then changed
    details = client.create_backup(TableName="backed-up", BackupName="nightly")["BackupDetails"]
    client.delete_item(TableName="backed-up", Key=item("SUB#000"))
    client.put_item(TableName="backed-up", Item=item("SUB#999"))

    # Then the backup is described as DynamoDB describes one
    assert details["BackupStatus"] == "AVAILABLE"
    assert details["BackupType"] == "USER"
    assert ":table/backed-up/backup/" in details["BackupArn"]
    described = client.describe_backup(BackupArn=details["BackupArn"])["BackupDescription"]
    assert described["SourceTableDetails"]["TableName"] == "backed-up"
    assert described["SourceTableDetails"]["ItemCount"] == 60
    assert (
        described["BackupDetails"]["BackupCreationDateTime"] == (details["BackupCreationDateTime"])
    )

    # And a restore holds the table as it was at the backup, with no stream (as in AWS)
    restored = client.restore_table_from_backup(
        TargetTableName="restored", BackupArn=details["BackupArn"]
    )["TableDescription"]
    assert restored["RestoreSummary"]["SourceBackupArn"] == details["BackupArn"]
    client.get_waiter("table_exists").wait(TableName="restored")
    table = client.describe_table(TableName="restored")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert "LatestStreamArn" not in table
    assert "StreamSpecification" not in table or not table["StreamSpecification"].get(
        "StreamEnabled"
    )
    keys = {
        i["pk"]["S"]
        for page in client.get_paginator("scan").paginate(TableName="restored")
        for i in page["Items"]
    }
    assert keys == {f"SUB#{n:03d}" for n in range(60)}

    # And a restore never overwrites a table
    with pytest.raises(ClientError) as refused:
        client.restore_table_from_backup(TargetTableName="restored", BackupArn=details["BackupArn"])
    assert error_code(refused) == "TableAlreadyExistsException"


def test_list_backups_applies_its_table_time_and_type_filters_and_pages(endpoint):
    client = dynamodb(endpoint)
    for table in ("listed-a", "listed-b"):
        ensure_table(client, table)
    made = [
        client.create_backup(TableName="listed-a", BackupName=f"nightly-a{n}")["BackupDetails"]
        for n in range(3)
    ]
    client.create_backup(TableName="listed-b", BackupName="nightly-b0")

    def names(**filters) -> list[str]:
        pages = client.get_paginator("list_backups").paginate(**filters)
        return [s["BackupName"] for page in pages for s in page["BackupSummaries"]]

    every = ["nightly-a0", "nightly-a1", "nightly-a2"]
    assert names(TableName="listed-a") == every
    assert names(TableName="listed-a", PaginationConfig={"PageSize": 1}) == every
    assert names(TableName="listed-a", BackupType="SYSTEM") == []
    assert names(TableName="listed-a", BackupType="ALL") == every
    # botocore sends the bounds in whole seconds; the lower bound is inclusive, the
    # upper bound exclusive (DynamoDB's API reference).
    first = made[0]["BackupCreationDateTime"].replace(microsecond=0)
    last = made[-1]["BackupCreationDateTime"].replace(microsecond=0) + timedelta(seconds=1)
    assert names(TableName="listed-a", TimeRangeLowerBound=first, TimeRangeUpperBound=last) == (
        every
    )
    assert names(TableName="listed-a", TimeRangeUpperBound=first) == []
    assert names(TableName="listed-a", TimeRangeLowerBound=last) == []
    assert "nightly-b0" in names()


def test_backup_errors_have_dynamodbs_codes(endpoint):
    client = dynamodb(endpoint)
    missing = "arn:aws:dynamodb:ddblocal:000000000000:table/x/backup/01700000000000-deadbeef"
    with pytest.raises(ClientError) as not_found:
        client.describe_backup(BackupArn=missing)
    assert error_code(not_found) == "BackupNotFoundException"
    with pytest.raises(ClientError) as no_table:
        client.create_backup(TableName="no-such-table", BackupName="orphan")
    assert error_code(no_table) == "TableNotFoundException"

    ensure_table(client, "deleted-backup")
    arn = client.create_backup(TableName="deleted-backup", BackupName="gone")["BackupDetails"][
        "BackupArn"
    ]
    deleted = client.delete_backup(BackupArn=arn)["BackupDescription"]
    assert deleted["BackupDetails"]["BackupStatus"] == "DELETED"
    with pytest.raises(ClientError) as gone:
        client.delete_backup(BackupArn=arn)
    assert error_code(gone) == "BackupNotFoundException"


def test_tables_and_backups_survive_a_restart_of_a_persistent_endpoint(tmp_path: Path):
    with LocalAwsEndpoint(tmp_path) as first:
        client = dynamodb(first.endpoint_url)
        ensure_table(client, "kept")
        client.put_item(TableName="kept", Item=item("SUB#kept"))
        arn = client.create_backup(TableName="kept", BackupName="kept")["BackupDetails"][
            "BackupArn"
        ]

    with LocalAwsEndpoint(tmp_path) as second:
        client = dynamodb(second.endpoint_url)
        assert client.get_item(TableName="kept", Key=item("SUB#kept"))["Item"]
        summaries = client.list_backups(TableName="kept")["BackupSummaries"]
        assert [s["BackupArn"] for s in summaries] == [arn]


def test_the_stack_runs_against_any_other_endpoint_and_starts_no_engine(start_local_stack):
    with LocalAwsEndpoint(None) as elsewhere:
        stack = start_local_stack(
            "--throttle-rate",
            "0",
            "--endpoint-url",
            elsewhere.endpoint_url,
            "--table-name",
            "other",
        )
        assert stack.endpoint_url == elsewhere.endpoint_url
        assert submit(requests, stack, {"number": 4}).status_code == 201
        stack.wait_until_aggregated()
        assert stack.rollup_histogram() == stack.raw_histogram() == {4: 1}
        assert stack.stop() == 0
        assert "engine" not in stack.stdout.read_text()


# -- the functions' grants ---------------------------------------------------------------

POLICY = AccessPolicy(FUNCTIONS, TABLE)


def request(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_function_may_call_what_it_declares_and_nothing_else():
    put = request(TableName=TABLE, Item=item("SUB#1"))
    assert POLICY.denial(SUBMIT_NUMBER.name, "PutItem", put) is None
    # Given the same function's undeclared read, and its declared write on another table
    denied = POLICY.denial(SUBMIT_NUMBER.name, "GetItem", request(TableName=TABLE))
    elsewhere = POLICY.denial(SUBMIT_NUMBER.name, "PutItem", request(TableName="other"))
    # Then AWS's words: who, which action, which resource
    assert denied == (
        f"User: arn:aws:sts::123456789012:assumed-role/{SUBMIT_NUMBER.name}-role/"
        f"{SUBMIT_NUMBER.name} is not authorized to perform: dynamodb:GetItem on resource: "
        f"{TABLE_ARN.format(TABLE)} because no identity-based policy allows the "
        "dynamodb:GetItem action"
    )
    assert elsewhere is not None
    assert TABLE_ARN.format("other") in elsewhere


def transaction(*items: tuple[str, str]) -> bytes:
    """A transaction of (kind, partition key) items."""
    return request(
        TransactItems=[{kind: {"TableName": TABLE, "Key": item(pk)}} for kind, pk in items]
    )


def test_a_transaction_needs_the_action_of_each_of_its_items():
    update = ("Update", "SUB#1")
    assert POLICY.denial(AGGREGATOR.name, "TransactWriteItems", transaction(update)) is None
    denied = POLICY.denial(
        AGGREGATOR.name, "TransactWriteItems", transaction(update, ("Put", "SUB#2"))
    )
    assert denied is not None
    assert "dynamodb:PutItem" in denied


def query(partition_key: str) -> bytes:
    return request(
        TableName=TABLE,
        KeyConditionExpression="#pk = :pk AND sk BETWEEN :first AND :last",
        ExpressionAttributeNames={"#pk": "pk"},
        ExpressionAttributeValues={
            ":pk": {"S": partition_key},
            ":first": {"S": "2026-12-01"},
            ":last": {"S": "2026-12-07"},
        },
    )


def test_each_function_touches_only_the_item_families_it_owns():
    """dynamodb:LeadingKeys, as the CDK app's conditions: ingest may not forge a
    rollup, stats may not read a submission, the aggregator's transaction may update
    both and nothing else."""
    forged = POLICY.denial(
        SUBMIT_NUMBER.name, "PutItem", request(TableName=TABLE, Item=item("ROLLUP#2026-12"))
    )
    assert forged is not None
    assert "not authorized to perform: dynamodb:PutItem" in forged
    assert POLICY.denial(DAILY_STATS.name, "Query", query("ROLLUP#2026-12")) is None
    assert POLICY.denial(DAILY_STATS.name, "Query", query("SUB#1")) is not None
    counted = transaction(("Update", "SUB#1"), ("Update", "ROLLUP#2026-12"))
    assert POLICY.denial(AGGREGATOR.name, "TransactWriteItems", counted) is None
    stray = transaction(("Update", "SUB#1"), ("Update", "OTHER#1"))
    assert POLICY.denial(AGGREGATOR.name, "TransactWriteItems", stray) is not None


def test_an_item_grant_admits_no_request_without_a_partition_key():
    """IAM's ForAllValues holds for an empty set: the Null test of the CDK app's
    condition refuses a request that names no partition key (as a Scan)."""
    assert POLICY.denial(DAILY_STATS.name, "Query", request(TableName=TABLE)) is not None


def test_backup_grants_cover_the_tables_backups_and_listing_only():
    own = request(BackupArn=TABLE_ARN.format(TABLE) + "/backup/01-ab")
    other = request(BackupArn=TABLE_ARN.format("other") + "/backup/01-ab")
    assert POLICY.denial(BACKUP.name, "DeleteBackup", own) is None
    assert POLICY.denial(BACKUP.name, "DeleteBackup", other) is not None
    assert POLICY.denial(BACKUP.name, "ListBackups", request()) is None
    assert POLICY.denial(BACKUP.name, "RestoreTableFromBackup", own) is not None


@pytest.mark.parametrize("key", ["local", "AKIDEXAMPLE", None])
def test_a_caller_that_is_no_function_has_full_access(key):
    assert POLICY.denial(key, "DeleteTable", request(TableName=TABLE)) is None


def test_a_handler_calling_an_undeclared_action_fails_locally(tmp_path, monkeypatch):
    """The Overreach function (tests/support/overreach.py) calls GetItem without
    declaring it: the endpoint refuses it as IAM would, so the function fails, the API
    answers 502 and the access log says why; the app's declared calls still pass."""
    for name in list(os.environ):  # the stack sets the AWS variables it runs with
        monkeypatch.setenv(name, os.environ[name])
    out = io.StringIO()
    options = Options(port=0, aws_port=0, data_dir=tmp_path, ephemeral=True)
    stack = EmulatedStack(options, out=out, topology=OVERREACHING)
    stack.start()
    try:
        assert stack.http is not None
        refused = requests.get(stack.http.url + OVERREACH_ROUTE.path, timeout=10)
        accepted = requests.post(
            stack.http.url + "/api/submit-number", json={"number": 3}, timeout=10
        )
    finally:
        stack.stop()
    assert refused.status_code == 502
    assert accepted.status_code == 201
    entry = next(
        json.loads(line)
        for line in out.getvalue().splitlines()
        if line.startswith("{") and OVERREACH_ROUTE.path in line
    )
    assert entry["status"] == 502
    assert "AccessDeniedException" in entry["integrationErrorMessage"]
    assert "not authorized to perform: dynamodb:GetItem" in entry["integrationErrorMessage"]
