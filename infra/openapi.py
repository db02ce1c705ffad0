"""The OpenAPI 3.0 document of the HTTP API, derived from the topology and the shared schemas.

The routes come from `infra.topology.ROUTES` and every schema from
`shared.schemas`, so the published document cannot disagree with what API
Gateway and the functions validate. `python -m infra.openapi` writes
`web/openapi.json`, which the site publishes at `/openapi.json`; a unit test
fails when the committed file differs from what this module generates.

The shared schemas are JSON Schema draft 4 (API Gateway's dialect). OpenAPI 3.0
schema objects are a near subset of it: no `$schema`, and no list of types, so
`"type": ["object", "null"]` becomes `"type": "object", "nullable": true`.
"""

import json
import sys
from pathlib import Path
from typing import Any, Final

from infra.topology import ROUTES, Route
from shared.schemas import (
    DAILY_STATS_RESPONSE_SCHEMA,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_BODY_BYTES,
    MAX_RANGE_DAYS,
    PROBLEM_SCHEMA,
    SUBMISSION_RESPONSE_SCHEMA,
    JsonSchema,
)

OPENAPI_VERSION: Final = "3.0.3"
API_VERSION: Final = "1.0.0"
DOCUMENT_PATH: Final = Path(__file__).resolve().parent.parent / "web" / "openapi.json"

JSON: Final = "application/json"
PROBLEM_JSON: Final = "application/problem+json"

_PROBLEM_REF: Final = {"$ref": "#/components/schemas/Problem"}

# Every status any route can answer, whichever layer (API Gateway's gateway responses,
# its 405 for another method, or the function) answers; all as problem+json.
_COMMON_ERRORS: Final = {
    "400": "Invalid input: the problem names the offending fields in `errors`.",
    "403": "The request did not come through the site's CloudFront distribution.",
    "404": "No such resource (a path the API does not serve).",
    "405": "Another method than the ones the path serves; `Allow` lists them.",
    "413": f"The body is larger than {MAX_BODY_BYTES} bytes.",
    "415": f"The body is not sent as `{JSON}`.",
    "429": "Throttled: retry after the number of seconds in `Retry-After`.",
    "500": "An unexpected error (logged with its request id).",
    "502": "The function failed or answered something API Gateway could not use.",
    "503": "The table is over capacity or slow: retry after `Retry-After` seconds.",
    "504": "The function did not answer in time.",
}
_RETRY_AFTER: Final = {"429", "503"}


# The order of an operation's fields in the document, for a stable and readable diff.
_OPERATION_KEYS: Final = (
    "operationId",
    "summary",
    "description",
    "parameters",
    "requestBody",
    "responses",
)


def to_openapi_schema(schema: Any) -> Any:
    """A draft-4 schema as an OpenAPI 3.0 schema object (recursively)."""
    if isinstance(schema, list):
        return [to_openapi_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            continue
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if len(types) != 1:
                raise ValueError(f"OpenAPI 3.0 cannot express the type list {value}")
            converted["type"] = types[0]
            if "null" in value:
                converted["nullable"] = True
        elif key in ("properties", "patternProperties", "definitions"):
            converted[key] = {name: to_openapi_schema(sub) for name, sub in value.items()}
        else:
            converted[key] = to_openapi_schema(value)
    return converted


def _component_name(schema: JsonSchema, fallback: str) -> str:
    return str(schema.get("title", fallback))


def _operation_id(route: Route) -> str:
    name = route.function.name
    return name[0].lower() + name[1:]


def _problem_response(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    return response


def _json_response(description: str, component: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def _header_parameter(name: str) -> dict[str, Any]:
    if name != "Idempotency-Key":
        raise ValueError(f"no OpenAPI description for the request header {name}")
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": (
            "Makes the request safe to retry: the same key with the same body answers "
            "200 with the first answer; with another body, 409."
        ),
        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    }


def _query_parameters(query_schema: JsonSchema) -> list[dict[str, Any]]:
    required = set(query_schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": to_openapi_schema(schema),
        }
        for name, schema in query_schema.get("properties", {}).items()
    ]


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": _operation_id(route),
        "summary": route.function.description,
    }
    parameters = [_header_parameter(name) for name in route.headers]
    if route.query_schema is not None:
        parameters += _query_parameters(route.query_schema)
        operation["description"] = str(route.query_schema.get("description", ""))
    if parameters:
        operation["parameters"] = parameters
    responses: dict[str, Any] = {}
    errors = dict(_COMMON_ERRORS)
    if route.body_schema is not None:
        name = _component_name(route.body_schema, operation["operationId"] + "Body")
        components[name] = to_openapi_schema(route.body_schema)
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
        operation["description"] = str(route.body_schema.get("description", ""))
        responses["201"] = _json_response("Accepted: the submission is stored.", "Accepted")
        responses["200"] = _json_response(
            "A replay of an accepted request (same Idempotency-Key, same body).", "Accepted"
        )
        responses["409"] = _problem_response(
            "The Idempotency-Key was already used with another body."
        )
    else:
        responses["200"] = _json_response(
            f"Statistics per day of the range (at most {MAX_RANGE_DAYS} days) and in total.",
            "DailyStats",
        )
    for status, description in errors.items():
        responses[status] = _problem_response(description, retry_after=status in _RETRY_AFTER)
    operation["responses"] = dict(sorted(responses.items()))
    return {key: operation[key] for key in _OPERATION_KEYS if key in operation}


def build_document() -> dict[str, Any]:
    """The OpenAPI document: one path item per topology route."""
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    components |= {
        "Accepted": to_openapi_schema(SUBMISSION_RESPONSE_SCHEMA),
        "DailyStats": to_openapi_schema(DAILY_STATS_RESPONSE_SCHEMA),
        "Problem": to_openapi_schema(PROBLEM_SCHEMA),
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Pick a Number",
            "version": API_VERSION,
            "description": (
                "Pick a number from 1 to 10; read exact daily statistics. Every error, "
                "from API Gateway or from a function, is an RFC 9457 problem "
                f"(`{PROBLEM_JSON}`)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items()))},
    }


def render() -> str:
    """The document as the committed file holds it."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else DOCUMENT_PATH
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
