"""The nightly backup: its schedule, its function's settings, the first backup of a
new environment, and where a failed night goes (its alarm: test_observability.py)."""

import json
from typing import Any

from infra.topology import BACKUP, BACKUP_SCHEDULE
from tests.support.synth import Synth, as_list, statements_of, synth_with


def backup_function_id(synth: Synth) -> str:
    logical_id, _ = synth.one("AWS::Lambda::Function", lambda p: p.get("Handler") == BACKUP.handler)
    return str(logical_id)


def nightly_schedule(synth: Synth) -> dict[str, Any]:
    _, schedule = synth.one(
        "AWS::Scheduler::Schedule", lambda p: p["ScheduleExpression"] == BACKUP_SCHEDULE.cron
    )
    found: dict[str, Any] = schedule
    return found


def test_nightly_schedule_invokes_the_backup_function(dev: Synth) -> None:
    schedule = nightly_schedule(dev)
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == BACKUP_SCHEDULE.cron
    assert props["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert props["State"] == "ENABLED"
    target = props["Target"]
    function_id = target["Arn"]["Fn::GetAtt"][0]
    assert dev.resources[function_id]["Properties"]["Handler"] == BACKUP.handler
    assert target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": BACKUP_SCHEDULE.max_event_age_seconds,
        "MaximumRetryAttempts": BACKUP_SCHEDULE.retry_attempts,
    }
    dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert dev.resources[dlq]["Type"] == "AWS::SQS::Queue"
    # its role: the next test


def test_scheduler_role_trust_names_this_account_and_schedule_group(dev: Synth) -> None:
    """AWS (EventBridge Scheduler, confused deputy): the execution role's trust policy
    should require aws:SourceAccount and aws:SourceArn (the schedule group's ARN)."""
    schedule = nightly_schedule(dev)
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = dev.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = statements_of(trust)
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    conditions = statement["Condition"]
    assert conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    group = schedule["Properties"].get("GroupName", "default")
    source_arn = json.dumps(conditions["ArnEquals"]["aws:SourceArn"])
    assert f":schedule-group/{group}" in source_arn


def test_backup_function_settings(dev: Synth, prod: Synth) -> None:
    for synth, days, keep, weekly, monthly in ((dev, 7, 3, 0, 0), (prod, 7, 7, 5, 12)):
        env = synth.resources[backup_function_id(synth)]["Properties"]["Environment"]["Variables"]
        assert env["TABLE_NAME"] == {"Ref": "SubmissionsTable"}
        assert env["BACKUP_RETENTION_DAYS"] == str(days)
        assert env["BACKUP_MIN_KEEP"] == str(keep)
        assert env["BACKUP_KEEP_WEEKLY"] == str(weekly)
        assert env["BACKUP_KEEP_MONTHLY"] == str(monthly)


def test_a_failed_nightly_backup_lands_in_an_encrypted_alarmed_queue() -> None:
    """AWS: EventBridge Scheduler invokes a Lambda function asynchronously; once Lambda
    has queued the event, the schedule's dead-letter queue never hears of the function
    failing, and after Lambda's async retries (2 by default) the event is discarded
    unless the function's EventInvokeConfig names an on-failure destination. It must:
    an SQS queue, encrypted and SSL-only, with an alarm on its depth."""
    full = synth_with("prod", alarms="full")
    function_id = backup_function_id(full)
    schedule = nightly_schedule(full)
    # The schedule calls the function unqualified: $LATEST, whose config applies.
    assert schedule["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    _, config = full.one(
        "AWS::Lambda::EventInvokeConfig",
        lambda p: p["FunctionName"] == {"Ref": function_id},
    )
    assert config["Properties"]["Qualifier"] == "$LATEST"
    destination = config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id, attribute = destination["Fn::GetAtt"]
    assert (full.resources[queue_id]["Type"], attribute) == ("AWS::SQS::Queue", "Arn")
    assert full.resources[queue_id]["Properties"]["SqsManagedSseEnabled"] is True
    [policy] = [
        p["Properties"]["PolicyDocument"]
        for p in full.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )
    # The function's own role sends the failed event (Lambda uses the execution role).
    role_id = full.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    sends = [
        s
        for p in full.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in s["Action"]
    ]
    assert [s["Resource"] for s in sends] == [destination]
    depth = [
        a["Properties"]
        for a in full.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
    ]
    [alarm] = depth
    assert alarm["Threshold"] == 1


def test_a_new_environment_takes_its_first_backup_at_deployment(prod: Synth) -> None:
    """AWS (CloudWatch, TreatMissingData=breaching): with no datapoint in the whole
    evaluation range the alarm is in ALARM, so a fresh environment would page until
    its first nightly backup. The deployment takes that first backup (a trigger that
    runs the backup function once, on creation, not on every code change), and the
    alarm is created after it; missing data stays breaching, so a schedule that never
    invokes the function still alarms within 28 hours (test_observability.py)."""
    backup_id = backup_function_id(prod)
    [(trigger_id, trigger)] = [
        (k, v) for k, v in prod.resources.items() if v["Type"] == "Custom::Trigger"
    ]
    [version_id] = [
        k
        for k, v in prod.of_type("AWS::Lambda::Version").items()
        if v["Properties"]["FunctionName"] == {"Ref": backup_id}
    ]
    assert trigger["Properties"]["HandlerArn"] == {"Ref": version_id}
    # executes once, on create (not again for every change of the code)
    assert trigger["Properties"]["ExecuteOnHandlerChange"] is False
    [(_, alarm)] = [
        (k, v)
        for k, v in prod.of_type("AWS::CloudWatch::Alarm").items()
        if v["Properties"].get("MetricName") == "BackupCreated"
    ]
    assert trigger_id in as_list(alarm.get("DependsOn", []))
