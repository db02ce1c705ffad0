"""`python -m infra.local.backup`: run the nightly backup now, against the running
local stack (or any endpoint and table), with the same handler as in AWS."""

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from infra.local.scheduler import scheduled_event
from infra.local.stack import Options, local_functions, read_state
from infra.topology import BACKUP_SCHEDULE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.backup", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(".local"))
    args = parser.parse_args(argv)
    state = read_state(args.data_dir)
    os.environ.setdefault("AWS_DEFAULT_REGION", state["region"])
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    if state["endpoint_url"]:
        os.environ["AWS_ENDPOINT_URL"] = state["endpoint_url"]
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    # INFO: the backup's own log lines (created, pruned) say what it did.
    options = Options(table_name=state["table_name"], function_log_level="INFO")
    backup = local_functions(options)[BACKUP_SCHEDULE.function.name]
    result = backup.invoke(scheduled_event(BACKUP_SCHEDULE, datetime.now(UTC)))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
