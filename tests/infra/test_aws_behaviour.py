"""What AWS does with the synthesized templates, one documented behaviour per test.

Each test names the AWS behaviour it encodes (issue 13): CDK accepts every one of
these templates, cfn-lint and cdk-nag pass them, and AWS would still not do what
the app needs. The assertions read the template as the service would.
"""

import fnmatch
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.conftest import Synth


def statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def services_of(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    return as_list(principal.get("Service", [])) if isinstance(principal, dict) else []


# ---- 1. A TopicPolicy replaces the topic's default policy --------------------------


def topic_policy(synth: Synth, topic_id: str) -> list[dict[str, Any]]:
    [policy] = [
        p["Properties"]
        for p in synth.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    return statements_of(policy["PolicyDocument"])


def publishers_of(synth: Synth, topic_id: str) -> set[str]:
    """Every AWS service that this template makes publish to the topic."""
    principals = set()
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        actions = alarm["Properties"].get("AlarmActions", []) + alarm["Properties"].get(
            "OKActions", []
        )
        if {"Ref": topic_id} in actions:
            principals.add("cloudwatch.amazonaws.com")
    for budget in synth.of_type("AWS::Budgets::Budget").values():
        for notification in budget["Properties"]["NotificationsWithSubscribers"]:
            for subscriber in notification["Subscribers"]:
                if subscriber["SubscriptionType"] == "SNS" and subscriber["Address"] == {
                    "Ref": topic_id
                }:
                    principals.add("budgets.amazonaws.com")
    return principals


def test_sns_topic_policy_replaces_the_default_so_it_must_allow_every_publisher(
    dev: Synth, prod: Synth
) -> None:
    """AWS: an AWS::SNS::TopicPolicy replaces the topic's default access policy (the one
    that lets the owner account's services publish). Every service that targets the
    topic (CloudWatch alarm actions, Budgets notifications) must then be allowed
    `SNS:Publish` by the topic policy, or its notifications fail with
    "not authorized to perform SNS:Publish"; each allow is scoped to this account
    (aws:SourceAccount) as AWS recommends against the confused deputy."""
    for synth in (dev, prod):
        topic_id, _ = synth.one("AWS::SNS::Topic")
        statements = topic_policy(synth, topic_id)
        publishers = publishers_of(synth, topic_id)
        assert publishers == {"cloudwatch.amazonaws.com", "budgets.amazonaws.com"}
        for service in publishers:
            allows = [
                s
                for s in statements
                if s["Effect"] == "Allow"
                and service in services_of(s)
                and "sns:Publish" in as_list(s["Action"])
            ]
            assert allows, f"{service} may not publish to the alarm topic"
            for allow in allows:
                assert allow["Resource"] == {"Ref": topic_id}
                conditions = allow["Condition"]
                assert conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        [cloudwatch] = [s for s in statements if "cloudwatch.amazonaws.com" in services_of(s)]
        source_arn = json.dumps(cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"])
        assert ":cloudwatch:" in source_arn
        assert ":alarm:*" in source_arn
        # The SSL-only deny stays: it never denies a service's (TLS) publish.
        assert any(s["Effect"] == "Deny" for s in statements)


# ---- 2. API Gateway metrics are keyed by API name (and stage) ---------------------


def metric_keys(synth: Synth) -> Iterator[tuple[str, str, str]]:
    """(namespace, metric, dimensions) of every alarm metric; a Ref or GetAtt is
    qualified by the stack, since it names a resource of that stack only."""
    stack = synth.stack.stack_name

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        return f"{stack}:{json.dumps(value, sort_keys=True)}"

    def key(namespace: str, name: str, dimensions: list[dict[str, Any]]) -> tuple[str, str, str]:
        dims = sorted((d["Name"], resolve(d["Value"])) for d in dimensions)
        return namespace, name, json.dumps(dims)

    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "MetricName" in props:
            yield key(props["Namespace"], props["MetricName"], props.get("Dimensions", []))
        for query in props.get("Metrics", []):
            stat = query.get("MetricStat")
            if stat:
                metric = stat["Metric"]
                yield key(metric["Namespace"], metric["MetricName"], metric.get("Dimensions", []))


def test_two_environments_never_alarm_on_the_same_metric(dev: Synth, prod: Synth) -> None:
    """AWS: a CloudWatch metric is identified by namespace, name and the full set of
    dimensions, and API Gateway publishes under `ApiName` (and `Stage`); two APIs of
    one name in an account and region, or custom metrics without an environment,
    share a metric. No metric of `dev` may be one of `prod`'s."""
    shared = set(metric_keys(dev)) & set(metric_keys(prod))
    assert not shared, f"dev and prod alarm on the same metrics: {sorted(shared)}"


def test_api_metrics_name_the_api_and_its_stage(dev: Synth, prod: Synth) -> None:
    """AWS: API Gateway's ApiName dimension is the RestApi's Name (CDK's default
    name is the construct id, `RestApi`, the same in every stack)."""
    for synth in (dev, prod):
        env = synth.stack.stack_name.split("-")[-1]
        _, api = synth.one("AWS::ApiGateway::RestApi")
        name = api["Properties"]["Name"]
        assert env in name
        stage_id, stage = synth.one("AWS::ApiGateway::Stage")
        assert stage["Properties"]["StageName"] == env
        stage_ref = f"{synth.stack.stack_name}:{json.dumps({'Ref': stage_id})}"
        api_metrics = [
            dims for namespace, _, dims in metric_keys(synth) if "ApiGateway" in namespace
        ]
        assert api_metrics
        for dims in api_metrics:
            assert dict(json.loads(dims)) == {"ApiName": name, "Stage": stage_ref}


# ---- 3. A stage serves the Deployment it points to ---------------------------------


def deployment_id(synth: Synth) -> str:
    [logical_id] = list(synth.of_type("AWS::ApiGateway::Deployment"))
    return logical_id


def test_a_changed_request_schema_makes_a_new_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS: a stage keeps serving the snapshot of its Deployment; CloudFormation only
    creates a new Deployment when the resource is replaced (a new logical ID). So a
    change to a request model, validator, method or gateway response must change the
    Deployment's logical ID, or the live API keeps validating with the old schema."""
    from infra import topology
    from infra.cloud import api

    before = deployment_id(Synth("dev"))

    [route] = [r for r in topology.ROUTES if r.body_schema]
    schema = json.loads(json.dumps(route.body_schema))
    schema["properties"]["number"]["maximum"] = 9
    changed = tuple(
        type(r)(**{**r.__dict__, "body_schema": schema}) if r is route else r
        for r in topology.ROUTES
    )
    monkeypatch.setattr(api, "ROUTES", changed)
    assert deployment_id(Synth("dev")) != before
    monkeypatch.undo()

    problems = {
        kind: (
            api.GatewayProblem(429, "Slow Down", '"Retry later."')
            if kind.response_type == "THROTTLED"
            else problem
        )
        for kind, problem in api.GATEWAY_PROBLEMS.items()
    }
    monkeypatch.setattr(api, "GATEWAY_PROBLEMS", problems)
    assert deployment_id(Synth("dev")) != before


# ---- 10. Least privilege: the backup function's calls, the scheduler's trust -------


def client_calls_of_backup_store() -> set[str]:
    """The DynamoDB operations BackupStore (all the nightly function uses) calls."""
    import ast

    from tests.infra.conftest import ROOT

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
    """IAM least privilege: the nightly function lists, creates and deletes backups;
    DescribeBackup is the operator's restore command's call, not the function's."""
    handler = "backup.handler.lambda_handler"
    _, fn = dev.one("AWS::Lambda::Function", lambda p: p.get("Handler") == handler)
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = set()
    for policy in dev.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in statements_of(policy["Properties"]["PolicyDocument"]):
                actions |= {a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")}
    expected = client_calls_of_backup_store()
    assert expected == {"dynamodb:ListBackups", "dynamodb:CreateBackup", "dynamodb:DeleteBackup"}
    assert actions == expected


def test_scheduler_role_trust_names_this_account_and_schedule_group(dev: Synth) -> None:
    """AWS (EventBridge Scheduler, confused deputy): the execution role's trust policy
    should require aws:SourceAccount and aws:SourceArn (the schedule group's ARN)."""
    _, schedule = dev.one("AWS::Scheduler::Schedule")
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    trust = dev.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = statements_of(trust)
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    conditions = statement["Condition"]
    assert conditions["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    group = schedule["Properties"].get("GroupName", "default")
    source_arn = json.dumps(conditions["ArnEquals"]["aws:SourceArn"])
    assert f":schedule-group/{group}" in source_arn


# ---- 11. One alert per address; deploying needs no browser -------------------------


def test_budget_alerts_reach_each_address_once(dev: Synth) -> None:
    """AWS Budgets notifies every subscriber of a notification: with the alarm topic
    (whose e-mail subscription forwards it) and the same address as a direct EMAIL
    subscriber, every budget alert arrives twice."""
    topic_id, _ = dev.one("AWS::SNS::Topic")
    emails_via_topic = {
        s["Properties"]["Endpoint"]
        for s in dev.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
        and s["Properties"]["Protocol"] == "email"
    }
    assert emails_via_topic
    _, budget = dev.one("AWS::Budgets::Budget")
    for notification in budget["Properties"]["NotificationsWithSubscribers"]:
        subscribers = notification["Subscribers"]
        assert {"SubscriptionType": "SNS", "Address": {"Ref": topic_id}} in subscribers
        direct = {s["Address"] for s in subscribers if s["SubscriptionType"] == "EMAIL"}
        assert not direct & emails_via_topic


@pytest.mark.parametrize("target", ["deploy", "diff", "destroy", "bootstrap", "deploy-account"])
def test_deploying_needs_no_browser(target: str) -> None:
    """`make deploy` (CI's deploy job too) needs the CDK app and CLI, not Chromium:
    no recipe it would run installs a browser."""
    import subprocess

    from tests.infra.conftest import ROOT

    result = subprocess.run(
        ["make", "--dry-run", "--always-make", target, "ENV=dev", "GITHUB=o/r"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "chromium" not in result.stdout.lower()
    assert "apt-get" not in result.stdout
