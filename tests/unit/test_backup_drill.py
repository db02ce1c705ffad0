"""The restore drill against moto: history counted in the live table, a nightly
backup, then the drill's start and verify phases (freezegun for the days), its
verdicts (pass, drift in the live table, drift in the backup, failure midway),
the scratch table's life, and the metrics the alarm watches."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time
from moto.dynamodb.models import dynamodb_backends

from backup import drill, drill_handler, drill_settings
from backup.backups import BackupStore
from backup.drill import DrillResult
from backup.drill_settings import DrillSettings
from infra.local.events import LambdaContext
from shared.config import MissingSetting
from shared.observability import metrics
from shared.rollups import RollupStore
from shared.submissions import Pick, SubmissionStore
from tests.support.dynamo import TABLE_NAME, emulated_table, recorded_calls, scan_all
from tests.support.metrics import emitted, metric_values
from tests.support.stream import example_submission, next_sequence_number

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NIGHT = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)  # the nightly backup's time
BACKUP_DAY = NIGHT.date()
DRILL = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)  # the start phase's schedule
SETTINGS = DrillSettings(TABLE_NAME, window_days=5)
PREFIX = f"{TABLE_NAME}-drill-"
WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "CreateBackup",
        "DeleteBackup",
        "UpdateContinuousBackups",
    }
)


@pytest.fixture
def live() -> Iterator["DynamoDBClient"]:
    """The live table in moto, without a stream (the drill never reads one)."""
    with emulated_table(stream=False) as client:
        yield client
    metrics.clear_metrics()


def count(client: "DynamoDBClient", day: date, *numbers: int) -> None:
    """Submissions of `day` stored and counted into its rollup, as the app does."""
    picks = [Pick(f"s{next_sequence_number()}", day.isoformat(), n) for n in numbers]
    store = SubmissionStore(client, TABLE_NAME)
    for pick in picks:
        store.add(example_submission(pick.submission_id, pick.date, pick.number))
    RollupStore(client, TABLE_NAME).count_once(day.isoformat(), picks)


def add_to_rollup(client: "DynamoDBClient", day: date, number: int) -> None:
    """A pick counted in the rollup without a submission: drift."""
    client.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"ROLLUP#{day:%Y-%m}"}, "sk": {"S": day.isoformat()}},
        UpdateExpression="ADD #n :one",
        ExpressionAttributeNames={"#n": f"n{number}"},
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def days_before_backup(*days: int) -> list[date]:
    return [BACKUP_DAY - timedelta(days=d) for d in days]


def history(client: "DynamoDBClient") -> list[date]:
    """Three closed days of counted picks, and picks on the backup's own day."""
    closed = days_before_backup(1, 2, 4)
    for number, day in enumerate(closed, start=3):
        count(client, day, number, number, 10)
    count(client, BACKUP_DAY, 1)
    return closed


def nightly_backup(client: "DynamoDBClient", at: datetime = NIGHT, name: str = "nightly") -> str:
    with freeze_time(at):
        return BackupStore(client, TABLE_NAME).create(name).arn


def run_drill(client: "DynamoDBClient", settings: DrillSettings = SETTINGS) -> DrillResult:
    """The start phase on its schedule, and the verify phase an hour later."""
    with freeze_time(DRILL):
        started = drill.start(client, settings, datetime.now(UTC))
    assert started.passed, started.problems
    with freeze_time(DRILL + timedelta(hours=1)):
        return drill.verify(client, settings)


def scratch_tables(client: "DynamoDBClient") -> list[str]:
    return [name for name in client.list_tables()["TableNames"] if name.startswith(PREFIX)]


def test_a_healthy_table_passes_and_its_scratch_table_is_deleted(live: "DynamoDBClient") -> None:
    # Given: counted history and a nightly backup, then more picks counted live
    closed = history(live)
    backup_arn = nightly_backup(live)
    count(live, BACKUP_DAY, 2)

    result = run_drill(live)

    # Then: each closed day checked, none drifted; the backup's own day not checked
    assert result.passed, result.problems
    assert result.days_checked == len(closed)
    assert result.days_drifted == []
    assert result.problems == []
    assert result.backup_arn == backup_arn
    assert result.backup_created == NIGHT.isoformat()
    assert result.scratch_table == f"{PREFIX}20260315T040000"
    assert scratch_tables(live) == []


