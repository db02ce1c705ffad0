"""The nightly backup: an on-demand backup of the table, then retention.

Invoked by the EventBridge schedule (which retries): at most one backup per UTC
night, whatever the retries. Errors are never swallowed: the invocation fails,
its last retry goes to the schedule's dead-letter queue (alarmed at alarm level
`full`, as are the function's errors), and from level `slo` (prod's) a missing
BackupCreated metric raises the backup-missing alarm. `python -m backup.handler`
runs the job once (TABLE_NAME, BACKUP_RETENTION_DAYS, BACKUP_MIN_KEEP, BACKUP_KEEP_WEEKLY and
BACKUP_KEEP_MONTHLY, all required, and AWS_ENDPOINT_URL for the local stack).
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backup.backups import BackupStore
from backup.retention import BackupSettings, nightly_name, to_prune, tonights_backup
from shared.aws import dynamodb
from shared.observability import LambdaHandler, instrumented, logger, metrics


@dataclass
class NightlyResult:
    backup_arn: str
    backup_name: str
    created: bool  # False when tonight's backup already existed (a retried schedule)
    pruned: list[str] = field(default_factory=list)  # ARNs


def make_handler(store: BackupStore, settings: BackupSettings) -> LambdaHandler:
    """The function's Lambda handler: tonight's backup of `store`, then retention."""

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return asdict(nightly_backup(store, settings, datetime.now(UTC)))

    return instrumented(lambda_handler)


def nightly_backup(store: BackupStore, settings: BackupSettings, now: datetime) -> NightlyResult:
    existing = tonights_backup(store.list(), settings.table_name, now)
    if existing is None:
        backup = store.create(nightly_name(settings.table_name, now.astimezone(UTC).date()))
        metrics.add_metric(name="BackupCreated", unit=MetricUnit.Count, value=1)
        logger.info("backup created", extra={"backup": backup.name, "arn": backup.arn})
    else:
        backup = existing
        logger.info("tonight's backup exists already", extra={"backup": backup.name})
    result = NightlyResult(backup.arn, backup.name, created=existing is None)
    for old in to_prune(store.list(), now, settings.retention):
        store.delete(old)
        metrics.add_metric(name="BackupPruned", unit=MetricUnit.Count, value=1)
        logger.info(
            "backup pruned", extra={"backup": old.name, "created_at": old.created.isoformat()}
        )
        result.pruned.append(old.arn)
    return result


def from_environment() -> tuple[BackupStore, BackupSettings]:
    """The deployed store and settings (every setting required: MissingSetting if not)."""
    settings = BackupSettings.from_env()
    return BackupStore(dynamodb(), settings.table_name), settings


def main() -> None:
    print(json.dumps(asdict(nightly_backup(*from_environment(), datetime.now(UTC))), indent=2))


# Built at import, as at a cold start: the settings are checked, a client is made,
# no AWS call.
lambda_handler = make_handler(*from_environment())

if __name__ == "__main__":
    main()
