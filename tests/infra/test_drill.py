"""The weekly restore drill: its two schedules, its function's settings and timeout,
and its role's permissions, scoped to this table's backups, its scratch tables and
the live table's rollups; none of it in an environment with the drill off. (Its
alarm and dashboard: test_observability.py.)"""

import json
from typing import Any

import pytest

from backup.drill_settings import (
    ANY_RESOURCE_ACTIONS,
    LIVE_BACKUP_ACTIONS,
    LIVE_ROLLUP_ACTIONS,
    SCRATCH_TABLE_ACTIONS,
)
from infra.environments import SettingsError
from infra.topology import DRILL_START_SCHEDULE, DRILL_VERIFY_SCHEDULE, RESTORE_DRILL
from tests.support.synth import Synth, statements_of, synth_with

TABLE_ARN = {"Fn::GetAtt": ["SubmissionsTable", "Arn"]}
BACKUPS = {"Fn::Join": ["", [TABLE_ARN, "/backup/*"]]}
SCRATCH_TABLES = {"Fn::Join": ["", [TABLE_ARN, "-drill-*"]]}
# Every key the Query names is a rollup's, and it names one (a Scan names none).
ROLLUPS_ONLY = {
    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ROLLUP#*"]},
    "Null": {"dynamodb:LeadingKeys": "false"},
}


def drill_function(synth: Synth) -> tuple[str, dict[str, Any]]:
    logical_id, resource = synth.one(
        "AWS::Lambda::Function", lambda p: p.get("Handler") == RESTORE_DRILL.handler
    )
    return str(logical_id), resource["Properties"]


