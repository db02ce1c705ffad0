"""A tiny Lambda runtime: the topology's functions, invoked in-process.

Each handler is imported lazily by the name the topology gives Lambda, with its
environment set first (handlers read their settings at import, as at a cold
start). All functions share one process, so module-level state such as
`shared.observability` is created once: the function name in each log line
(from the context) tells the functions apart.
"""

import importlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from infra.topology import Function

LOCAL_ACCOUNT_ID: Final = "123456789012"

Handler = Callable[[dict[str, Any], Any], Any]


class FunctionError(RuntimeError):
    """The invocation failed as Lambda would report it (exception or timeout)."""


class LambdaContext:
    """The attributes and method of Lambda's context object that handlers use."""

    def __init__(self, function: Function, region: str) -> None:
        self.function_name = f"pick-a-number-local-{function.name}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"
        )
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One function of the topology, imported on first use and invoked in-process."""

    _import_lock = threading.Lock()

    def __init__(self, function: Function, environment: Mapping[str, str]) -> None:
        """`environment`: the function's own (infra/topology.py runtime_environment)."""
        self.function = function
        self.environment = dict(environment)
        self._handler: Handler | None = None

    def handler(self) -> Handler:
        with self._import_lock:
            if self._handler is None:
                os.environ.update(self.environment)
                module_name, attribute = self.function.handler.rsplit(".", 1)
                self._handler = getattr(importlib.import_module(module_name), attribute)
            return self._handler

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's result, or FunctionError for an exception or a timeout;
        a result that arrives after the timeout is discarded, as Lambda would."""
        handler = self.handler()
        context = LambdaContext(self.function, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        try:
            result = handler(event, context)
        except Exception as error:
            raise FunctionError(f"{type(error).__name__}: {error}") from error
        if context.get_remaining_time_in_millis() == 0:
            raise FunctionError(f"Task timed out after {self.function.timeout_seconds}.00 seconds")
        return result
