"""The OpenAPI 3.0 document of the HTTP API, derived from the topology and the shared schemas.

The routes and each route's responses come from `infra.topology.ROUTES` and
every schema from `shared.schemas`, so the published document cannot disagree
with what API Gateway and the functions validate and answer. `python -m infra.openapi` writes
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

from infra.topology import TOPOLOGY, Header, Response, Route, Topology
from shared.http import JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE
from shared.schemas import JsonSchema

OPENAPI_VERSION: Final = "3.0.3"
API_VERSION: Final = "1.0.0"
DOCUMENT_PATH: Final = Path(__file__).resolve().parent.parent / "web" / "openapi.json"

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


def _schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(response: Response, components: dict[str, Any]) -> dict[str, Any]:
    components[response.body.name] = to_openapi_schema(response.body.schema)
    found: dict[str, Any] = {
        "description": response.description,
        "content": {response.body.content_type: {"schema": _schema_ref(response.body.name)}},
    }
    if response.headers:
        found["headers"] = {
            header.name: {
                "description": header.description,
                "schema": to_openapi_schema(header.schema),
            }
            for header in response.headers
        }
    return found


def _header_parameter(header: Header) -> dict[str, Any]:
    return {
        "name": header.name,
        "in": "header",
        "required": False,
        "description": header.description,
        "schema": to_openapi_schema(header.schema),
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
    parameters = [_header_parameter(header) for header in route.headers]
    if route.query_schema is not None:
        parameters += _query_parameters(route.query_schema)
        operation["description"] = str(route.query_schema.get("description", ""))
    if parameters:
        operation["parameters"] = parameters
    if route.body_schema is not None:
        name = _component_name(route.body_schema, operation["operationId"] + "Body")
        components[name] = to_openapi_schema(route.body_schema)
        operation["requestBody"] = {
            "required": True,
            "content": {JSON_CONTENT_TYPE: {"schema": _schema_ref(name)}},
        }
        operation["description"] = str(route.body_schema.get("description", ""))
    operation["responses"] = {
        str(response.status): _response(response, components) for response in route.every_response()
    }
    return {key: operation[key] for key in _OPERATION_KEYS if key in operation}


def build_document(topology: Topology = TOPOLOGY) -> dict[str, Any]:
    """The OpenAPI document: one path item per route of `topology`."""
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in topology.routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Pick a Number",
            "version": API_VERSION,
            "description": (
                "Pick a number from 1 to 10; read exact daily statistics. Every error, "
                "from API Gateway or from a function, is an RFC 9457 problem "
                f"(`{PROBLEM_CONTENT_TYPE}`)."
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
