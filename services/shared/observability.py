"""Powertools logger, tracer and metrics: one of each per function process, and
the one way a handler is instrumented with them.

The service name comes from POWERTOOLS_SERVICE_NAME, which each function sets.
"""

import os
from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

NAMESPACE = "PickANumber"

# The context is typed loosely: the local runtime and the tests pass their own.
LambdaHandler = Callable[[dict[str, Any], Any], Any]


class Log(Protocol):
    """What code that reports errors needs of a logger (the Powertools one, or a
    test's recorder)."""

    def error(self, msg: str, /, *args: Any, **kwargs: Any) -> Any: ...

    def exception(self, msg: str, /, *args: Any, **kwargs: Any) -> Any: ...


def environment_namespace(environment: str) -> str:
    """The metrics namespace of one deployment: CloudWatch keys a metric by namespace,
    name and dimensions, so two environments in one account and region must differ."""
    return f"{NAMESPACE}/{environment}"


logger = Logger()
# Patch only what the functions call: botocore (DynamoDB). The default patches
# every library the X-Ray SDK supports and finds installed (requests, sqlite3,
# httplib...), importing each at cold start for calls the functions never make.
tracer = Tracer(patch_modules=("botocore",))
# The deployment sets POWERTOOLS_METRICS_NAMESPACE (its environment's); the local
# stack and the tests fall back on the app's own.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE)


def instrumented(handler: LambdaHandler, correlation_id_path: str | None = None) -> LambdaHandler:
    """`handler` with the invocation's context in every log line (and the request id
    as correlation id, at `correlation_id_path`), its metrics flushed and its trace."""
    traced = tracer.capture_lambda_handler(handler)
    return logger.inject_lambda_context(correlation_id_path=correlation_id_path)(
        metrics.log_metrics(traced)
    )


def api_function(route: Callable[[dict[str, Any]], Any]) -> LambdaHandler:
    """The Lambda handler of an API route (API Gateway's REST proxy events)."""

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
        return route(event)

    return instrumented(lambda_handler, correlation_paths.API_GATEWAY_REST)
