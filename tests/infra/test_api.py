"""The REST API: routes from the topology, validation, throttling (priced against the
table), errors, its deployments, stage logs and the origin key.

A test that encodes a documented AWS behaviour names it in its docstring."""

import json
from dataclasses import replace
from typing import Any

import pytest

from infra.capacity import SECONDS_PER_MONTH, WRITE_UNITS_PER_PICK
from infra.cloud.api import (
    ACCESS_LOG_FIELDS,
    DEFAULT_MODEL_CONTENT_TYPE,
    GATEWAY_PROBLEMS,
    VALIDATION_ERRORS,
)
from infra.topology import DAILY_STATS_ROUTE, ROUTES
from shared.http import PROBLEM_CONTENT_TYPE, Problem
from tests.contract.client import names
from tests.contract.differences import MODEL_VALIDATOR_DETAIL_PREFIX
from tests.support.synth import DESIGN_PAGE_VIEWS, DESIGN_PICKS, Synth, synth_with


def resource_paths(synth: Synth) -> dict[str, str]:
    """Logical ID of each API Gateway resource -> its full path."""
    resources = synth.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        props = resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
        return f"{prefix}/{props['PathPart']}"

    for logical_id in resources:
        paths[logical_id] = path_of(logical_id)
    return paths


def methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    paths = resource_paths(synth)
    return {
        (m["Properties"]["HttpMethod"], paths[m["Properties"]["ResourceId"]["Ref"]]): m[
            "Properties"
        ]
        for m in synth.of_type("AWS::ApiGateway::Method").values()
    }


