"""The topology is the one declaration: a route or a function added there (and its
handler) reaches the CloudFormation template, the local stack and the OpenAPI
document, with its settings, its table grants, its responses, its request headers,
its throttle and its cost, and nothing else has to change."""

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from infra.cloud.functions import leading_keys_condition
from infra.environments import ENVIRONMENTS_CONTEXT_KEY, SettingsError, selected_environment
from infra.local.gateway import Router
from infra.local.runtime import IDENTITY
from infra.local.stack import Options, local_functions
from infra.local.throttle import ApiThrottle
from infra.openapi import build_document
from infra.topology import (
    FUNCTIONS,
    ROUTES,
    Function,
    TablePart,
    Throttle,
    runtime_environment,
)
from shared.http import JSON_CONTENT_TYPE
from tests.support.synth import Synth, cdk_json_context
from tests.support.throwaway import (
    EXTENDED,
    THROWAWAY,
    THROWAWAY_BODY,
    THROWAWAY_HEADER,
    THROWAWAY_ROUTE,
)

TABLE_ARN = {"Fn::GetAtt": ["SubmissionsTable", "Arn"]}


@pytest.fixture(scope="module")
def extended() -> Synth:
    return Synth("dev", EXTENDED)


@pytest.fixture
def restored_environment() -> Iterator[None]:
    """The local runtime sets a function's environment in this process: put it back."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def function_resource(synth: Synth, function: Function) -> dict[str, Any]:
    _, resource = synth.one("AWS::Lambda::Function", lambda p: p["Handler"] == function.handler)
    properties: dict[str, Any] = resource["Properties"]
    return properties


def table_grants(synth: Synth, function: Function) -> set[tuple[str, str, str]]:
    """(action, resource, condition) of the function's role on the table, its backups,
    the drill's scratch tables and '*', without what the stream mapping adds (the
    stream's own ARN, ListStreams)."""
    role = function_resource(synth, function)["Role"]["Fn::GetAtt"][0]
    found = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            for action in actions if isinstance(actions, list) else [actions]:
                resource = json.dumps(statement["Resource"], sort_keys=True)
                stream = action == "dynamodb:ListStreams" or "StreamArn" in resource
                if action.startswith("dynamodb:") and not stream:
                    condition = json.dumps(statement.get("Condition"), sort_keys=True)
                    found.add((action, resource, condition))
    return found


def declared_grants(function: Function) -> set[tuple[str, str, str]]:
    resources: dict[TablePart, Any] = {
        TablePart.TABLE: TABLE_ARN,
        TablePart.BACKUPS: {"Fn::Join": ["", [TABLE_ARN, "/backup/*"]]},
        TablePart.ANY: "*",
        TablePart.SCRATCH_TABLES: {"Fn::Join": ["", [TABLE_ARN, "-drill-*"]]},
    }

    return {
        (
            action,
            json.dumps(resources[grant.on], sort_keys=True),
            json.dumps(leading_keys_condition(grant.leading_keys), sort_keys=True),
        )
        for grant in function.table_actions
        for action in grant.actions
    }


# ---- the app's own topology --------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_a_function_is_granted_exactly_its_declared_table_actions(
    dev: Synth, function: Function
) -> None:
    assert table_grants(dev, function) == declared_grants(function)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_a_function_runs_with_exactly_its_declared_settings(dev: Synth, function: Function) -> None:
    variables = function_resource(dev, function)["Environment"]["Variables"]
    derived = runtime_environment(function, "the-table", selected_environment(dev.app.node).runtime)
    assert set(variables) == set(derived) <= {s.variable for s in function.settings}
    assert variables["TABLE_NAME"] == {"Ref": "SubmissionsTable"}
    assert {k: v for k, v in variables.items() if k != "TABLE_NAME"} == {
        k: v for k, v in derived.items() if k != "TABLE_NAME"
    }


def test_the_local_stack_runs_each_function_with_its_declared_settings() -> None:
    options = Options(table_name="local-table")
    for name, local in local_functions(options).items():
        function = next(f for f in FUNCTIONS if f.name == name)
        declared = runtime_environment(function, "local-table", options.runtime)
        # and, against the embedded endpoint, an identity of its own (infra/local/access.py)
        assert local.environment == {**declared, IDENTITY: name}
        assert local.environment["TABLE_NAME"] == "local-table"
        assert local.environment["POWERTOOLS_TRACE_DISABLED"] == "true"


# ---- a route added to the topology reaches every part ------------------------------


