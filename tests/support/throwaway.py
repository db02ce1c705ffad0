"""A throwaway route, declared in a test topology (EXTENDED) and served by a handler
in this module: what adding a route to the app takes, and nothing more."""

import json
import os
from dataclasses import replace
from typing import Any

from infra.topology import (
    API_PREFIX,
    COMMON_SETTINGS,
    ROUTES,
    TOPOLOGY,
    Body,
    Function,
    Response,
    Route,
    TableActions,
)
from shared.http import JSON_CONTENT_TYPE

THROWAWAY_BODY = Body(
    "Throwaway",
    {"type": "object", "properties": {"table": {"type": "string"}}, "required": ["table"]},
)
THROWAWAY = Function(
    name="Throwaway",
    handler=f"{__name__}.lambda_handler",
    service="throwaway",
    description="GET /api/throwaway: says which table it was given",
    settings=COMMON_SETTINGS,
    table_actions=(TableActions(("dynamodb:GetItem",)),),
)
THROWAWAY_ROUTE = Route(
    "GET",
    f"{API_PREFIX}/throwaway",
    THROWAWAY,
    responses=(Response(200, "The function's table.", THROWAWAY_BODY),),
)
EXTENDED = replace(TOPOLOGY, routes=(*ROUTES, THROWAWAY_ROUTE))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The throwaway function: answers its declared 200 from its declared setting."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": JSON_CONTENT_TYPE},
        "body": json.dumps({"table": os.environ["TABLE_NAME"]}),
    }
