"""The REST API: routes from the topology, validation, throttling, errors, origin key."""

import json
from typing import Any

from infra.cloud.api import ACCESS_LOG_FIELDS, GATEWAY_PROBLEMS, VALIDATION_ERRORS
from infra.topology import ROUTES
from shared.http import PROBLEM_CONTENT_TYPE, Problem
from tests.support.synth import Synth


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
        assert json.loads(integration["RequestTemplates"]["application/json"]) == {
            "statusCode": 405
        }
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
        # It calls the function's `live` alias (test_delivery.py: what a release moves).
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
    group = access["DestinationArn"]["Fn::GetAtt"][0]
    assert dev.resources[group]["Properties"]["RetentionInDays"] == 14
    settings = {s["ResourcePath"]: s for s in props["MethodSettings"]}
    stage_wide = settings["/*"]
    assert stage_wide["ThrottlingRateLimit"] == 10
    assert stage_wide["ThrottlingBurstLimit"] == 20
    assert stage_wide["LoggingLevel"] == "ERROR"
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
    # (tests/infra/test_aws_behaviour.py follows it to CloudFront).
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
