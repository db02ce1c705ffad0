"""The backup function's settings, read from the environment once at start-up.

Every one is required: the deployment passes them (the CDK app from the
environment's settings, the local stack from their defaults, both in infra/), so
the function holds no defaults of its own that could differ from those.
"""

from dataclasses import dataclass
from typing import Final

from backup.retention import InvalidRetention, check_retention
from shared.settings import MissingSetting, require

RETENTION_DAYS_VARIABLE: Final = "BACKUP_RETENTION_DAYS"
MIN_KEEP_VARIABLE: Final = "BACKUP_MIN_KEEP"


@dataclass(frozen=True)
class BackupSettings:
    table_name: str
    retention_days: int  # prune USER backups older than this many days
    min_keep: int  # but always keep this many of the newest

    def __post_init__(self) -> None:
        try:
            check_retention(self.retention_days, self.min_keep)
        except InvalidRetention as error:
            raise MissingSetting(
                f"{RETENTION_DAYS_VARIABLE}={self.retention_days}, "
                f"{MIN_KEEP_VARIABLE}={self.min_keep}: {error}"
            ) from None

    @classmethod
    def from_env(cls) -> "BackupSettings":
        return cls(
            table_name=require("TABLE_NAME"),
            retention_days=_required_integer(RETENTION_DAYS_VARIABLE),
            min_keep=_required_integer(MIN_KEEP_VARIABLE),
        )


def _required_integer(name: str) -> int:
    raw = require(name)
    try:
        return int(raw)
    except ValueError:
        raise MissingSetting(f"{name} must be an integer, not {raw!r}") from None
