"""`python -m infra.local.backup`: run the nightly backup now, against the running
local stack (or any endpoint and table), with the same handler as in AWS."""

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from infra.local.runtime import LocalFunction
from infra.local.scheduler import scheduled_event
from infra.local.stack import function_environment, read_state
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
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    backup = LocalFunction(BACKUP_SCHEDULE.function, function_environment(state["table_name"]))
    result = backup.invoke(scheduled_event(BACKUP_SCHEDULE, datetime.now(UTC)))
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
