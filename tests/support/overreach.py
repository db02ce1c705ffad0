"""A throwaway route whose function calls a table action its declaration does not
grant (GetItem): in AWS its role would refuse the call, and so must the local stack.
Its handler is a module of its own, imported only as the function is (its client then
has the function's identity)."""

from dataclasses import replace

from infra.topology import (
    API_PREFIX,
    COMMON_SETTINGS,
    ROUTES,
    TOPOLOGY,
    Cost,
    Function,
    Route,
    Throttle,
)

OVERREACH = Function(
    name="Overreach",
    handler="tests.support.overreach_handler.lambda_handler",
    service="overreach",
    description="GET /api/overreach: reads an item it was granted no action to read",
    settings=COMMON_SETTINGS,
    table_actions=(),  # GetItem is what it calls, and it is not declared
)
OVERREACH_ROUTE = Route(
    "GET",
    f"{API_PREFIX}/overreach",
    OVERREACH,
    throttle=Throttle(rate_per_second=10, burst=10),
    cost=Cost(read_units=0.5),
)
OVERREACHING = replace(TOPOLOGY, routes=(*ROUTES, OVERREACH_ROUTE))
