"""Every function: runtime, architecture, layer, tracing, logging, its own role."""

import ast
import fnmatch
import importlib.metadata
from datetime import date
from pathlib import Path
from typing import Any

from infra.cloud.functions import (
    LOCK_FILE,
    locked_powertools_version,
    powertools_layer_parameter,
)
from infra.topology import FUNCTIONS
from shared.rollups import rollup_partition
from shared.submissions import submission_key
from tests.support.synth import ROOT, Synth


def function_of(synth: Synth, name: str) -> tuple[str, dict[str, Any]]:
    handler = next(f.handler for f in FUNCTIONS if f.name == name)
    logical_id, resource = synth.one("AWS::Lambda::Function", lambda p: p.get("Handler") == handler)
    return logical_id, resource["Properties"]


def role_statements(synth: Synth, role_ref: dict[str, Any]) -> list[dict[str, Any]]:
    statements = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_ref["Fn::GetAtt"][0]} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def test_the_layer_version_follows_the_lock_file() -> None:
    # The lock, the installed package (what the tests run) and the layer agree.
    locked = locked_powertools_version()
    assert locked == importlib.metadata.version("aws-lambda-powertools")
    assert f'name = "aws-lambda-powertools"\nversion = "{locked}"' in LOCK_FILE.read_text()
    assert powertools_layer_parameter(locked) == (
        f"/aws/service/powertools/python/arm64/python3.14/{locked}"
    )


def test_every_topology_function_is_deployed_once(dev: Synth) -> None:
    handlers = sorted(
        p["Properties"]["Handler"]
        for p in dev.of_type("AWS::Lambda::Function").values()
        if p["Properties"].get("Handler", "").count(".") == 2
        and p["Properties"]["Handler"] != "index.handler"
    )
    assert handlers == sorted(f.handler for f in FUNCTIONS)


def test_functions_share_runtime_architecture_tracing_logging_and_layer(dev: Synth) -> None:
    parameter = powertools_layer_parameter(locked_powertools_version())
    layer_params = [k for k, v in dev.json["Parameters"].items() if v.get("Default") == parameter]
    assert layer_params, "the Powertools layer must come from the public SSM parameter"
    for spec in FUNCTIONS:
        _, props = function_of(dev, spec.name)
        assert props["Runtime"] == "python3.14"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Layers"] == [{"Ref": layer_params[0]}]
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_seconds
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == spec.service
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "PickANumber/dev"
        assert env["TABLE_NAME"] == {"Ref": "SubmissionsTable"}


def test_each_function_has_its_own_log_group_with_the_retention_setting(
    dev: Synth, prod: Synth
) -> None:
    for synth, days in ((dev, 14), (prod, 90)):
        groups = synth.of_type("AWS::Logs::LogGroup")
        for spec in FUNCTIONS:
            _, props = function_of(synth, spec.name)
            group = props["LoggingConfig"]["LogGroup"]["Ref"]
            assert groups[group]["Properties"]["RetentionInDays"] == days


def test_each_function_has_its_own_role_without_managed_policies(dev: Synth) -> None:
    roles = [function_of(dev, spec.name)[1]["Role"]["Fn::GetAtt"][0] for spec in FUNCTIONS]
    assert len(set(roles)) == len(FUNCTIONS)
    for role in roles:
        assert "ManagedPolicyArns" not in dev.resources[role]["Properties"]


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    found = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in actions if isinstance(actions, list) else [actions]:
            for resource in resources if isinstance(resources, list) else [resources]:
                found.add((action, str(resource)))
    return found


TABLE_ARN = str({"Fn::GetAtt": ["SubmissionsTable", "Arn"]})
XRAY = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}


