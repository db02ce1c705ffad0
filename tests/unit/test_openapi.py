"""The published OpenAPI document: valid, exactly the topology's routes, never stale."""

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

from infra.openapi import DOCUMENT_PATH, render, to_openapi_schema
from infra.topology import ROUTES
from shared.schemas import DAILY_STATS_QUERY_SCHEMA, PROBLEM_SCHEMA, SUBMISSION_SCHEMA

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.0.")
    validate(document)


def test_the_document_lists_exactly_the_topology_routes(document):
    # Given the routes of the topology (what API Gateway and the local stack serve)
    routes = {(route.method.upper(), route.path) for route in ROUTES}

    # When the document's operations are listed
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }

    # Then they are the same set
    assert operations == routes


def test_the_committed_document_is_what_the_generator_produces():
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render(), (
        "web/openapi.json is stale: run `python -m infra.openapi` and commit the result"
    )


def test_the_request_schemas_are_the_shared_ones(document):
    schemas = document["components"]["schemas"]
    assert schemas["Submission"] == to_openapi_schema(SUBMISSION_SCHEMA)
    assert schemas["Problem"] == to_openapi_schema(PROBLEM_SCHEMA)
    stats = document["paths"]["/api/daily-stats"]["get"]
    query = {p["name"]: p["schema"] for p in stats["parameters"] if p["in"] == "query"}
    assert query == DAILY_STATS_QUERY_SCHEMA["properties"]


def test_every_error_answer_is_problem_json(document):
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], status


def test_draft_4_type_lists_become_nullable():
    converted = to_openapi_schema(
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": ["object", "null"]}
    )
    assert converted == {"type": "object", "nullable": True}
    with pytest.raises(ValueError, match="type list"):
        to_openapi_schema({"type": ["string", "integer"]})


def test_every_status_the_api_can_answer_is_documented(document):
    """Issue 13 (schemathesis): a client must find every status the API answers,
    whichever layer answers it: API Gateway's gateway responses (their statuses are
    read from the CDK app), its 405 for another method, and the functions' own 409
    (Idempotency-Key reuse) and 503 (table over capacity or slow, Retry-After)."""
    from infra.cloud.api import GATEWAY_PROBLEMS, METHOD_NOT_ALLOWED

    gateway = {str(problem.status) for problem in GATEWAY_PROBLEMS.values()}
    required = gateway | {str(METHOD_NOT_ALLOWED), "400", "404", "413", "415", "429", "502", "503"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            missing = required - documented
            assert not missing, f"{method.upper()} {path} does not document {sorted(missing)}"
            assert not {"4XX", "5XX", "default"} & documented  # every status, by number
            for status in ("429", "503"):
                assert "Retry-After" in operation["responses"][status]["headers"]
            if method == "post":
                assert "409" in documented


def test_each_operation_answers_what_its_route_declares(document):
    # Given each route's responses as the topology declares them
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]

        # Then the document lists exactly those statuses, each with its content type
        documented = {
            status: list(response["content"]) for status, response in operation["responses"].items()
        }
        assert documented == {
            str(r.status): [r.body.content_type] for r in route.every_response()
        }, f"{route.method} {route.path}"
