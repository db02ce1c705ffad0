"""One cold start, run as a fresh process by bench/cold_start.py.

argv: target (floor | a handler "module.function"), event file, results file.
The event is read before the clock starts, as the Lambda runtime would have it
ready; the clock then covers the imports, the module-level initialisation and
one invocation. Only stdlib modules the Lambda runtime itself has loaded are
imported before the clock starts.
"""

import importlib
import json
import sys
import time
from typing import Any


class Context:
    """The parts of LambdaContext that Powertools reads. A copy of
    `infra.local.events.LambdaContext.timeless()` on purpose: importing that module
    would load the app's packages before the clock starts."""

    function_name = "bench-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-function"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def floor(request: dict[str, Any]) -> None:
    """The least a DynamoDB function can do: import boto3, create a client, call once
    (a GetItem, its request in the event)."""
    import boto3

    boto3.client("dynamodb").get_item(**request)


def main() -> None:
    target, event_file, results_file = sys.argv[1:4]
    with open(event_file) as f:
        event = json.load(f)
    cpu_start = time.process_time()
    start = time.perf_counter()
    if target == "floor":
        floor(event)
        initialised = invoked = time.perf_counter()
        outcome = None
    else:
        module_name, function_name = target.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), function_name)
        initialised = time.perf_counter()
        outcome = handler(event, Context())
        invoked = time.perf_counter()
    cpu = time.process_time() - cpu_start
    with open(results_file, "w") as f:
        json.dump(
            {
                "init_seconds": initialised - start,
                "invoke_seconds": invoked - initialised,
                "total_seconds": invoked - start,
                "cpu_seconds": cpu,
                "outcome": outcome,
            },
            f,
        )


if __name__ == "__main__":
    main()
