"""A tiny Lambda runtime: the topology's functions, invoked in-process, and the
fake-AWS environment of every process that runs them locally.

Each handler is imported lazily by the name the topology gives Lambda, with its
environment set first (handlers read their settings and make their AWS clients at
import, as at a cold start). All functions share one process, so module-level
state such as `shared.observability` is created once: the function name in each
log line (from the context) tells the functions apart. Against the embedded
endpoint each function signs its calls with its own access key id, its name, so
the endpoint can hold it to its declared table actions (`infra.local.access`).
"""

import importlib
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import boto3

from infra.local.events import DEFAULT_REGION, LambdaContext
from infra.topology import Function

Handler = Callable[[dict[str, Any], Any], Any]

# Never real credentials against an emulator. The operator's key (the stack, the
# CLIs, the tests) is not a function's name: the endpoint grants it everything.
OPERATOR_KEY: Final = "local"
FAKE_CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": OPERATOR_KEY, "AWS_SECRET_ACCESS_KEY": "local"}
IDENTITY: Final = "AWS_ACCESS_KEY_ID"


def use_aws_environment(
    endpoint_url: str | None, *, fake: bool = True, region: str | None = None
) -> None:
    """Set what boto3 and the handlers read in this process: the endpoint (None: AWS's
    own, or moto in process), the region (`region`, else this process's, else
    us-east-1), account-id endpoints off (emulators answer only the regional one), and
    with `fake`, credentials that are never real ones."""
    os.environ["AWS_DEFAULT_REGION"] = (
        region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    )
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    if fake:
        os.environ.update(FAKE_CREDENTIALS)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
            os.environ.pop(name, None)
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)


class FunctionError(RuntimeError):
    """The invocation failed as Lambda would report it (exception or timeout)."""


class LocalFunction:
    """One function of the topology, imported on first use and invoked in-process."""

    _import_lock = threading.Lock()

    def __init__(self, function: Function, environment: Mapping[str, str]) -> None:
        """`environment`: the function's own (infra/topology.py runtime_environment,
        and its identity)."""
        self.function = function
        self.environment = dict(environment)
        self._handler: Handler | None = None

    def handler(self) -> Handler:
        with self._import_lock:
            if self._handler is None:
                process_identity = os.environ.get(IDENTITY)
                os.environ.update(self.environment)
                # boto3's default session keeps the first credentials it read: a new
                # one gives the clients made at import this function's identity.
                boto3.DEFAULT_SESSION = None
                try:
                    module_name, attribute = self.function.handler.rsplit(".", 1)
                    self._handler = getattr(importlib.import_module(module_name), attribute)
                finally:
                    if process_identity is None:
                        os.environ.pop(IDENTITY, None)
                    else:
                        os.environ[IDENTITY] = process_identity
                    boto3.DEFAULT_SESSION = None
            return self._handler

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's result, or FunctionError for an exception or a timeout;
        a result that arrives after the timeout is discarded, as Lambda would."""
        handler = self.handler()
        context = LambdaContext.of(
            self.function, os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)
        )
        try:
            result = handler(event, context)
        except Exception as error:
            raise FunctionError(f"{type(error).__name__}: {error}") from error
        if context.get_remaining_time_in_millis() == 0:
            raise FunctionError(f"Task timed out after {self.function.timeout_seconds}.00 seconds")
        return result
