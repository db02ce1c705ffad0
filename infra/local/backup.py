"""`python -m infra.local.backup`: run the nightly backup now, against the running
local stack (or any endpoint and table), with the same handler as in AWS."""

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from infra.local.runtime import LocalFunction
from infra.local.scheduler import scheduled_event
from infra.local.stack import REAL_AWS, Options, local_functions, read_state, use_running_stack
from infra.topology import BACKUP_SCHEDULE, Function


def running_stack_function(
    function: Function,
    argv: list[str] | None,
    description: str,
    more_arguments: Callable[[argparse.ArgumentParser], object] = lambda parser: None,
) -> tuple[LocalFunction, argparse.Namespace]:
    """`function` as the running local stack (`--data-dir`) would run it, and the
    command line's arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, default=Path(".local"))
    more_arguments(parser)
    args = parser.parse_args(argv)
    state = read_state(args.data_dir)
    use_running_stack(state)
    # INFO: the function's own log lines say what it did.
    # The function keeps its own identity against the embedded endpoint (it has an engine).
    endpoint_url = None if state["engine_pid"] else (state["endpoint_url"] or REAL_AWS)
    options = Options(
        table_name=state["table_name"], endpoint_url=endpoint_url, function_log_level="INFO"
    )
    return local_functions(options, (function,))[function.name], args


def main(argv: list[str] | None = None) -> int:
    backup, _ = running_stack_function(BACKUP_SCHEDULE.function, argv, __doc__ or "")
    result = backup.invoke(scheduled_event(BACKUP_SCHEDULE, datetime.now(UTC)))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