def _app_grants(synth: Synth, name: str) -> set[tuple[str, str]]:
    _, props = function_of(synth, name)
    grants = _grants(role_statements(synth, props["Role"]))
    logs = {g for g in grants if g[0].startswith("logs:")}
    own_group = str({"Fn::GetAtt": [props["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]})
    assert logs == {("logs:CreateLogStream", own_group), ("logs:PutLogEvents", own_group)}
    return grants - logs - XRAY


def test_submit_number_may_only_put_items_in_the_table(dev: Synth) -> None:
    assert _app_grants(dev, "SubmitNumber") == {("dynamodb:PutItem", TABLE_ARN)}


def test_daily_stats_may_only_query_the_table(dev: Synth) -> None:
    assert _app_grants(dev, "DailyStats") == {("dynamodb:Query", TABLE_ARN)}


def test_aggregator_may_only_update_items_read_the_stream_and_dead_letter(dev: Synth) -> None:
    stream = str({"Fn::GetAtt": ["SubmissionsTable", "StreamArn"]})
    grants = _app_grants(dev, "Aggregator")
    stream_dlq = dev.logical_id(dev.stack.data.stream_dlq)
    schedule_dlq = dev.logical_id(dev.stack.backup.dead_letters)
    assert stream_dlq != schedule_dlq
    # The stream's on-failure destination is its own queue, not the schedule's.
    _, mapping = dev.one("AWS::Lambda::EventSourceMapping")
    on_failure = mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert on_failure == {"Fn::GetAtt": [stream_dlq, "Arn"]}
    queues = {g for g in grants if g[0].startswith("sqs:")}
    assert {a for a, _ in queues} == {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert {r for _, r in queues} == {str({"Fn::GetAtt": [stream_dlq, "Arn"]})}
    assert grants - queues == {
        ("dynamodb:UpdateItem", TABLE_ARN),
        ("dynamodb:ListStreams", "*"),
        ("dynamodb:DescribeStream", stream),
        ("dynamodb:GetRecords", stream),
        ("dynamodb:GetShardIterator", stream),
    }


def test_backup_may_only_manage_backups_of_the_table(dev: Synth) -> None:
    backups = str({"Fn::Join": ["", [{"Fn::GetAtt": ["SubmissionsTable", "Arn"]}, "/backup/*"]]})
    # and hand a failed night to its dead-letter queue (its on-failure destination)
    dead_letters = str({"Fn::GetAtt": [dev.logical_id(dev.stack.backup.dead_letters), "Arn"]})
    assert _app_grants(dev, "Backup") == {
        ("dynamodb:CreateBackup", TABLE_ARN),
        ("dynamodb:DeleteBackup", backups),
        ("dynamodb:ListBackups", "*"),
        ("sqs:SendMessage", dead_letters),
        ("sqs:GetQueueAttributes", dead_letters),
        ("sqs:GetQueueUrl", dead_letters),
    }


def _leading_keys(synth: Synth, name: str) -> dict[str, list[str] | None]:
    """Each table-item action of the function: the partition key patterns its statement
    allows (None: no LeadingKeys condition)."""
    _, props = function_of(synth, name)
    found: dict[str, list[str] | None] = {}
    for statement in role_statements(synth, props["Role"]):
        if statement["Resource"] != {"Fn::GetAtt": ["SubmissionsTable", "Arn"]}:
            continue
        condition = statement.get("Condition")
        patterns = None
        if condition is not None:
            assert condition["Null"] == {"dynamodb:LeadingKeys": "false"}
            patterns = condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            found[action] = patterns
    return found


def _may_touch(patterns: list[str] | None, partition_key: str) -> bool:
    """IAM's StringLike on one leading key (`*` any run, `?` one character)."""
    return patterns is None or any(fnmatch.fnmatchcase(partition_key, p) for p in patterns)


def test_each_function_touches_only_the_item_families_it_owns(dev: Synth) -> None:
    assert _leading_keys(dev, "SubmitNumber") == {"dynamodb:PutItem": ["SUB#*"]}
    assert _leading_keys(dev, "DailyStats") == {"dynamodb:Query": ["ROLLUP#*"]}
    # its transaction updates the markers on submissions and the rollups
    assert _leading_keys(dev, "Aggregator") == {"dynamodb:UpdateItem": ["SUB#*", "ROLLUP#*"]}
    # table-level actions: no item, so no LeadingKeys
    assert _leading_keys(dev, "Backup") == {"dynamodb:CreateBackup": None}


def test_ingest_cannot_forge_a_rollup_nor_stats_read_a_submission(dev: Synth) -> None:
    rollup, submission = rollup_partition(date(2026, 12, 7)), submission_key("0a1b")["pk"]["S"]
    [ingest] = _leading_keys(dev, "SubmitNumber").values()
    [stats] = _leading_keys(dev, "DailyStats").values()
    [aggregator] = _leading_keys(dev, "Aggregator").values()
    assert _may_touch(ingest, submission)
    assert not _may_touch(ingest, rollup)
    assert _may_touch(stats, rollup)
    assert not _may_touch(stats, submission)
    assert _may_touch(aggregator, rollup)
    assert _may_touch(aggregator, submission)
    assert not _may_touch(aggregator, "OTHER#1")


def test_function_packages_are_the_services_tree_without_tests_or_caches(dev: Synth) -> None:
    keys = {function_of(dev, spec.name)[1]["Code"]["S3Key"] for spec in FUNCTIONS}
    assert len(keys) == 1, "one package, shared by every function"
    assembly = Path(dev.app.synth().directory)
    packages = [p for p in assembly.glob("asset.*") if (p / "shared").is_dir()]
    assert len(packages) == 1
    names = {p.name for p in packages[0].rglob("*")}
    assert {"shared", "ingest", "stats", "backup", "handler.py"} <= names
    assert "__pycache__" not in names
    assert not any(n.endswith(".pyc") or n.startswith("test_") for n in names)


def client_calls_of_backup_store() -> set[str]:
    """The DynamoDB operations BackupStore (all the nightly function uses) calls."""
    tree = ast.parse((ROOT / "services" / "backup" / "backups.py").read_text())
    [store] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "BackupStore"]
    calls = set()
    for node in ast.walk(store):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and ast.unparse(func.value) == "self._client":
                name = func.attr
                if name == "get_paginator" and isinstance(node.args[0], ast.Constant):
                    name = str(node.args[0].value)
                calls.add("dynamodb:" + "".join(p.capitalize() for p in name.split("_")))
    return calls


def test_backup_role_allows_exactly_the_calls_of_the_nightly_function(dev: Synth) -> None:
    """IAM least privilege: the nightly function lists, creates and deletes backups
    (test_backup_may_only_manage_backups_of_the_table); DescribeBackup is the operator's
    restore command's call, not the function's. Its grants are the calls its code makes."""
    granted = {action for action, _ in _app_grants(dev, "Backup") if action.startswith("dynamodb:")}
    assert granted == client_calls_of_backup_store()


def test_every_function_knows_its_timeout_for_its_aws_clients(dev: Synth) -> None:
    """AWS: Lambda stops a function at its timeout (API Gateway then answers 502):
    shared/aws.py bounds botocore's retries below FUNCTION_TIMEOUT_SECONDS, which must
    be the function's own timeout, from the topology."""
    from shared.aws import TIMEOUT_VARIABLE

    for fn in dev.of_type("AWS::Lambda::Function").values():
        props = fn["Properties"]
        variables = props.get("Environment", {}).get("Variables", {})
        if "POWERTOOLS_SERVICE_NAME" in variables:  # the app's own functions
            assert variables[TIMEOUT_VARIABLE] == str(props["Timeout"])