def test_regional_api_without_the_account_level_cloudwatch_role(dev: Synth) -> None:
    _, api = dev.one("AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert api["Properties"]["ApiKeySourceType"] == "HEADER"  # pragma: allowlist secret
    assert "Name" in api["Properties"]
    assert not dev.of_type("AWS::ApiGateway::Account")


def test_every_topology_route_and_nothing_else(dev: Synth) -> None:
    routes = {(r.method, r.path) for r in ROUTES}
    fallbacks = {("ANY", r.path) for r in ROUTES}
    assert set(methods(dev)) == routes | fallbacks


def test_another_method_on_a_route_answers_405_with_allow_and_no_function(dev: Synth) -> None:
    found = methods(dev)
    for route in ROUTES:
        allow = ", ".join(sorted(r.method for r in ROUTES if r.path == route.path))
        assert route.method in allow.split(", ")
        fallback = found[("ANY", route.path)]
        # Same resource as the route's own method, which API Gateway prefers over ANY.
        assert fallback["ResourceId"] == found[(route.method, route.path)]["ResourceId"]
        # Like every other method: without CloudFront's key a direct call gets 403.
        assert fallback["ApiKeyRequired"] is True
        integration = fallback["Integration"]
        assert integration["Type"] == "MOCK"
        assert "Uri" not in integration
        [response] = integration["IntegrationResponses"]
        assert response["StatusCode"] == "405"
        assert "SelectionPattern" not in response  # the default: whatever the mock says
        headers = response["ResponseParameters"]
        assert headers["method.response.header.Allow"] == f"'{allow}'"
        assert headers["method.response.header.Content-Type"] == f"'{PROBLEM_CONTENT_TYPE}'"
        [method_response] = fallback["MethodResponses"]
        assert method_response["StatusCode"] == "405"
        assert set(method_response["ResponseParameters"]) == set(headers)
        body = json.loads(
            response["ResponseTemplates"]["application/json"].replace(
                "$context.httpMethod", "DELETE"
            )
        )
        # The shape services/shared/http.py gives every problem (and the local stack's 405).
        expected = Problem(405, "Method Not Allowed", f"{route.path} does not support DELETE.")
        assert body == expected.as_json()


def test_every_method_requires_the_cloudfront_key_and_calls_its_function(dev: Synth) -> None:
    found = methods(dev)
    for route in ROUTES:
        method = found[(route.method, route.path)]
        assert method["ApiKeyRequired"] is True
        assert method["AuthorizationType"] == "NONE"
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        # It calls the function's `live` alias (test_release.py: what a release moves).
        function_id = dev.live_alias_function(integration["Uri"])
        assert dev.resources[function_id]["Properties"]["Handler"] == route.function.handler


def test_request_bodies_are_validated_with_the_shared_schemas(dev: Synth) -> None:
    found = methods(dev)
    models = dev.of_type("AWS::ApiGateway::Model")
    validators = dev.of_type("AWS::ApiGateway::RequestValidator")
    for route in ROUTES:
        method = found[(route.method, route.path)]
        validator = validators[method["RequestValidatorId"]["Ref"]]["Properties"]
        assert validator["ValidateRequestParameters"] is True
        if route.body_schema:
            assert validator["ValidateRequestBody"] is True
            model_id = method["RequestModels"]["application/json"]["Ref"]
            # A body of any other media type is held to the same schema at the edge
            # (API Gateway validates no body whose type has no model).
            assert method["RequestModels"] == {
                "application/json": {"Ref": model_id},
                DEFAULT_MODEL_CONTENT_TYPE: {"Ref": model_id},
            }
            schema = models[model_id]["Properties"]["Schema"]
            assert schema == route.body_schema
            assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
            assert schema["additionalProperties"] is False
        else:
            assert "RequestModels" not in method


def test_query_and_header_parameters_are_declared(dev: Synth) -> None:
    found = methods(dev)
    for route in ROUTES:
        params = found[(route.method, route.path)].get("RequestParameters", {})
        expected = {
            f"method.request.querystring.{name}": False
            for name in (route.query_schema or {}).get("properties", {})
        } | {f"method.request.header.{header.name}": False for header in route.headers}
        assert params == expected


def test_stage_named_after_the_environment_with_tracing_logs_and_throttles(dev: Synth) -> None:
    _, stage = dev.one("AWS::ApiGateway::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "dev"
    assert props["TracingEnabled"] is True
    access = props["AccessLogSetting"]
    assert json.loads(access["Format"]) == ACCESS_LOG_FIELDS
    # a 502's cause, under the name the local gateway's access log gives it
    assert ACCESS_LOG_FIELDS["integrationErrorMessage"] == "$context.integration.error"
    group = access["DestinationArn"]["Fn::GetAtt"][0]
    assert dev.resources[group]["Properties"]["RetentionInDays"] == 14
    settings = {s["ResourcePath"]: s for s in props["MethodSettings"]}
    stage_wide = settings["/*"]
    assert stage_wide["ThrottlingRateLimit"] == 10
    assert stage_wide["ThrottlingBurstLimit"] == 20
    assert stage_wide["DataTraceEnabled"] is False
    for route in ROUTES:
        # API Gateway escapes '/' as '~1' in method setting paths.
        per_method = settings["/" + route.path.replace("/", "~1")]
        assert per_method["HttpMethod"] == route.method
        # from the table's capacity (cdk.json: dev submit 1/2, stats 0.75/2)
        rate, burst = {"POST": (1, 2), "GET": (0.75, 2)}[route.method]
        assert per_method["ThrottlingRateLimit"] == rate
        assert per_method["ThrottlingBurstLimit"] == burst


def test_prod_throttles_come_from_its_settings(prod: Synth) -> None:
    _, plan = prod.one("AWS::ApiGateway::UsagePlan")
    assert plan["Properties"]["Throttle"] == {"RateLimit": 50, "BurstLimit": 100}


def test_usage_plan_binds_the_stage_and_the_cloudfront_key(dev: Synth) -> None:
    plan_id, plan = dev.one("AWS::ApiGateway::UsagePlan")
    assert plan["Properties"]["Throttle"] == {"RateLimit": 10, "BurstLimit": 20}
    [api_stage] = plan["Properties"]["ApiStages"]
    stage_id, _ = dev.one("AWS::ApiGateway::Stage")
    assert api_stage["Stage"] == {"Ref": stage_id}
    key_id, key = dev.one("AWS::ApiGateway::ApiKey")
    _, binding = dev.one("AWS::ApiGateway::UsagePlanKey")
    assert binding["Properties"]["UsagePlanId"] == {"Ref": plan_id}
    assert binding["Properties"]["KeyId"] == {"Ref": key_id}
    # Generated by API Gateway at deploy time: in no file and no template
    # (the origin key tests below follow it to CloudFront).
    assert "Value" not in key["Properties"]


def test_gateway_responses_answer_problem_json(dev: Synth) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in dev.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    required = {
        "BAD_REQUEST_BODY",
        "BAD_REQUEST_PARAMETERS",
        "MISSING_AUTHENTICATION_TOKEN",
        "THROTTLED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    }
    assert required <= set(responses)
    assert set(responses) == {t.response_type for t in GATEWAY_PROBLEMS}
    for response_type, props in responses.items():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == f"'{PROBLEM_CONTENT_TYPE}'"
        # The body is JSON once API Gateway substitutes its (JSON-quoted) message.
        body = json.loads(
            props["ResponseTemplates"]["application/json"].replace(
                "$context.error.messageString", '"message"'
            )
        )
        assert set(body) == {"type", "title", "status", "detail"}, response_type
        assert str(body["status"]) == props["StatusCode"]
        assert body["type"] == "about:blank"
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert responses["THROTTLED"]["StatusCode"] == "429"
    assert responses["THROTTLED"]["ResponseParameters"]["gatewayresponse.header.Retry-After"]
    assert responses["BAD_REQUEST_BODY"]["StatusCode"] == "400"


def test_a_body_the_model_rejects_names_the_offending_fields(dev: Synth) -> None:
    [bad_body] = [
        r["Properties"]
        for r in dev.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "BAD_REQUEST_BODY"
    ]
    template = bad_body["ResponseTemplates"]["application/json"]
    assert VALIDATION_ERRORS in template
    # How API Gateway renders the variable: a bracketed list, unquoted, its inner
    # quotes backslash-escaped (aws-samples/serverless-patterns shows it on the wire).
    rendered = (
        r"[object has missing required properties ([\"number\"]), "
        r"instance value (11) greater than maximum allowed (10)]"
    )
    body = json.loads(template.replace(VALIDATION_ERRORS, rendered))
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["status"] == 400
    assert '(["number"])' in body["detail"]
    assert "maximum allowed (10)" in body["detail"]


def test_the_contract_suite_recognises_the_validators_refusal(dev: Synth) -> None:
    # Given the problem API Gateway answers for a body its model rejects
    [bad_body] = [
        r["Properties"]
        for r in dev.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "BAD_REQUEST_BODY"
    ]
    template = bad_body["ResponseTemplates"]["application/json"]
    rendered = r"[instance value (11) greater than maximum allowed (10)]"
    problem = json.loads(template.replace(VALIDATION_ERRORS, rendered))

    # Then its detail is the one differences.MODEL_VALIDATOR lists, so the contract
    # suite accepts it as naming the field in the validator's words
    assert problem["detail"].startswith(MODEL_VALIDATOR_DETAIL_PREFIX)
    assert names(problem, "number")
    # and nothing else passes for it
    assert not names({**problem, "detail": "Something else."}, "number")


# The media types clients send bodies in: JSON, what a browser form or fetch sends
# without a CORS preflight, XML, raw bytes.
COMMON_BODY_TYPES = (
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "text/xml",
    "application/octet-stream",
)


def test_a_wrong_method_is_405_for_every_common_media_type(dev: Synth) -> None:
    """AWS (API Gateway mapping templates, passthrough behaviour): the integration request
    template is chosen by the request's Content-Type. For a type without one, NEVER (and
    WHEN_NO_TEMPLATES once any template exists) answers 415 before the integration runs;
    WHEN_NO_MATCH hands the raw body to the MOCK integration, which must read a statusCode
    from it and otherwise fails (500). So the fallback method maps every common body
    type to the 405 status, and does not pass an unmapped body to the mock."""
    for method in dev.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] != "ANY":
            continue
        # (its one integration response, 405: the test above)
        integration = props["Integration"]
        templates = integration["RequestTemplates"]
        for media_type in COMMON_BODY_TYPES:
            assert json.loads(templates[media_type]) == {"statusCode": 405}, media_type
        assert integration["PassthroughBehavior"] != "WHEN_NO_MATCH"


def test_every_method_setting_keeps_the_stages_logging_and_metrics(dev: Synth, prod: Synth) -> None:
    """AWS API Gateway: a stage's MethodSettings entry for one method replaces the
    `/*/*` entry for that method; a field it leaves out takes its default (logging OFF,
    detailed CloudWatch metrics off, no data trace). The throttled methods (every
    route) would log nothing while the stage seemed to. Detailed metrics are off
    everywhere (billed: test_observability.py, the alarms and dashboard read only the
    free API metrics); no other method has settings of its own."""
    for synth in (dev, prod):
        _, stage = synth.one("AWS::ApiGateway::Stage")
        settings = stage["Properties"]["MethodSettings"]
        [default] = [s for s in settings if s["ResourcePath"] == "/*"]
        assert default["LoggingLevel"] == "ERROR"
        assert default["MetricsEnabled"] is False
        methods = synth.method_throttles()
        assert ("GET", "/api/daily-stats") in methods
        assert len(settings) == 1 + len(methods)
        for key, method in methods.items():
            for field in ("LoggingLevel", "MetricsEnabled", "DataTraceEnabled"):
                assert method.get(field) == default[field], (key, field)


def test_the_stages_execution_log_group_is_the_stacks_and_expires(prod: Synth) -> None:
    """AWS API Gateway: with execution logging on, a stage writes to the log group
    `API-Gateway-Execution-Logs_<rest api id>/<stage name>`, creating it (no
    retention: never expires, outside the stack) unless it exists. The stack creates
    that very name with the environment's retention, before the stage."""
    rest_api_id, _ = prod.one("AWS::ApiGateway::RestApi")
    _, stage = prod.one("AWS::ApiGateway::Stage")
    stage_name = stage["Properties"]["StageName"]
    [(group_id, group)] = [
        (k, v)
        for k, v in prod.of_type("AWS::Logs::LogGroup").items()
        if "API-Gateway-Execution-Logs_" in json.dumps(v["Properties"].get("LogGroupName"))
    ]
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["API-Gateway-Execution-Logs_", {"Ref": rest_api_id}, f"/{stage_name}"]]
    }
    assert group["Properties"]["RetentionInDays"] == 90  # prod's log_retention_days
    assert group["DeletionPolicy"] == "Delete"
    assert group_id in stage.get("DependsOn", [])


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


