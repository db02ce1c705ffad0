"""Assertions on the handlers' HTTP responses."""

import json
from typing import Any

PROBLEM = "application/problem+json"


def json_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def assert_problem(response: dict[str, Any], status: int, field: str | None = None) -> Any:
    """An RFC 9457 problem with this status; when `field` is given, the problem
    names it among its offending fields. Returns the problem document."""
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == PROBLEM
    problem = json_of(response)
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    if field is not None:
        named = [error["field"] for error in problem.get("errors", [])]
        assert field in named, f"{field!r} not named in {problem}"
    return problem