def test_a_live_rollup_changed_after_the_backup_is_the_one_drifted_day(
    live: "DynamoDBClient",
) -> None:
    closed = history(live)
    nightly_backup(live)
    # When: one past day's rollup is changed directly in the live table
    add_to_rollup(live, closed[1], 7)

    result = run_drill(live)

    assert not result.passed
    assert result.days_drifted == [closed[1].isoformat()]
    assert result.days_checked == len(closed)
    [problem] = result.problems
    assert "the live rollup holds 4 picks, the backup's 3" in problem
    assert f"--table {TABLE_NAME} --from {closed[1]} --to {closed[1]}" in problem
    assert scratch_tables(live) == []


def test_a_rollup_wrong_in_the_backup_is_a_drifted_day(live: "DynamoDBClient") -> None:
    # Given: a day's rollup changed before the backup, so it is backed up wrong
    closed = history(live)
    add_to_rollup(live, closed[2], 5)
    nightly_backup(live)

    result = run_drill(live)

    # Then: the restored rollup disagrees with its recount (the live one agrees with it)
    assert result.days_drifted == [closed[2].isoformat()]
    [problem] = result.problems
    assert "the backup's rollup holds 4 picks, its counted submissions 3" in problem
    assert "live rollup" not in problem
    assert scratch_tables(live) == []


def test_picks_the_backup_held_uncounted_and_counted_since_are_no_drift(
    live: "DynamoDBClient",
) -> None:
    # Given: a closed day with a submission stored but not counted at backup time
    [day] = days_before_backup(1)
    count(live, day, 4)
    pending = Pick(f"s{next_sequence_number()}", day.isoformat(), 6)
    SubmissionStore(live, TABLE_NAME).add(
        example_submission(pending.submission_id, day.isoformat(), 6)
    )
    nightly_backup(live)
    # ...that the aggregator counted after the backup
    RollupStore(live, TABLE_NAME).count_once(day.isoformat(), [pending])

    assert run_drill(live).passed


def test_days_outside_the_window_and_the_backups_own_day_are_not_checked(
    live: "DynamoDBClient",
) -> None:
    # Given: drift on a day just outside the window, and on the backup's (open) day
    [inside, outside] = days_before_backup(SETTINGS.window_days, SETTINGS.window_days + 1)
    for day in (inside, outside, BACKUP_DAY):
        count(live, day, 8)
    nightly_backup(live)
    add_to_rollup(live, outside, 1)
    add_to_rollup(live, BACKUP_DAY, 1)

    result = run_drill(live)

    assert result.passed, result.problems
    assert result.days_checked == 1  # the window's first day only


def test_the_scratch_table_is_deleted_after_a_failure_midway(
    live: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch
) -> None:
    history(live)
    nightly_backup(live)

    def recount_fails(*_: Any) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(drill, "recount", recount_fails)
    result = run_drill(live)

    assert not result.passed
    assert result.problems == ["the verify phase stopped: RuntimeError: injected"]
    assert scratch_tables(live) == []


def test_a_scratch_table_left_behind_is_deleted_by_the_next_start(
    live: "DynamoDBClient",
) -> None:
    history(live)
    nightly_backup(live)
    # Given: a drill whose verify never ran
    with freeze_time(DRILL - timedelta(days=7)):
        drill.start(live, SETTINGS, datetime.now(UTC))
    [leftover] = scratch_tables(live)

    with freeze_time(DRILL):
        result = drill.start(live, SETTINGS, datetime.now(UTC))

    assert result.passed
    assert scratch_tables(live) == [result.scratch_table]
    assert leftover != result.scratch_table


def test_the_newest_available_backup_is_restored(live: "DynamoDBClient") -> None:
    history(live)
    nightly_backup(live, NIGHT - timedelta(days=2), "older")
    newest = nightly_backup(live, NIGHT, "newest")
    # ...and one newer still being created (moto makes every backup AVAILABLE)
    creating = nightly_backup(live, NIGHT + timedelta(days=1), "creating")
    dynamodb_backends["123456789012"]["us-east-1"].backups[creating].status = "CREATING"

    result = run_drill(live)

    assert result.backup_arn == newest
    assert result.passed, result.problems


