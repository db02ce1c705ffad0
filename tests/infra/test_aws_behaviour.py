"""What AWS does with the synthesized templates, one documented behaviour per test.

Each test names the AWS behaviour it encodes (issue 13): CDK accepts every one of
these templates, cfn-lint and cdk-nag pass them, and AWS would still not do what
the app needs. The assertions read the template as the service would.
"""

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from infra.topology import DAILY_STATS_ROUTE
from tests.support.synth import Synth


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
            # The Ref of a stage is its name; the release alarms (infra/cloud/release.py)
            # write the name itself, as a Ref there would be a dependency cycle.
            assert dict(json.loads(dims)) in (
                {"ApiName": name, "Stage": stage_ref},
                {"ApiName": name, "Stage": stage["Properties"]["StageName"]},
            )


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

    def with_route(changed: topology.Route) -> topology.Topology:
        routes = tuple(changed if r is route else r for r in topology.ROUTES)
        return replace(topology.TOPOLOGY, routes=routes)

    assert deployment_id(Synth("dev", with_route(replace(route, body_schema=schema)))) != before

    # a method: another request header declared on a route
    trace = topology.Header("X-Trace", "A trace id.", {"type": "string"})
    changed = with_route(replace(route, headers=(*route.headers, trace)))
    assert deployment_id(Synth("dev", changed)) != before

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

    from tests.support.synth import ROOT

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

    from tests.support.synth import ROOT

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


# ---- 12. Lambda kills a function at its timeout ------------------------------------


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


# ---- 9. A new environment has no backup yet ---------------------------------------


def test_a_new_environment_takes_its_first_backup_at_deployment(prod: Synth) -> None:
    """AWS (CloudWatch, TreatMissingData=breaching): with no datapoint in the whole
    evaluation range the alarm is in ALARM, so a fresh environment would page until
    its first nightly backup. The deployment takes that first backup (a trigger that
    runs the backup function once, on creation, not on every code change), and the
    alarm is created after it; missing data stays breaching, so a schedule that never
    invokes the function still alarms within 28 hours (test_aws_third_review.py)."""
    handler = "backup.handler.lambda_handler"
    backup_id, _ = prod.one("AWS::Lambda::Function", lambda p: p.get("Handler") == handler)
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
    props = alarm["Properties"]
    assert props["TreatMissingData"] == "breaching"
    assert props["Period"] * props["EvaluationPeriods"] <= 28 * 3600


# ---- 14. The always-free CloudWatch allowances at the seed's scale -----------------

FREE_ALARM_METRICS = 10  # standard-resolution alarm metrics per account, always free
FREE_DASHBOARDS = 3  # of up to 50 metrics each
FREE_CUSTOM_METRICS = 10


def test_dev_and_prod_alarms_fit_the_free_alarm_metrics(dev: Synth, prod: Synth) -> None:
    """AWS free tier: 10 standard alarm metrics per account, summed over dev and prod
    (and anything else in the account); composite alarms are $0.50 each, never free."""
    assert not dev.of_type("AWS::CloudWatch::CompositeAlarm")
    assert not prod.of_type("AWS::CloudWatch::CompositeAlarm")
    assert dev.alarm_metrics() + prod.alarm_metrics() <= FREE_ALARM_METRICS


def test_dashboards_fit_the_free_dashboards(dev: Synth, prod: Synth) -> None:
    """AWS free tier: 3 dashboards of up to 50 metrics each per account."""
    dashboards = [*dev.of_type("AWS::CloudWatch::Dashboard").values()]
    dashboards += [*prod.of_type("AWS::CloudWatch::Dashboard").values()]
    assert len(dashboards) <= FREE_DASHBOARDS
    for dashboard in dashboards:
        body = json.dumps(dashboard["Properties"]["DashboardBody"])
        assert body.count('\\"metrics\\"') <= 50


# Sent only in the hours the aggregator meets a transaction conflict or a throttled
# table (services/stats/aggregator.py); docs/COSTS.md prices them apart.
CONTENTION_METRICS = {"RollupConflicts", "RollupThrottles", "RollupRetries"}


