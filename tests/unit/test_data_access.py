"""The data-access layer on both engines (tests/support/engines.py): the
submission store and the backups' store on moto and on DynamoDB Local, which
decides where the two differ. (The rollup store's own tests are in
test_rollup_store.py, on both engines too.)

Differences found between the engines, DynamoDB Local being right:
- a Query whose `BETWEEN` bounds are the wrong way round: DynamoDB Local
  refuses it (ValidationException), moto answers it with nothing;
- a table name shorter than 3 characters: DynamoDB Local refuses it, moto
  creates the table;
- two actions on one item in a transaction: DynamoDB Local cancels the
  transaction (TransactionCanceledException, reason ValidationError), moto
  raises a ValidationException.
The app sends none of these; the first is pinned below, since an off-by-one in
the rollup store's month slicing would send it and pass on moto alone.
"""

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from backup.backups import (
    BackupStore,
    TargetTableExists,
    count_items,
    describe_backup,
    restore,
    table_status,
)
from shared.histogram import Histogram
from shared.rollups import RollupStore
from shared.submissions import MARKER, Pick, Submission, SubmissionStore, submission_key
from tests.support.dynamo import TABLE_NAME, recorded_calls
from tests.support.engines import DYNAMODB_LOCAL

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def table(store_table: "DynamoDBClient") -> "DynamoDBClient":
    return store_table


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    engine: str = request.node.callspec.params["store_table"]
    return engine


def submission(submission_id: str, day: str = "2026-03-01", number: int = 4) -> Submission:
    return Submission(
        Pick(submission_id, day, number),
        received_at=f"{day}T12:00:00.000+00:00",
        body_hash="ab" * 32,
    )


def test_a_submission_is_stored_once_and_read_back_whole(table: "DynamoDBClient") -> None:
    store = SubmissionStore(table, TABLE_NAME)
    first = Submission(
        Pick("s1", "2026-03-01", 7),
        received_at="2026-03-01T14:30:00.000+00:00",
        body_hash="cd" * 32,
        client_timestamp="2026-03-01T15:30:00+01:00",
        latitude=Decimal("48.9"),
        longitude=Decimal("-2.4"),
    )

    assert store.add(first) is None

    # the id is taken: nothing written, and the stored submission comes back from the
    # failed condition itself, without a read (a replay costs no read capacity)
    with recorded_calls(table) as calls:
        assert store.add(submission("s1", number=1)) == first
    assert [name for name, _ in calls] == ["PutItem"]

    with recorded_calls(table) as calls:
        assert store.get("s1") == first
    assert [p["ConsistentRead"] for n, p in calls if n == "GetItem"] == [True]
    assert store.get("missing") is None


def test_a_submission_without_options_reads_back_without_them(table: "DynamoDBClient") -> None:
    store = SubmissionStore(table, TABLE_NAME)
    store.add(submission("s2"))

    assert store.get("s2") == submission("s2")


def test_the_scan_finds_the_submissions_of_the_days_asked_for(table: "DynamoDBClient") -> None:
    # Given submissions on either side of a range, one counted, and a rollup
    store = SubmissionStore(table, TABLE_NAME)
    for sid, day in [
        ("a", "2026-02-28"),
        ("b", "2026-03-01"),
        ("c", "2026-03-02"),
        ("d", "2026-03-03"),
    ]:
        store.add(submission(sid, day))
    RollupStore(table, TABLE_NAME).count_once("2026-03-02", [Pick("c", "2026-03-02", 4)])

    # When the range's submissions are scanned
    found = sorted(store.scan_picks("2026-03-01", "2026-03-02"), key=lambda p: p.submission_id)

    # Then exactly those of the range, with their counted flag, and no rollup
    assert [(p.submission_id, p.date, p.number, p.counted) for p in found] == [
        ("b", "2026-03-01", 4, False),
        ("c", "2026-03-02", 4, True),
    ]


def test_a_count_marks_the_submission_and_adds_to_the_rollup(table: "DynamoDBClient") -> None:
    SubmissionStore(table, TABLE_NAME).add(submission("m", number=9))
    rollups = RollupStore(table, TABLE_NAME)

    assert rollups.count_once("2026-03-01", [Pick("m", "2026-03-01", 9)]) == 1
    assert rollups.count_once("2026-03-01", [Pick("m", "2026-03-01", 9)]) == 0  # counted once only
    # a pick whose submission does not exist is never counted
    assert rollups.count_once("2026-03-01", [Pick("ghost", "2026-03-01", 1)]) == 0

    item = table.get_item(TableName=TABLE_NAME, Key=submission_key("m"), ConsistentRead=True)
    assert MARKER in item["Item"]
    day = date(2026, 3, 1)
    assert rollups.histograms(day, day) == {"2026-03-01": Histogram.of([9])}


def test_a_between_with_reversed_bounds_is_refused_by_dynamodb_local_only(
    table: "DynamoDBClient", engine: str
) -> None:
    try:
        table.query(
            TableName=TABLE_NAME,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": "ROLLUP#2026-03"},
                ":first": {"S": "2026-03-01"},
                ":last": {"S": "2026-02-28~"},
            },
        )
        refusal = None
    except ClientError as error:
        refusal = error.response["Error"]["Code"]

    # If moto becomes as strict, this fails: update the module docstring
    assert refusal == ("ValidationException" if engine == DYNAMODB_LOCAL else None)


def test_backups_are_created_listed_described_and_deleted(table: "DynamoDBClient") -> None:
    SubmissionStore(table, TABLE_NAME).add(submission("b1"))
    store = BackupStore(table, TABLE_NAME)

    created = store.create(f"{TABLE_NAME}-nightly-2026-03-01")

    assert [b.name for b in store.list()] == [f"{TABLE_NAME}-nightly-2026-03-01"]
    description = describe_backup(table, created.arn)
    assert (description.name, description.source_table) == (created.name, TABLE_NAME)
    assert description.status in ("CREATING", "AVAILABLE")
    store.delete(created)
    assert [b.name for b in store.list() if b.status != "DELETED"] == []


def test_a_restore_makes_a_new_table_and_never_overwrites_one(table: "DynamoDBClient") -> None:
    # Given a backup of a table holding a counted submission and its rollup
    SubmissionStore(table, TABLE_NAME).add(submission("r1", number=3))
    RollupStore(table, TABLE_NAME).count_once("2026-03-01", [Pick("r1", "2026-03-01", 3)])
    backup = BackupStore(table, TABLE_NAME).create("before")

    # When it is restored into a new table
    restore(table, backup.arn, "restored-table")
    try:
        # Then the new table holds what the backup held
        assert table_status(table, "restored-table") == "ACTIVE"
        counts = count_items(table, "restored-table")
        assert (counts.total, counts.submissions, counts.counted_submissions) == (2, 1, 1)
        assert (counts.rollups, counts.rollup_days) == (1, frozenset({"2026-03-01"}))
        # And a restore onto an existing table is refused
        with pytest.raises(TargetTableExists):
            restore(table, backup.arn, TABLE_NAME)
    finally:
        table.delete_table(TableName="restored-table")