def test_the_restore_is_billed_per_request_into_a_scratch_table(
    live: "DynamoDBClient",
) -> None:
    history(live)
    backup_arn = nightly_backup(live)

    with recorded_calls(live) as calls, freeze_time(DRILL):
        drill.start(live, SETTINGS, datetime.now(UTC))

    [restore] = [params for name, params in calls if name == "RestoreTableFromBackup"]
    assert restore == {
        "TargetTableName": f"{PREFIX}20260315T040000",
        "BackupArn": backup_arn,
        "BillingModeOverride": "PAY_PER_REQUEST",
    }


def test_the_drill_never_writes_to_the_live_table(live: "DynamoDBClient") -> None:
    closed = history(live)
    nightly_backup(live)
    add_to_rollup(live, closed[0], 2)  # drift: the failing path runs too
    before = scan_all(live)

    with recorded_calls(live) as calls:
        run_drill(live)

    on_live = {name for name, params in calls if params.get("TableName") == TABLE_NAME}
    assert on_live == {"ListBackups", "Query"}
    assert not {name for name, _ in calls} & WRITES - {"DeleteTable"}
    deleted = [params["TableName"] for name, params in calls if name == "DeleteTable"]
    assert all(table.startswith(PREFIX) for table in deleted)
    assert scan_all(live) == before


def test_the_declared_permissions_are_exactly_what_the_drill_calls_and_where(
    live: "DynamoDBClient",
) -> None:
    # Given: a leftover scratch table and drift, so every path runs
    closed = history(live)
    nightly_backup(live)
    with freeze_time(DRILL - timedelta(days=7)):
        drill.start(live, SETTINGS, datetime.now(UTC))
    add_to_rollup(live, closed[0], 2)

    live_arn = live.describe_table(TableName=TABLE_NAME)["Table"]["TableArn"]

    with recorded_calls(live) as calls:
        run_drill(live)

    # Then: each call is one the role is granted on what it names
    def granted(name: str, params: dict[str, Any]) -> tuple[str, ...]:
        if "BackupArn" in params:
            assert params["BackupArn"].startswith(f"{live_arn}/backup/")
            return drill_settings.LIVE_BACKUP_ACTIONS
        table = params.get("TableName")
        if table is None or name == "ListBackups":
            return drill_settings.ANY_RESOURCE_ACTIONS
        return (
            drill_settings.SCRATCH_TABLE_ACTIONS
            if table.startswith(PREFIX)
            else drill_settings.LIVE_ROLLUP_ACTIONS
        )

    assert [name for name, params in calls if f"dynamodb:{name}" not in granted(name, params)] == []
    declared = {
        *drill_settings.ANY_RESOURCE_ACTIONS,
        *drill_settings.LIVE_BACKUP_ACTIONS,
        *drill_settings.LIVE_ROLLUP_ACTIONS,
        *drill_settings.SCRATCH_TABLE_ACTIONS,
    }
    # Declared and never called by the drill itself: what the restore writes with.
    assert declared - {f"dynamodb:{name}" for name, _ in calls} == {
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }


def test_without_a_backup_the_drill_fails_clearly(live: "DynamoDBClient") -> None:
    history(live)

    with freeze_time(DRILL):
        started = drill.start(live, SETTINGS, datetime.now(UTC))
    verified = drill.verify(live, SETTINGS)

    assert not started.passed
    assert started.problems == [
        f"no AVAILABLE backup of {TABLE_NAME} to restore: the nightly backup is not "
        "being taken (a new environment takes its first as it deploys)"
    ]
    assert not verified.passed
    assert "the start phase restored nothing" in verified.problems[0]


def restore_never_finishes(client: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch) -> None:
    """DescribeTable shows scratch tables CREATING, and DeleteTable refuses them, as
    DynamoDB does while a restore runs."""
    describe, delete = client.describe_table, client.delete_table

    def describe_table(**params: Any) -> Any:
        answer = describe(**params)
        if params["TableName"].startswith(PREFIX):
            answer["Table"]["TableStatus"] = "CREATING"
        return answer

    def delete_table(**params: Any) -> Any:
        if params["TableName"].startswith(PREFIX):
            raise client.exceptions.ResourceInUseException(
                {"Error": {"Code": "ResourceInUseException", "Message": "in use"}}, "DeleteTable"
            )
        return delete(**params)

    monkeypatch.setattr(client, "describe_table", describe_table)
    monkeypatch.setattr(client, "delete_table", delete_table)