def emitted_metric_names() -> set[str]:
    """Every metric name the functions pass to Powertools' add_metric: literal names,
    and the names of the (name, value) pairs a loop passes on."""
    import ast

    from tests.support.synth import ROOT

    names: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "capture_cold_start_metric":
                assert not (isinstance(node.value, ast.Constant) and node.value.value), path
            loop = isinstance(node, ast.For) and isinstance(node.iter, ast.Tuple)
            if loop and "add_metric" in ast.dump(node):
                names |= {
                    str(pair.elts[0].value)
                    for pair in node.iter.elts  # type: ignore[attr-defined]
                    if isinstance(pair, ast.Tuple) and isinstance(pair.elts[0], ast.Constant)
                }
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name":
                        names |= {
                            n.value
                            for n in ast.walk(keyword.value)
                            if isinstance(n, ast.Constant) and isinstance(n.value, str)
                        }
    names |= {"SubmissionAccepted", "SubmissionReplayed"}  # services/ingest/handler.py
    return names


def test_the_functions_emit_few_enough_custom_metrics_for_two_environments() -> None:
    """AWS free tier: 10 custom metrics (namespace + name + dimensions) per account.
    Each environment has its own namespace, so dev + prod emit twice the names one
    environment emits; Powertools' ColdStart metric (one more per API function) is
    off, Lambda's own Init Duration (in the REPORT log line) tells the same. The
    aggregator's contention metrics are sent only in the hours it meets contention,
    and billed by the hour: they are counted apart (docs/COSTS.md)."""
    names = emitted_metric_names()
    assert names >= CONTENTION_METRICS, sorted(names)
    assert 2 * len(names - CONTENTION_METRICS) <= FREE_CUSTOM_METRICS, sorted(names)


# ---- 5. Provisioned capacity bounds what the API may admit -------------------------


def test_method_throttles_follow_the_table_capacity(dev: Synth, prod: Synth) -> None:
    """AWS: a provisioned table sustains its WCU/RCU per second (burst credit covers
    300 s of unused capacity at most); past it, writes fail with
    ProvisionedThroughputExceeded (our 503) and the stream consumer falls behind. An
    accepted pick costs up to 5 write units (1 raw put + 2 marker + 2 rollup in a
    batch of one, bench/write_units.py); a daily-stats read of the longest range, 6.5
    read units (test_aws_review.py). So API Gateway's per-method rate must stay
    within capacity / cost."""
    from infra.capacity import WRITE_UNITS_PER_PICK, stats_request_read_units

    for synth in (dev, prod):
        _, table = synth.one("AWS::DynamoDB::Table")
        capacity = table["Properties"]["ProvisionedThroughput"]
        throttles = synth.method_throttles()
        submit = throttles[("POST", "/api/submit-number")]["ThrottlingRateLimit"]
        stats = throttles[("GET", "/api/daily-stats")]["ThrottlingRateLimit"]
        assert submit * WRITE_UNITS_PER_PICK <= capacity["WriteCapacityUnits"]
        assert stats * stats_request_read_units(1) <= capacity["ReadCapacityUnits"]


def test_synthesis_refuses_a_throttle_the_table_cannot_sustain() -> None:
    """The same rule at synthesis: the message names the numbers to change."""
    from infra.environments import EnvironmentSettings, SettingsError
    from infra.topology import SUBMIT_NUMBER_ROUTE, Route, Throttle

    def faster(route: Route, rate: float) -> dict[str, Throttle]:
        return {route.key: Throttle(rate_per_second=rate, burst=2)}

    with pytest.raises(SettingsError, match=r"POST /api/submit-number 10/s.*write_capacity"):
        EnvironmentSettings(name="dev", route_throttles=faster(SUBMIT_NUMBER_ROUTE, 10))
    with pytest.raises(SettingsError, match=r"GET /api/daily-stats 50/s.*read_capacity"):
        EnvironmentSettings(name="dev", route_throttles=faster(DAILY_STATS_ROUTE, 50))
    # On-demand tables scale with the traffic: any throttle is accepted.
    EnvironmentSettings(
        name="dev", billing_mode="PAY_PER_REQUEST", route_throttles=faster(SUBMIT_NUMBER_ROUTE, 100)
    )


# ---- 13. X-Ray records what the sampling rules say ---------------------------------

MONTH_SECONDS = 30 * 24 * 3600
FREE_TRACES = 100_000  # X-Ray traces recorded per month, always free
# 1M picks and 3M page views a month (docs/COSTS.md), with the web app's daily-stats
# calls at their most: 1M submissions + 7M stats requests.
API_REQUESTS_AT_SCALE = 1_000_000 + round(
    DAILY_STATS_ROUTE.web_calls.per_second(1_000_000, 3_000_000) * MONTH_SECONDS
)
STREAM_INVOCATIONS_AT_SCALE = 960_000  # aggregator invocations a month (docs/COSTS.md)