def test_method_throttles_follow_the_table_capacity(dev: Synth, prod: Synth) -> None:
    """AWS: a provisioned table sustains its WCU/RCU per second (burst credit covers
    300 s of unused capacity at most); past it, writes fail with
    ProvisionedThroughputExceeded (our 503) and the stream consumer falls behind. An
    accepted pick costs up to 5 write units (1 raw put + 2 marker + 2 rollup in a
    batch of one, bench/write_units.py); a daily-stats read of the longest range, 6.5
    read units (test_the_stats_throttle_holds_for_the_longest_range_the_api_allows). So
    API Gateway's per-method rate must stay within capacity / cost."""

    for synth in (dev, prod):
        _, table = synth.one("AWS::DynamoDB::Table")
        capacity = table["Properties"]["ProvisionedThroughput"]
        throttles = synth.method_throttles()
        submit = throttles[("POST", "/api/submit-number")]["ThrottlingRateLimit"]
        stats = throttles[("GET", "/api/daily-stats")]["ThrottlingRateLimit"]
        assert submit * WRITE_UNITS_PER_PICK <= capacity["WriteCapacityUnits"]
        assert stats * DAILY_STATS_ROUTE.cost.read_units <= capacity["ReadCapacityUnits"]


# A day's count of one number can be no larger than what a free-tier table writes in a
# day: 25 WCU / 5 units per pick x 86,400 s.
LARGEST_DAILY_COUNT = 25 // 5 * 86_400