def test_a_restore_still_running_when_time_is_up_fails_and_is_left_to_the_next_start(
    live: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch
) -> None:
    history(live)
    nightly_backup(live)
    with freeze_time(DRILL):
        drill.start(live, SETTINGS, datetime.now(UTC))
    restore_never_finishes(live, monkeypatch)

    # When: verify runs with no time to wait beyond one look
    with freeze_time(DRILL + timedelta(minutes=30)):
        result = drill.verify(live, SETTINGS, seconds_left=lambda: 60.0)

    assert not result.passed
    assert result.problems == [
        f"{PREFIX}20260315T040000 is still CREATING 1800 s after the restore began",
        f"scratch table {PREFIX}20260315T040000 is still being created and cannot be "
        "deleted yet: the next start phase deletes it",
    ]
    # ...and the next start, which cannot delete it either, restores nothing more
    with freeze_time(DRILL + timedelta(days=7)):
        again = drill.start(live, SETTINGS, datetime.now(UTC))
    assert not again.passed
    assert again.scratch_table == ""
    assert len(scratch_tables(live)) == 1


def test_the_time_to_restore_is_measured_from_the_scratch_tables_creation(
    live: "DynamoDBClient",
) -> None:
    history(live)
    nightly_backup(live)

    result = run_drill(live)

    # The table was ACTIVE when verify first looked, an hour after start: a bound.
    assert result.seconds_to_restore == 3600
    assert result.restore_time_exact is False


def invoke(client: "DynamoDBClient", phase: str) -> dict[str, Any]:
    """One scheduled invocation of the drill function, as deployed."""
    handler = drill_handler.make_handler(client, SETTINGS)
    result: dict[str, Any] = handler({"phase": phase}, LambdaContext.timeless())
    return result


def test_the_lambda_publishes_the_outcome_as_metrics_and_a_log_line(
    live: "DynamoDBClient", capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    closed = history(live)
    nightly_backup(live)
    add_to_rollup(live, closed[0], 9)
    capsys.readouterr()

    with freeze_time(DRILL):
        started = invoke(live, "start")
    with freeze_time(DRILL + timedelta(hours=1)):
        verified = invoke(live, "verify")

    out = capsys.readouterr().out
    assert started["passed"] is True
    assert verified["passed"] is False
    assert verified["days_drifted"] == [closed[0].isoformat()]
    assert metric_values(out, "DrillFailed") == [0, 1]
    assert metric_values(out, "DrillPassed") == [0]
    assert metric_values(out, "DrillDaysChecked") == [3]
    assert metric_values(out, "DrillDaysDrifted") == [1]
    assert metric_values(out, "DrillSecondsToRestore") == [3600]
    # ...and one log line (the tests log from WARNING: the passed start's is INFO)
    [log] = [r for r in caplog.records if hasattr(r, "drill")]
    assert (log.levelname, log.message) == ("ERROR", "restore drill verify")
    assert log.drill == verified
    assert len(emitted(out)) == 2  # one flush per invocation


def test_an_event_without_a_known_phase_fails_the_invocation(live: "DynamoDBClient") -> None:
    with pytest.raises(ValueError, match="unknown drill phase"):
        invoke(live, "restore")


def test_the_command_runs_both_phases_and_prints_the_result_last(
    live: "DynamoDBClient", capsys: pytest.CaptureFixture[str]
) -> None:
    closed = history(live)
    nightly_backup(live)

    status = drill.main(["--phase", "both", "--window-days", "3"])

    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert status == 0
    assert last["passed"] is True
    assert last["days_checked"] == len([d for d in closed if d >= BACKUP_DAY - timedelta(days=3)])
    assert last["days_drifted"] == []
    assert scratch_tables(live) == []


@pytest.mark.parametrize(
    ("table", "window", "message"),
    [
        (TABLE_NAME, 0, "DRILL_WINDOW_DAYS must be at least 1, not 0"),
        ("t" * 240, 35, "too long for a scratch table name"),
    ],
)
def test_settings_that_cannot_work_fail_at_start_up(table: str, window: int, message: str) -> None:
    with pytest.raises(MissingSetting, match=message):
        DrillSettings(table, window)


def test_the_window_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_WINDOW_DAYS", "12")
    assert DrillSettings.from_env() == DrillSettings(TABLE_NAME, 12)
    monkeypatch.delenv("DRILL_WINDOW_DAYS")
    assert DrillSettings.from_env().window_days == 35
    monkeypatch.setenv("DRILL_WINDOW_DAYS", "weekly")
    with pytest.raises(MissingSetting, match="must be an integer"):
        DrillSettings.from_env()
