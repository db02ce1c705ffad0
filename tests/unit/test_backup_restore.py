"""The restore drill, in moto: data written through the real ingest and aggregator
path, a nightly backup, damage, a restore into a new table, and proof that the
restored table is the backed-up state and answers daily-stats as before."""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time

from backup import handler as backup_handler
from backup import restore
from backup.backups import BackupStore
from backup.retention import BackupSettings
from infra.local.events import LambdaContext
from ingest import handler as ingest_handler
from shared.observability import LambdaHandler, metrics
from shared.rollups import RollupStore
from shared.submissions import SubmissionStore, submission_key
from stats import aggregator
from stats import api as stats_api
from tests.support.backup import TABLE_NAME, all_items, backup_account, stream_records
from tools.events import api_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DAY_1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY_2 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
NIGHT = datetime(2026, 3, 3, 3, 30, tzinfo=UTC)
RANGE: dict[str, str | list[str]] = {"from": "2026-03-01", "to": "2026-03-03"}


@pytest.fixture
def app() -> Iterator["DynamoDBClient"]:
    """A moto table (with its stream) and its backups."""
    with backup_account() as client:
        yield client
    metrics.clear_metrics()


@dataclass(frozen=True)
class Functions:
    """The app's functions, as Lambda invokes them, wired to one table."""

    client: "DynamoDBClient"
    ingest: LambdaHandler
    aggregator: LambdaHandler
    stats: LambdaHandler
    backup: LambdaHandler

    def submit(self, number: int, at: datetime, **extra: Any) -> dict[str, Any]:
        event = api_event("POST", "/api/submit-number", body={"number": number, **extra}, at=at)
        response = self.ingest(event, LambdaContext.timeless())
        assert response["statusCode"] == 201
        body: dict[str, Any] = json.loads(response["body"])
        return body

    def run_aggregator(self) -> None:
        """Lambda's event source mapping: the table's whole stream (replays are no-ops)."""
        result = self.aggregator(
            {"Records": stream_records(self.client, TABLE_NAME)}, LambdaContext.timeless()
        )
        assert result == {"batchItemFailures": []}

    def daily_stats(self) -> Any:
        event = api_event("GET", "/api/daily-stats", query=RANGE)
        response = self.stats(event, LambdaContext.timeless())
        assert response["statusCode"] == 200
        return json.loads(response["body"])

    def nightly_backup(self) -> str:
        with freeze_time(NIGHT):
            result = self.backup({}, LambdaContext.timeless())
        assert result["created"] is True
        arn: str = result["backup_arn"]
        return arn


@pytest.fixture
def functions(app: "DynamoDBClient") -> Functions:
    """The four functions, their stores on the moto table."""
    return Functions(
        app,
        ingest=ingest_handler.make_handler(SubmissionStore(app, TABLE_NAME)),
        aggregator=aggregator.make_handler(RollupStore(app, TABLE_NAME)),
        stats=stats_api.make_handler(RollupStore(app, TABLE_NAME)),
        backup=backup_handler.make_handler(BackupStore(app, TABLE_NAME), BackupSettings.from_env()),
    )


def test_restore_drill(
    app: "DynamoDBClient", functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given: submissions on two days, counted by the aggregator from the real stream
    first = functions.submit(7, DAY_1, location={"latitude": 48.85, "longitude": 2.35})
    for number in (3, 3, 10, 1):
        functions.submit(number, DAY_1)
    for number in (5, 5, 2):
        functions.submit(number, DAY_2, timestamp="2026-03-02T19:00:00+01:00")
    functions.run_aggregator()
    original_stats = functions.daily_stats()
    assert original_stats["total"]["count"] == 8
    backed_up = all_items(app, TABLE_NAME)

    # ...and the nightly backup
    backup_arn = functions.nightly_backup()

    # When: the data is damaged: a raw item deleted, one changed, a rollup deleted,
    # and a new submission counted
    app.delete_item(TableName=TABLE_NAME, Key=submission_key(first["id"]))
    changed = next(
        i
        for i in backed_up
        if i["pk"]["S"].startswith("SUB#") and i["pk"]["S"] != f"SUB#{first['id']}"
    )
    app.update_item(
        TableName=TABLE_NAME,
        Key={"pk": changed["pk"], "sk": changed["sk"]},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "number"},
        ExpressionAttributeValues={":n": {"N": "9"}},
    )
    app.delete_item(
        TableName=TABLE_NAME, Key={"pk": {"S": "ROLLUP#2026-03"}, "sk": {"S": "2026-03-02"}}
    )
    functions.submit(4, DAY_1)
    functions.run_aggregator()
    assert all_items(app, TABLE_NAME) != backed_up
    assert functions.daily_stats() != original_stats

    # ...and the backup is restored into a new table
    status = restore.main(["--backup-arn", backup_arn, "--target", "restored", "--env", "prod"])

    # Then: the restore is verified, and says how to use the table
    out = capsys.readouterr().out
    assert status == 0, out
    assert "restored is ACTIVE: 10 items = 8 submissions (8 counted) + 2 rollups" in out
    assert "TABLE_NAME=restored" in out
    # ...every item, raw and rollup, is as backed up
    assert all_items(app, "restored") == backed_up
    # ...and daily-stats served from the restored table answers as before the damage
    on_restored = replace(functions, stats=stats_api.make_handler(RollupStore(app, "restored")))
    assert on_restored.daily_stats() == original_stats


