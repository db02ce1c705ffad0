"""The nightly backup: an on-demand backup of the table, then retention.

Invoked by the EventBridge schedule (which retries): at most one backup per UTC
night, whatever the retries. Errors are never swallowed: the invocation fails,
so the function-errors alarm fires, and a missing BackupCreated metric raises
the backup-missing alarm. `python -m backup.handler` runs the job once
(TABLE_NAME, BACKUP_RETENTION_DAYS and BACKUP_MIN_KEEP, all required, and
AWS_ENDPOINT_URL for the local stack).
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from backup.backups import BackupStore
from backup.retention import nightly_name, to_prune, tonights_backup
from backup.settings import BackupSettings
from shared.aws import dynamodb
from shared.observability import logger, metrics, tracer

settings = BackupSettings.from_env()
store = BackupStore(dynamodb(), settings.table_name)


@dataclass
class NightlyResult:
    backup_arn: str
    backup_name: str
    created: bool  # False when tonight's backup already existed (a retried schedule)
    pruned: list[str] = field(default_factory=list)  # ARNs


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asdict(nightly_backup(store, settings, datetime.now(UTC)))


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
    for old in to_prune(store.list(), now, settings.retention_days, settings.min_keep):
        store.delete(old)
        metrics.add_metric(name="BackupPruned", unit=MetricUnit.Count, value=1)
        logger.info(
            "backup pruned", extra={"backup": old.name, "created_at": old.created.isoformat()}
        )
        result.pruned.append(old.arn)
    return result


def main() -> None:
    print(json.dumps(asdict(nightly_backup(store, settings, datetime.now(UTC))), indent=2))


if __name__ == "__main__":
    main()
