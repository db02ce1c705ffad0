"""The backup function's settings, read from the environment once at start-up."""

from dataclasses import dataclass

from shared.settings import MissingSetting, integer, require

DEFAULT_RETENTION_DAYS = 35
DEFAULT_MIN_KEEP = 7


@dataclass(frozen=True)
class BackupSettings:
    table_name: str
    retention_days: int = DEFAULT_RETENTION_DAYS  # prune USER backups older than this
    min_keep: int = DEFAULT_MIN_KEEP  # but always keep this many of the newest

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise MissingSetting("BACKUP_RETENTION_DAYS must be at least 1")
        if self.min_keep < 1:
            raise MissingSetting("BACKUP_MIN_KEEP must be at least 1")

    @classmethod
    def from_env(cls) -> "BackupSettings":
        return cls(
            table_name=require("TABLE_NAME"),
            retention_days=integer("BACKUP_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
            min_keep=integer("BACKUP_MIN_KEEP", DEFAULT_MIN_KEEP),
        )