def test_prod_traces_stay_in_the_free_tier_at_a_million_picks(prod: Synth) -> None:
    """AWS X-Ray: API Gateway samples by the account's sampling rules (service name
    `<api name>/<stage>`) and Lambda follows the caller's decision; without a rule,
    the default (1 request/s + 5 %) traces nearly every request at 1.5 requests/s.
    Lambda's own sampling of stream-invoked functions (1/s + 5 %) is not
    configurable, so the aggregator traces only where its tracing setting says so."""
    [rule] = [
        r["Properties"]["SamplingRule"] for r in prod.of_type("AWS::XRay::SamplingRule").values()
    ]
    _, api = prod.one("AWS::ApiGateway::RestApi")
    _, stage = prod.one("AWS::ApiGateway::Stage")
    assert rule["ServiceName"] == f"{api['Properties']['Name']}/{stage['Properties']['StageName']}"
    assert rule["ServiceType"] == "AWS::ApiGateway::Stage"
    assert rule["FixedRate"] > 0  # a steady trickle, errors included, keeps being traced
    aggregator = prod.one(
        "AWS::Lambda::Function", lambda p: p.get("Handler") == "stats.aggregator.lambda_handler"
    )[1]["Properties"]
    stream_traces = (
        STREAM_INVOCATIONS_AT_SCALE if aggregator["TracingConfig"]["Mode"] == "Active" else 0
    )
    # the reservoir is up to that many requests each second, before the fixed rate
    reservoir = rule["ReservoirSize"] * MONTH_SECONDS
    traces = reservoir + API_REQUESTS_AT_SCALE * rule["FixedRate"] + stream_traces
    assert traces <= FREE_TRACES


def test_each_environment_has_its_own_sampling_rule(dev: Synth, prod: Synth) -> None:
    """X-Ray sampling rules are per account and region, named uniquely."""
    names = {
        r["Properties"]["SamplingRule"]["RuleName"]
        for synth in (dev, prod)
        for r in synth.of_type("AWS::XRay::SamplingRule").values()
    }
    assert len(names) == 2
    assert all(len(name) <= 32 for name in names)


# ---- 7. The origin key is a secret only if nobody can read it ----------------------


def test_the_cloudfront_origin_key_is_random_and_in_no_template_or_output(
    dev: Synth,
) -> None:
    """AWS: a stack id (arn:…:stack/<name>/<uuid>) is a time-based UUID that anyone
    with cloudformation:DescribeStacks reads, so an API key derived from it is no
    secret. An ApiKey without a Value gets a random one from API Gateway, which only
    apigateway:GET (includeValue) on that key reveals; CloudFront receives it as an
    origin header through a custom resource whose response is not logged."""
    _, key = dev.one("AWS::ApiGateway::ApiKey")
    assert "Value" not in key["Properties"]
    text = json.dumps(dev.json)
    assert "AWS::StackId" not in text
    _, distribution = dev.one("AWS::CloudFront::Distribution")
    [api_origin] = [
        o
        for o in distribution["Properties"]["DistributionConfig"]["Origins"]
        if o.get("OriginCustomHeaders")
    ]
    [header] = api_origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "x-api-key"
    reader_id = header["HeaderValue"]["Fn::GetAtt"][0]
    reader = dev.resources[reader_id]
    assert reader["Type"] == "Custom::OriginKey"
    create = json.dumps(reader["Properties"]["Create"])
    assert "getApiKey" in create or "GetApiKey" in create
    assert '\\"logApiResponseData\\":false' in create.replace(" ", "")
    # Outputs never carry it.
    for output in dev.json.get("Outputs", {}).values():
        assert reader_id not in json.dumps(output)


def test_raising_the_key_generation_rotates_the_origin_key(dev: Synth) -> None:
    """AWS CloudFormation: a new logical ID is a new resource, created before the old
    one is deleted (in the cleanup phase): a new random key, bound and sent by
    CloudFront before the old key disappears."""
    from tests.support.synth import cdk_json_context

    environments = json.loads(json.dumps(cdk_json_context()["pick-a-number:environments"]))
    environments["dev"]["origin_key_generation"] = 2
    rotated = Synth("dev", **{"pick-a-number:environments": environments})
    before, _ = dev.one("AWS::ApiGateway::ApiKey")
    after, _ = rotated.one("AWS::ApiGateway::ApiKey")
    assert before != after