def test_a_new_route_reaches_the_template(extended: Synth) -> None:
    # Then the function is deployed with its settings and its grants, and nothing more
    properties = function_resource(extended, THROWAWAY)
    assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "throwaway"
    assert properties["Environment"]["Variables"]["FUNCTION_TIMEOUT_SECONDS"] == "10"
    assert table_grants(extended, THROWAWAY) == {
        ("dynamodb:GetItem", json.dumps(TABLE_ARN), "null")
    }

    # and API Gateway serves the route through the function's live alias
    resource_id, _ = extended.one(
        "AWS::ApiGateway::Resource", lambda p: p.get("PathPart") == "throwaway"
    )
    _, method = extended.one(
        "AWS::ApiGateway::Method",
        lambda p: p.get("ResourceId") == {"Ref": resource_id} and p["HttpMethod"] == "GET",
    )
    alias_id, _ = extended.one(
        "AWS::Lambda::Alias",
        lambda p: (
            p["FunctionName"]
            == {"Ref": extended.logical_id(extended.stack.api.functions["Throwaway"])}
        ),
    )
    assert alias_id in json.dumps(method["Properties"]["Integration"]["Uri"])
    assert method["Properties"]["ApiKeyRequired"] is True
    assert method["Properties"]["RequestParameters"] == {
        f"method.request.header.{THROWAWAY_HEADER.name}": False
    }

    # with its own throttle on the stage, not the stage-wide one
    throttle = extended.method_throttles()[("GET", THROWAWAY_ROUTE.path)]
    assert (throttle["ThrottlingRateLimit"], throttle["ThrottlingBurstLimit"]) == (0.1, 1)

    # and the other routes are untouched
    for route in ROUTES:
        assert function_resource(extended, route.function)["Handler"] == route.function.handler


def test_a_new_route_is_priced_against_the_table_at_synthesis() -> None:
    # Given dev, where the app's reads already take 4.875 of the table's 5 units a second
    environments = cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY]
    faster = {THROWAWAY_ROUTE.key: {"rate_per_second": 1}}
    environments["dev"] = {**environments["dev"], "route_throttles": faster}

    # When an override lets the new route read 1/s x 0.5 units more, synthesis refuses it
    with pytest.raises(SettingsError, match=r"GET /api/throwaway 1/s x 0.5 = 5.375 read units"):
        Synth("dev", EXTENDED, **{ENVIRONMENTS_CONTEXT_KEY: environments})


def test_a_new_route_gets_its_own_bucket_in_the_local_stack() -> None:
    now = [0.0]
    throttle = ApiThrottle(Throttle(10, 20), EXTENDED.routes, clock=lambda: now[0])

    # its burst (1) passes, the next call waits 1 / 0.1 s, while the other routes pass
    assert throttle.take(THROWAWAY_ROUTE) == 0
    assert throttle.take(THROWAWAY_ROUTE) == pytest.approx(10)
    assert throttle.take(ROUTES[0]) == 0
    now[0] += 10
    assert throttle.take(THROWAWAY_ROUTE) == 0


def test_a_new_route_reaches_the_local_stack(restored_environment: None) -> None:
    # When the local gateway's router resolves the new route
    route, parameters = Router(EXTENDED.routes).resolve("GET", "/api/throwaway")
    assert route is THROWAWAY_ROUTE
    assert parameters == {}

    # Then the local runtime invokes its handler with its declared settings
    functions = local_functions(Options(table_name="local-table"), EXTENDED.functions)
    answer = functions[route.function.name].invoke({"httpMethod": "GET", "path": route.path})
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"table": "local-table"}


def test_a_new_route_reaches_the_openapi_document() -> None:
    document = build_document(EXTENDED)
    validate(document)

    operation = document["paths"]["/api/throwaway"]["get"]
    assert operation["operationId"] == "throwaway"
    assert operation["responses"]["200"] == {
        "description": "The function's table.",
        "content": {JSON_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Throwaway"}}},
    }
    # with every status any route can answer
    assert {"400", "404", "405", "429", "502", "503"} <= set(operation["responses"])
    assert document["components"]["schemas"]["Throwaway"] == THROWAWAY_BODY.schema
    # and the request headers it declares
    assert operation["parameters"] == [
        {
            "name": THROWAWAY_HEADER.name,
            "in": "header",
            "required": False,
            "description": THROWAWAY_HEADER.description,
            "schema": THROWAWAY_HEADER.schema,
        }
    ]
    # and the app's own routes documented as before
    assert {path: item for path, item in document["paths"].items() if path != "/api/throwaway"} == (
        build_document()["paths"]
    )
