"""`python -m infra.local.backup`: run the nightly backup now, against the running
local stack (or any endpoint and table), with the same handler as in AWS."""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from infra.local.scheduler import scheduled_event
from infra.local.stack import REAL_AWS, Options, local_functions, read_state, use_running_stack
from infra.topology import BACKUP_SCHEDULE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.backup", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".local"))
    args = parser.parse_args(argv)
    state = read_state(args.data_dir)
    use_running_stack(state)
    # INFO: the backup's own log lines (created, pruned) say what it did.
    # The function keeps its own identity against the embedded endpoint (it has an engine).
    endpoint_url = None if state["engine_pid"] else (state["endpoint_url"] or REAL_AWS)
    options = Options(
        table_name=state["table_name"], endpoint_url=endpoint_url, function_log_level="INFO"
    )
    backup = local_functions(options)[BACKUP_SCHEDULE.function.name]
    result = backup.invoke(scheduled_event(BACKUP_SCHEDULE, datetime.now(UTC)))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
