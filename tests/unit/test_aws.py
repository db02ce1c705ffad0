"""botocore's retries must end before Lambda ends the function (issue 13, item 12).

AWS: a Lambda function that runs past its timeout is killed, and API Gateway answers
its own 502 for the proxy integration; only a function that is still running can
answer the 503 problem that tells the client to retry. botocore's standard retry
mode makes `max_attempts` tries, each bounded by `connect_timeout` + `read_timeout`,
with an exponential backoff of up to 2**(n-1) s before try n+1. That worst case must
fit inside the function's timeout, which the CDK app passes from the topology.
"""

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from shared import aws
from tests.support.http import assert_problem


def attempts_of(config: Any) -> int:
    """Every try of one call: botocore's `max_attempts` counts the retries only, and
    the client's resolved config holds the total (first try included)."""
    return int(config.retries["total_max_attempts"])


def worst_case_seconds(config: Any) -> float:
    attempts = attempts_of(config)
    backoff = sum(2 ** (n - 1) for n in range(1, attempts))
    return float(attempts * (config.connect_timeout + config.read_timeout) + backoff)


@pytest.fixture
def reload_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(aws)


@pytest.mark.parametrize("timeout", [10, 60, 120])
def test_the_client_gives_up_before_the_lambda_timeout(
    timeout: int, reload_aws: pytest.MonkeyPatch
) -> None:
    reload_aws.setenv("FUNCTION_TIMEOUT_SECONDS", str(timeout))
    importlib.reload(aws)
    config: Any = aws.dynamodb().meta.config
    assert worst_case_seconds(config) < timeout
    # and still retries: one slow or dropped connection is not an error for the user
    assert attempts_of(config) >= 2
    assert config.retries["mode"] == "standard"


def test_the_api_functions_timeout_leaves_a_second_to_answer(
    reload_aws: pytest.MonkeyPatch,
) -> None:
    from infra.topology import ROUTES

    for route in ROUTES:
        timeout = route.function.timeout_seconds
        reload_aws.setenv("FUNCTION_TIMEOUT_SECONDS", str(timeout))
        importlib.reload(aws)
        assert worst_case_seconds(aws.dynamodb().meta.config) <= timeout - 1


def test_a_dynamodb_timeout_is_a_retryable_503_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.http import api_handler

    @api_handler
    def route(event: Any) -> dict[str, Any]:
        raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    response = route({})
    problem = assert_problem(response, 503)
    assert response["headers"]["Retry-After"] == "1"
    assert problem["title"] == "Service Unavailable"