def drill_schedules(synth: Synth) -> dict[str, dict[str, Any]]:
    """The schedules that invoke the drill function, by their input's phase."""
    function_id, _ = drill_function(synth)
    return {
        json.loads(p["Target"]["Input"])["phase"]: p
        for p in (s["Properties"] for s in synth.of_type("AWS::Scheduler::Schedule").values())
        if p["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    }


def role_statements(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in statements_of(policy["Properties"]["PolicyDocument"])
    ]


def test_two_weekly_schedules_invoke_the_drill_with_its_phases(dev: Synth) -> None:
    schedules = drill_schedules(dev)
    assert set(schedules) == {"start", "verify"}
    for phase, declared in (("start", DRILL_START_SCHEDULE), ("verify", DRILL_VERIFY_SCHEDULE)):
        props = schedules[phase]
        assert props["ScheduleExpression"] == declared.cron
        assert props["ScheduleExpressionTimezone"] == "Etc/UTC"
        assert props["Target"]["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": declared.max_event_age_seconds,
            "MaximumRetryAttempts": declared.retry_attempts,
        }
        dlq = props["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert dev.resources[dlq]["Type"] == "AWS::SQS::Queue"
    # weekly: one day of the week, the verify phase after the start
    assert DRILL_START_SCHEDULE.cron == "cron(0 5 ? * SUN *)"
    assert DRILL_VERIFY_SCHEDULE.cron == "cron(0 6 ? * SUN *)"


def test_the_drill_schedules_role_invokes_the_drill_function_only(dev: Synth) -> None:
    function_id, _ = drill_function(dev)
    [role_id] = {p["Target"]["RoleArn"]["Fn::GetAtt"][0] for p in drill_schedules(dev).values()}
    trust = statements_of(dev.resources[role_id]["Properties"]["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
    by_action = {s["Action"]: s["Resource"] for s in role_statements(dev, role_id)}
    dead_letters = drill_schedules(dev)["start"]["Target"]["DeadLetterConfig"]["Arn"]
    assert by_action == {
        "lambda:InvokeFunction": [
            {"Fn::GetAtt": [function_id, "Arn"]},
            {"Fn::Join": ["", [{"Fn::GetAtt": [function_id, "Arn"]}, ":*"]]},
        ],
        "sqs:SendMessage": dead_letters,
    }


def test_the_drill_function_waits_as_long_as_lambda_allows_with_its_window(
    dev: Synth, prod: Synth
) -> None:
    for synth in (dev, prod):
        _, props = drill_function(synth)
        assert props["Timeout"] == 900
        variables = props["Environment"]["Variables"]
        assert variables["TABLE_NAME"] == {"Ref": "SubmissionsTable"}
        assert variables["DRILL_WINDOW_DAYS"] == "35"
        assert variables["FUNCTION_TIMEOUT_SECONDS"] == "900"


def test_the_drill_role_restores_this_tables_backups_into_scratch_tables_only(
    dev: Synth,
) -> None:
    """AWS (backup and restore IAM): RestoreTableFromBackup is authorized on the backup
    and needs the item-writing actions on the target table; the drill's target is
    `<table>-drill-*`, and on the live table it may only read rollups."""
    _, props = drill_function(dev)
    granted: dict[str, list[tuple[str, str]]] = {}
    for statement in role_statements(dev, props["Role"]["Fn::GetAtt"][0]):
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            if action.startswith("dynamodb:"):
                resource = json.dumps(statement["Resource"], sort_keys=True)
                condition = json.dumps(statement.get("Condition"), sort_keys=True)
                granted.setdefault(action, []).append((resource, condition))

    def on(resource: Any, condition: Any = None) -> tuple[str, str]:
        return json.dumps(resource, sort_keys=True), json.dumps(condition, sort_keys=True)

    for action in ANY_RESOURCE_ACTIONS:
        assert granted.pop(action) == [on("*")]
    for action in set(LIVE_BACKUP_ACTIONS) - set(SCRATCH_TABLE_ACTIONS):
        assert granted.pop(action) == [on(BACKUPS)]
    assert LIVE_ROLLUP_ACTIONS == ("dynamodb:Query",)
    for action in SCRATCH_TABLE_ACTIONS:
        expected = [on(SCRATCH_TABLES)]
        if action in LIVE_ROLLUP_ACTIONS:
            expected.append(on(TABLE_ARN, ROLLUPS_ONLY))
        if action in LIVE_BACKUP_ACTIONS:  # the restore: from the backup, into the scratch
            expected.append(on(BACKUPS))
        assert sorted(granted.pop(action)) == sorted(expected)
    # nothing else: no action on the live table but Query of its rollups
    assert granted == {}
    assert "dynamodb:DeleteTable" in SCRATCH_TABLE_ACTIONS
    assert "dynamodb:PutItem" in SCRATCH_TABLE_ACTIONS


def test_an_environment_may_move_the_drill() -> None:
    moved = synth_with(
        "dev",
        restore_drill={
            "start_cron": "cron(0 1 ? * MON *)",
            "verify_cron": "cron(0 3 ? * MON *)",
            "window_days": 10,
        },
    )
    schedules = drill_schedules(moved)
    assert schedules["start"]["ScheduleExpression"] == "cron(0 1 ? * MON *)"
    assert schedules["verify"]["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert drill_function(moved)[1]["Environment"]["Variables"]["DRILL_WINDOW_DAYS"] == "10"


def test_an_environment_with_the_drill_off_has_no_drill() -> None:
    synth = synth_with("dev", restore_drill=False)
    functions = synth.of_type("AWS::Lambda::Function").values()
    handlers = [p["Properties"]["Handler"] for p in functions]
    assert RESTORE_DRILL.handler not in handlers
    # only the nightly backup's schedule is left
    assert len(synth.of_type("AWS::Scheduler::Schedule")) == 1


@pytest.mark.parametrize(
    "value",
    [
        {"window_days": 0},
        {"start_cron": "rate(7 days)"},
        {"verify_cron": DRILL_START_SCHEDULE.cron},
        {"unknown": 1},
        "weekly",
    ],
)
def test_a_wrong_drill_setting_is_refused(value: Any) -> None:
    with pytest.raises(SettingsError, match="restore_drill"):
        synth_with("dev", restore_drill=value)
