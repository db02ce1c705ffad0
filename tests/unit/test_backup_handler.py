"""The nightly backup function against moto: one backup per night, retention over
many nights (freezegun), pagination, errors and the EMF metrics the alarms watch."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber
from freezegun import freeze_time

from backup import handler
from backup.backups import NOT_YET_WAITS, BackupStore
from backup.retention import BackupRetention, BackupSettings
from infra.local.events import LambdaContext
from infra.topology import BACKUP, TABLE, RuntimeSettings, runtime_environment
from shared.aws import dynamodb
from shared.observability import NAMESPACE, metrics
from tests.support.backup import TABLE_NAME, backup_account
from tests.support.metrics import emitted, metric_values

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ARN_1 = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE_NAME}/backup/01"
ARN_2 = ARN_1[:-2] + "02"
FIRST_NIGHT = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

# One invocation in a fresh interpreter, as in Lambda: Powertools reads the service
# name from the environment when `shared.observability` is first imported.
COLD_START = """
from tests.support.backup import backup_account
from infra.local.events import LambdaContext

with backup_account():
    from backup import handler
    handler.lambda_handler({"source": "aws.scheduler"}, LambdaContext.timeless())
"""


@pytest.fixture
def table() -> Iterator["DynamoDBClient"]:
    with backup_account() as client:
        yield client
    metrics.clear_metrics()  # nothing left for another suite's flush


@pytest.fixture
def store(table: "DynamoDBClient") -> BackupStore:
    return BackupStore(table, TABLE_NAME)


def invoke(store: BackupStore, settings: BackupSettings | None = None) -> dict[str, Any]:
    """One scheduled invocation of the function built on `store`, with `settings`
    (by default the environment's, as deployed)."""
    lambda_handler = handler.make_handler(store, settings or BackupSettings.from_env())
    result: dict[str, Any] = lambda_handler({"source": "aws.scheduler"}, LambdaContext.timeless())
    return result


def keeping(days: int, min_keep: int, weekly: int = 0, monthly: int = 0) -> BackupSettings:
    """The function's settings with this retention."""
    return BackupSettings(TABLE_NAME, BackupRetention(days, min_keep, weekly, monthly))


def names(store: BackupStore) -> list[str]:
    return sorted(b.name for b in store.list())


def run_nights(store: BackupStore, settings: BackupSettings, nights: int, start: datetime) -> None:
    for night in range(nights):
        with freeze_time(start + timedelta(days=night)):
            handler.nightly_backup(store, settings, datetime.now(UTC))


@freeze_time(FIRST_NIGHT)
def test_a_backup_named_after_the_table_and_night_is_created_and_counted(
    store: BackupStore, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(store)

    assert result["created"] is True
    assert names(store) == [f"{TABLE_NAME}-nightly-2026-03-01"]
    assert metric_values(capsys.readouterr().out, "BackupCreated") == [1]


def test_the_emitted_metric_is_the_one_the_backup_missing_alarm_watches() -> None:
    # Given: the environment the CDK app gives the function (infra/cloud/functions.py)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "BACKUP_"))}
    deployed = RuntimeSettings(
        log_level="WARNING",
        metrics_namespace=NAMESPACE,
        tracing=False,  # no X-Ray daemon here
    )
    env.update(runtime_environment(BACKUP, TABLE_NAME, deployed))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "services"), str(ROOT)])

    # When: the function takes tonight's backup
    run = subprocess.run(
        [sys.executable, "-c", COLD_START],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then: its EMF carries exactly what the BackupMissing alarm watches
    # (tests/infra/test_observability.py): PickANumber/BackupCreated,
    # dimension service=backup, and nothing else.
    assert run.returncode == 0, run.stderr
    [doc] = [d for d in emitted(run.stdout) if "BackupCreated" in d]
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "PickANumber"
    assert [m["Name"] for m in directive["Metrics"]] == ["BackupCreated"]
    assert directive["Dimensions"] == [["service"]]
    assert doc["service"] == "backup"
    assert doc["BackupCreated"] in (1, [1])


def test_a_retried_schedule_makes_no_second_backup_that_night(
    store: BackupStore, capsys: pytest.CaptureFixture[str]
) -> None:
    with freeze_time(FIRST_NIGHT):
        first = invoke(store)
    capsys.readouterr()
    # When: EventBridge retries an hour later, the same UTC night
    with freeze_time(FIRST_NIGHT + timedelta(hours=1)):
        retried = invoke(store)

    assert retried["created"] is False
    assert retried["backup_arn"] == first["backup_arn"]
    assert len(store.list()) == 1
    assert metric_values(capsys.readouterr().out, "BackupCreated") == []
    # The next night gets its own.
    with freeze_time(FIRST_NIGHT + timedelta(days=1)):
        assert invoke(store)["created"] is True
    assert len(store.list()) == 2


def test_retention_over_many_nights_keeps_a_sliding_window(store: BackupStore) -> None:
    settings = keeping(days=3, min_keep=2)

    run_nights(store, settings, nights=8, start=FIRST_NIGHT)

    # The backups of nights 5..8 are at most 3 days old on night 8.
    assert names(store) == [f"{TABLE_NAME}-nightly-2026-03-0{d}" for d in range(5, 9)]


def test_retention_over_months_keeps_the_newest_of_each_week_and_month(store: BackupStore) -> None:
    # Given: a day, two ISO weeks and two months kept, from Sunday 1 March 2026 nightly
    settings = keeping(days=1, min_keep=1, weekly=2, monthly=2)

    run_nights(store, settings, nights=45, start=FIRST_NIGHT)

    # Then: on Tuesday 14 April, tonight's and last night's (a day old), last week's
    # newest (Sunday; this week's is tonight's) and March's newest
    assert names(store) == [
        f"{TABLE_NAME}-nightly-2026-03-31",
        f"{TABLE_NAME}-nightly-2026-04-12",
        f"{TABLE_NAME}-nightly-2026-04-13",
        f"{TABLE_NAME}-nightly-2026-04-14",
    ]


def test_after_a_long_outage_the_newest_backups_survive(store: BackupStore) -> None:
    settings = keeping(days=3, min_keep=3)
    run_nights(store, settings, nights=4, start=FIRST_NIGHT)
    assert len(store.list()) == 4

    # When: the schedule comes back after 100 days
    run_nights(store, settings, nights=1, start=FIRST_NIGHT + timedelta(days=100))

    # Then: tonight's and the two newest old ones stay, though all old ones are expired
    assert names(store) == [
        f"{TABLE_NAME}-nightly-2026-03-03",
        f"{TABLE_NAME}-nightly-2026-03-04",
        f"{TABLE_NAME}-nightly-2026-06-09",
    ]


def test_pruning_emits_one_count_per_deleted_backup(
    store: BackupStore, capsys: pytest.CaptureFixture[str]
) -> None:
    with freeze_time(FIRST_NIGHT - timedelta(days=60)):
        for name in ("old-a", "old-b"):
            store.create(name)
    capsys.readouterr()

    with freeze_time(FIRST_NIGHT):
        result = invoke(store, keeping(35, min_keep=7))

    # Only 3 backups exist, fewer than BACKUP_MIN_KEEP: nothing may be pruned yet.
    assert result["pruned"] == []
    assert metric_values(capsys.readouterr().out, "BackupPruned") == []

    with freeze_time(FIRST_NIGHT + timedelta(days=1)):
        result = invoke(store, keeping(35, min_keep=1))
    assert len(result["pruned"]) == 2
    assert metric_values(capsys.readouterr().out, "BackupPruned") == [1, 1]
    assert names(store) == [
        f"{TABLE_NAME}-nightly-2026-03-01",
        f"{TABLE_NAME}-nightly-2026-03-02",
    ]


def test_other_tables_backups_are_never_touched(
    table: "DynamoDBClient", store: BackupStore
) -> None:
    table.create_table(**TABLE.create_table_request("other"))
    with freeze_time(FIRST_NIGHT - timedelta(days=90)):
        table.create_backup(TableName="other", BackupName="other-nightly-old")

    run_nights(store, keeping(3, 1), nights=1, start=FIRST_NIGHT)

    assert [b["BackupName"] for b in table.list_backups(TableName="other")["BackupSummaries"]] == [
        "other-nightly-old"
    ]


def test_an_error_fails_the_invocation(store: BackupStore, table: "DynamoDBClient") -> None:
    # Given: the table is gone, so CreateBackup fails
    table.delete_table(TableName=TABLE_NAME)

    with freeze_time(FIRST_NIGHT), pytest.raises(table.exceptions.TableNotFoundException):
        invoke(store)


def backups_not_available_yet(client: "DynamoDBClient", times: int) -> Any:
    """CreateBackup on `client` fails `times` times as on a table created seconds ago."""
    create = client.create_backup
    failures = iter(range(times))

    def create_backup(**params: Any) -> Any:
        if next(failures, None) is not None:
            raise client.exceptions.ContinuousBackupsUnavailableException(
                {
                    "Error": {
                        "Code": "ContinuousBackupsUnavailableException",
                        "Message": "Backups are being enabled for the table: "
                        f"{TABLE_NAME}. Please retry later",
                    }
                },
                "CreateBackup",
            )
        return create(**params)

    return create_backup


def test_a_new_tables_first_backup_waits_until_backups_are_enabled(
    table: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: CreateBackup answers ContinuousBackupsUnavailableException until a new
    table's backups are enabled; the first backup runs while the stack is deployed."""
    waits: list[float] = []
    monkeypatch.setattr(table, "create_backup", backups_not_available_yet(table, 3))

    with freeze_time(FIRST_NIGHT):
        result = invoke(BackupStore(table, TABLE_NAME, sleep=waits.append))

    assert result["created"] is True
    assert waits == list(NOT_YET_WAITS[:3])
    assert names(BackupStore(table, TABLE_NAME)) == [result["backup_name"]]


def test_backups_that_never_become_available_fail_the_invocation_in_time(
    table: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(table, "create_backup", backups_not_available_yet(table, 100))

    with (
        freeze_time(FIRST_NIGHT),
        pytest.raises(table.exceptions.ContinuousBackupsUnavailableException),
    ):
        invoke(BackupStore(table, TABLE_NAME, sleep=waits.append))

    # every wait taken, and all of them inside the function's timeout with time to spare
    assert waits == list(NOT_YET_WAITS)
    assert sum(waits) + 10 < BACKUP.timeout_seconds


def test_listing_follows_every_page() -> None:
    client = dynamodb()
    created = datetime(2026, 3, 1, tzinfo=UTC)
    summary = {"TableName": TABLE_NAME, "BackupType": "USER", "BackupStatus": "AVAILABLE"}
    with Stubber(client) as stub:
        stub.add_response(
            "list_backups",
            {
                "BackupSummaries": [
                    {
                        **summary,
                        "BackupArn": ARN_1,
                        "BackupName": "first",
                        "BackupCreationDateTime": created,
                    }
                ],
                "LastEvaluatedBackupArn": ARN_1,
            },
            {"TableName": TABLE_NAME, "BackupType": "USER"},
        )
        stub.add_response(
            "list_backups",
            {
                "BackupSummaries": [
                    {
                        **summary,
                        "BackupArn": ARN_2,
                        "BackupName": "second",
                        "BackupCreationDateTime": created,
                    }
                ]
            },
            {"TableName": TABLE_NAME, "BackupType": "USER", "ExclusiveStartBackupArn": ARN_1},
        )
        found = BackupStore(client, TABLE_NAME).list()
    assert [b.arn for b in found] == [ARN_1, ARN_2]