def test_a_restore_never_overwrites_a_table(
    app: "DynamoDBClient", functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    functions.submit(5, DAY_1)
    backup_arn = functions.nightly_backup()
    functions.submit(6, DAY_1)
    live = all_items(app, TABLE_NAME)

    status = restore.main(["--backup-arn", backup_arn, "--target", TABLE_NAME])

    assert status == 2
    assert "REFUSED" in capsys.readouterr().err
    assert all_items(app, TABLE_NAME) == live


def test_a_restore_whose_rollups_disagree_with_the_submissions_is_not_verified(
    app: "DynamoDBClient", functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given: a backup taken while a rollup did not match its counted submissions
    functions.submit(5, DAY_1)
    functions.submit(6, DAY_1)
    functions.run_aggregator()
    app.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": "ROLLUP#2026-03"}, "sk": {"S": "2026-03-01"}},
        UpdateExpression="ADD n6 :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    backup_arn = functions.nightly_backup()

    status = restore.main(["--backup-arn", backup_arn, "--target", "restored"])

    assert status == 1
    assert "python -m backup.rebuild --table restored --from 2026-03-01 --to 2026-03-01" in (
        capsys.readouterr().err
    )


def put_rollup(client: "DynamoDBClient", day: str, **counts: int) -> None:
    client.put_item(
        TableName=TABLE_NAME,
        Item={
            "pk": {"S": f"ROLLUP#{day[:7]}"},
            "sk": {"S": day},
            **{name: {"N": str(count)} for name, count in counts.items()},
        },
    )


def test_a_rollup_of_a_day_without_counted_submissions_is_not_verified(
    app: "DynamoDBClient", functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given: two counted days, and stray rollups before, between (another month,
    # so outside every month the counted days span) and after them
    functions.submit(5, DAY_1)
    functions.submit(6, datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    functions.run_aggregator()
    put_rollup(app, "2026-02-27", n1=1)
    put_rollup(app, "2026-03-15", n2=2)
    put_rollup(app, "2026-05-09", n3=3)
    backup_arn = functions.nightly_backup()

    status = restore.main(["--backup-arn", backup_arn, "--target", "restored"])

    assert status == 1
    err = capsys.readouterr().err
    for day, picks in (("2026-02-27", 1), ("2026-03-15", 2), ("2026-05-09", 3)):
        assert f"{day}: the rollup holds {picks} picks, the counted submissions 0" in err
        assert f"--from {day} --to {day}" in err
    assert "2026-03-01:" not in err
    assert "2026-04-20:" not in err


def test_a_rollup_when_nothing_is_counted_is_not_verified(
    app: "DynamoDBClient", functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given: a submission not counted yet, and a rollup that counts a phantom pick
    functions.submit(5, DAY_1)
    put_rollup(app, "2026-03-02", n7=1)
    backup_arn = functions.nightly_backup()

    status = restore.main(["--backup-arn", backup_arn, "--target", "restored"])

    assert status == 1
    assert "2026-03-02: the rollup holds 1 picks, the counted submissions 0" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("wrong_part", [False, True])
def test_a_restore_of_rollups_spread_over_parts_is_verified_part_by_part(
    app: "DynamoDBClient",
    functions: Functions,
    capsys: pytest.CaptureFixture[str],
    wrong_part: bool,
) -> None:
    # Given: picks counted by an aggregator that spreads each day over three parts
    spread = RollupStore(app, TABLE_NAME, parts=3, rng=random.Random(9))
    functions = replace(functions, aggregator=aggregator.make_handler(spread))
    for number in range(1, 9):
        functions.submit(number, DAY_1 if number % 2 else DAY_2)
        functions.run_aggregator()
    parts = [i["sk"]["S"] for i in all_items(app, TABLE_NAME) if i["pk"]["S"].startswith("ROLL")]
    assert len(parts) > 2
    if wrong_part:  # one part of the second day holds a pick too many
        put_rollup(app, "2026-03-02#2", n1=1)
    backup_arn = functions.nightly_backup()

    # When: it is restored
    status = restore.main(["--backup-arn", backup_arn, "--target", "restored"])

    # Then: the parts add up to the counted submissions, or the day is named
    err = capsys.readouterr().err
    assert status == (1 if wrong_part else 0)
    assert ("--from 2026-03-02 --to 2026-03-02" in err) is wrong_part
