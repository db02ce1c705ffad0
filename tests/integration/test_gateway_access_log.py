"""The access-log line of a 502 says why the function failed, as API Gateway's
`$context.integrationErrorMessage` does: the error's type and message."""

import os
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from infra.local.gateway import Gateway, Router
from infra.local.proxy import HttpRequest
from infra.local.runtime import LocalFunction
from infra.local.throttle import ApiThrottle
from infra.topology import Cost, Function, Route, Throttle

PATH = "/api/broken"


def failing_handler(event: dict[str, Any], context: Any) -> Any:
    return 1 / 0


def malformed_handler(event: dict[str, Any], context: Any) -> Any:
    return "not a proxy result"


def working_handler(event: dict[str, Any], context: Any) -> Any:
    return {"statusCode": 200, "headers": {}, "body": "{}"}


def served_by(handler: str, tmp_path: Path) -> tuple[Gateway, list[dict[str, Any]]]:
    """A gateway with one route, to a real local function running `handler` of this module."""
    function = Function("Broken", f"{__name__}.{handler}", "broken", "fails on purpose")
    route = Route("GET", PATH, function, throttle=Throttle(1, 1), cost=Cost())
    lines: list[dict[str, Any]] = []
    gateway = Gateway(
        Router([route]),
        {function.name: LocalFunction(function, {})},
        ApiThrottle(Throttle(0, 1), [route]),  # off
        tmp_path,
        lines.append,
    )
    return gateway, lines


@pytest.fixture(autouse=True)
def restored_environment():
    """The local runtime sets each function's environment in the process."""
    with mock.patch.dict(os.environ):
        yield


def get(gateway: Gateway) -> int:
    return gateway.handle(HttpRequest("GET", PATH, [], b"", "198.51.100.9")).status


def test_a_function_that_raises_is_a_502_whose_log_line_names_the_error(tmp_path):
    gateway, lines = served_by("failing_handler", tmp_path)

    assert get(gateway) == 502

    (line,) = lines
    assert line["status"] == 502
    assert line["resourcePath"] == PATH
    assert line["requestId"]
    assert line["integrationErrorMessage"] == "ZeroDivisionError: division by zero"


def test_a_malformed_proxy_result_is_a_502_whose_log_line_says_so(tmp_path):
    gateway, lines = served_by("malformed_handler", tmp_path)

    assert get(gateway) == 502

    (line,) = lines
    assert line["integrationErrorMessage"] == "Malformed Lambda proxy response"


def test_a_working_function_leaves_the_error_empty(tmp_path):
    gateway, lines = served_by("working_handler", tmp_path)

    assert get(gateway) == 200

    (line,) = lines
    assert line["integrationErrorMessage"] is None
    assert isinstance(line["integrationLatency"], int)
