"""The local router serves exactly the topology's routes, each with its function, and
a stack built from a topology serves that topology's routes."""

import io
import os
from typing import Any

import pytest
import requests

from infra.local.gateway import Gateway, Router
from infra.local.proxy import HttpRequest
from infra.local.stack import EmulatedStack, Options
from infra.local.throttle import ApiThrottle
from infra.topology import ROUTES, Function, Throttle
from tests.support.throwaway import EXTENDED, THROWAWAY_ROUTE

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class RecordingFunction:
    """Stands in for a LocalFunction: answers 200 and remembers the events."""

    def __init__(self, function: Function) -> None:
        self.function = function
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {}, "body": ""}


@pytest.fixture
def functions():
    return {route.function.name: RecordingFunction(route.function) for route in ROUTES}


@pytest.fixture
def gateway(functions, tmp_path):
    off = ApiThrottle(Throttle(0, 1), ROUTES)
    return Gateway(Router(ROUTES), functions, off, tmp_path, lambda _: None)


def test_the_router_serves_exactly_the_topology_routes():
    assert Router(ROUTES).served() == {(route.method, route.path) for route in ROUTES}


@pytest.mark.parametrize("path", sorted({route.path for route in ROUTES}))
@pytest.mark.parametrize("method", METHODS)
def test_each_method_and_path_reaches_the_topology_function_or_nothing(
    gateway, functions, method, path
):
    declared = {(route.method, route.path): route for route in ROUTES}

    response = gateway.handle(HttpRequest(method, path, [], b"", "198.51.100.1"))

    route = declared.get((method, path))
    if route is None:
        assert response.status == 405
        assert all(not f.events for f in functions.values())
    else:
        assert response.status == 200
        (event,) = functions[route.function.name].events
        assert event["resource"] == route.path
        assert event["httpMethod"] == method


def test_a_path_outside_the_topology_is_not_found(gateway, functions):
    response = gateway.handle(HttpRequest("GET", "/api/submit-number/extra", [], b"", "::1"))

    assert response.status == 404
    assert all(not f.events for f in functions.values())


def test_a_stack_built_from_a_topology_serves_that_topology_routes(tmp_path, monkeypatch):
    """The throwaway route of tests/support/throwaway.py, declared in a test topology
    only, is served over HTTP by a local stack built from that topology (on its own
    in-memory DynamoDB Local), with the settings the declaration gives its function,
    and throttled by its own bucket (burst 1), not the stage's (burst 20)."""
    for name in list(os.environ):  # the stack sets the AWS variables it runs with
        monkeypatch.setenv(name, os.environ[name])
    options = Options(
        port=0, aws_port=0, data_dir=tmp_path, ephemeral=True, table_name="throwaway-table"
    )
    stack = EmulatedStack(options, out=io.StringIO(), topology=EXTENDED)
    stack.start()
    try:
        assert stack.http is not None
        answer = requests.get(f"{stack.http.url}{THROWAWAY_ROUTE.path}", timeout=10)
        past_burst = requests.get(f"{stack.http.url}{THROWAWAY_ROUTE.path}", timeout=10)
        # the app's own routes are still there (a wrong method: the gateway answers)
        kept = requests.delete(f"{stack.http.url}/api/daily-stats", timeout=10)
    finally:
        stack.stop()
    assert answer.status_code == 200
    assert answer.json() == {"table": "throwaway-table"}
    assert past_burst.status_code == 429
    assert past_burst.headers["Retry-After"] == "10"  # 1 / 0.1 requests a second
    assert (kept.status_code, kept.headers["Allow"]) == (405, "GET")
