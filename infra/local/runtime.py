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
from collections.abc import Callable, Mapping
from typing import Any

from infra.local.events import LambdaContext
from infra.topology import Function

Handler = Callable[[dict[str, Any], Any], Any]


class FunctionError(RuntimeError):
    """The invocation failed as Lambda would report it (exception or timeout)."""


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
        context = LambdaContext.of(self.function, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        try:
            result = handler(event, context)
        except Exception as error:
            raise FunctionError(f"{type(error).__name__}: {error}") from error
        if context.get_remaining_time_in_millis() == 0:
            raise FunctionError(f"Task timed out after {self.function.timeout_seconds}.00 seconds")
        return result
