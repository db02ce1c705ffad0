"""A throwaway route, declared in a test topology (EXTENDED) and served by a handler
in this module: what adding a route to the app takes, and nothing more. Its throttle
and cost fit every environment's table next to the app's own routes (dev: 4.875 +
0.05 of 5 read units a second); a faster override would not."""

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
    Cost,
    Function,
    Header,
    Response,
    Route,
    TableActions,
    Throttle,
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
THROWAWAY_HEADER = Header(
    "X-Throwaway-Note", "A note the function ignores.", {"type": "string", "maxLength": 40}
)
THROWAWAY_ROUTE = Route(
    "GET",
    f"{API_PREFIX}/throwaway",
    THROWAWAY,
    throttle=Throttle(rate_per_second=0.1, burst=1),
    cost=Cost(read_units=0.5),
    headers=(THROWAWAY_HEADER,),
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
