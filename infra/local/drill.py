"""`python -m infra.local.drill`: run the restore drill now, against the running
local stack, with the same handler as in AWS: by default its start phase, then its
verify phase (a local restore takes seconds), on the backups `make backup-local`
took. Its last line is the drill's result, one JSON object; it exits 1 when the
drill failed."""

import json
import sys
from datetime import UTC, datetime

from backup.drill_settings import START, VERIFY
from infra.local.backup import running_stack_function
from infra.local.scheduler import scheduled_event
from infra.topology import DRILL_SCHEDULES

BOTH = "both"


def main(argv: list[str] | None = None) -> int:
    schedules = {dict(schedule.payload)["phase"]: schedule for schedule in DRILL_SCHEDULES}
    drill, args = running_stack_function(
        DRILL_SCHEDULES[0].function,
        argv,
        __doc__ or "",
        lambda parser: parser.add_argument("--phase", choices=(START, VERIFY, BOTH), default=BOTH),
    )
    phases = (START, VERIFY) if args.phase == BOTH else (args.phase,)
    for phase in phases:
        result = drill.invoke(scheduled_event(schedules[phase], datetime.now(UTC)))
        if phase != phases[-1]:
            print(f"{phase}: {json.dumps(result)}")
            if not result["passed"]:
                break
    for problem in result["problems"]:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