def dynamodb_item_size(item: dict[str, dict[str, str]]) -> int:
    """AWS (DynamoDB item sizes): names plus values; a string is its UTF-8 bytes, a
    number 1 byte plus 1 per two significant digits."""
    size = 0
    for name, value in item.items():
        ((kind, text),) = value.items()
        digits = len(text.strip("-").lstrip("0").replace(".", "")) or 1
        size += len(name.encode()) + (len(text.encode()) if kind == "S" else 1 + -(-digits // 2))
    return size


class LargestRollups:
    """A DynamoDB client whose every rollup Query finds each day of its key range,
    every number counted LARGEST_DAILY_COUNT times; it notes what each Query read."""

    def __init__(self) -> None:
        self.queries: list[list[dict[str, dict[str, str]]]] = []

    def get_paginator(self, operation: str) -> "LargestRollups":
        assert operation == "query"
        return self

    def paginate(self, **request: Any) -> list[dict[str, Any]]:
        from datetime import date, timedelta

        values = request["ExpressionAttributeValues"]
        first = date.fromisoformat(values[":first"]["S"])
        last = date.fromisoformat(values[":last"]["S"][:10])
        items = [
            {
                "pk": values[":pk"],
                "sk": {"S": (first + timedelta(days=i)).isoformat()},
                **{f"n{n}": {"N": str(LARGEST_DAILY_COUNT)} for n in range(1, 11)},
            }
            for i in range((last - first).days + 1)
        ]
        self.queries.append(items)
        return [{"Items": items}]


def read_units_of(queries: list[list[dict[str, dict[str, str]]]]) -> float:
    """AWS (DynamoDB read consumption): a Query is billed on the summed size of the items
    it reads, rounded up to 4 KB, half a unit per 4 KB eventually consistent, and at
    least one 4 KB step even when it finds nothing."""
    units = 0.0
    for items in queries:
        size = sum(dynamodb_item_size(item) for item in items)
        units += max(1, -(-size // 4096)) * 0.5
    return units


def test_the_stats_throttle_holds_for_the_longest_range_the_api_allows() -> None:
    """AWS: a provisioned table sustains its RCU per second, past the burst credit
    reads fail (our 503). GET /api/daily-stats accepts ranges of up to 366 days, one
    Query per calendar month: 2024-01-31..2025-01-30 touches 13 months. What that
    request reads is the price the settings put on a stats request, which the method's
    rate times must stay within read_capacity (test_method_throttles_follow_the_table_capacity)."""
    from datetime import date

    from shared.rollups import RollupStore
    from shared.schemas import MAX_RANGE_DAYS
    from stats.daily_stats import requested_range

    longest = requested_range({"from": "2024-01-31", "to": "2025-01-30"}, date(2025, 1, 30))
    assert len(longest.days()) == MAX_RANGE_DAYS
    client = LargestRollups()
    RollupStore(client, "table").histograms(longest.first, longest.last)  # type: ignore[arg-type]
    assert len(client.queries) == 13
    assert read_units_of(client.queries) <= DAILY_STATS_ROUTE.cost.read_units


def test_prod_admits_the_web_apps_daily_stats_calls_at_the_design_load(prod: Synth) -> None:
    """AWS API Gateway: a method throttle answers 429 to every request above its rate
    (token bucket, burst for the peaks of a second). The web app reads daily-stats once
    per page view and up to WEB_STATS_CALLS_PER_PICK times per pick (the read before it,
    then its polls), so at the design load prod's rate must be at least that many calls
    a second, while rate x the costliest request's read units stays within the table's
    provisioned RCU (DynamoDB: beyond it, reads are throttled;
    test_method_throttles_follow_the_table_capacity)."""
    rate = prod.method_throttles()[("GET", "/api/daily-stats")]["ThrottlingRateLimit"]
    assert rate >= DAILY_STATS_ROUTE.web_calls.per_second(DESIGN_PICKS, DESIGN_PAGE_VIEWS)
    submit = prod.method_throttles()[("POST", "/api/submit-number")]["ThrottlingRateLimit"]
    assert submit >= DESIGN_PICKS / SECONDS_PER_MONTH


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
    rotated = synth_with("dev", origin_key_generation=2)
    before, _ = dev.one("AWS::ApiGateway::ApiKey")
    after, _ = rotated.one("AWS::ApiGateway::ApiKey")
    assert before != after
