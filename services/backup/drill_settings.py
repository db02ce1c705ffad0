"""The restore drill's settings, read from the environment once at start-up."""

from dataclasses import dataclass
from typing import Final

from shared.config import MissingSetting, integer, require

# The drill's phases: the event each of its schedules sends is {"phase": <phase>}.
START: Final = "start"
VERIFY: Final = "verify"

# Least privilege, by resource (see backup.drill's docstring). Here, not in
# backup.drill, so that the topology reads them without loading Powertools.
ANY_RESOURCE_ACTIONS: Final = ("dynamodb:ListBackups", "dynamodb:ListTables")
LIVE_BACKUP_ACTIONS: Final = ("dynamodb:DescribeBackup", "dynamodb:RestoreTableFromBackup")
LIVE_ROLLUP_ACTIONS: Final = ("dynamodb:Query",)
# What RestoreTableFromBackup needs on its target table (AWS: "Using IAM with
# DynamoDB backup and restore"), and what the drill itself calls on it.
RESTORE_TARGET_ACTIONS: Final = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
SCRATCH_TABLE_ACTIONS: Final = (
    *RESTORE_TARGET_ACTIONS,
    # The Service Authorization Reference lists the target table as a resource of
    # RestoreTableFromBackup besides the backup: granted on both.
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeTable",
)

WINDOW_DAYS_VARIABLE: Final = "DRILL_WINDOW_DAYS"
DEFAULT_WINDOW_DAYS: Final = 35
# A scratch table is `<table>-drill-<UTC time>`: the prefix is what the drill's IAM
# permissions are scoped on, so nothing but a drill's restore can match it.
SCRATCH_TAG: Final = "-drill-"
STAMP_FORMAT: Final = "%Y%m%dT%H%M%S"
_STAMP_LENGTH: Final = len("20261207T134900")
MAX_TABLE_NAME_LENGTH: Final = 255


def scratch_prefix(table_name: str) -> str:
    """The start of every scratch table's name, e.g. `pick-a-number-drill-`."""
    return table_name + SCRATCH_TAG


@dataclass(frozen=True)
class DrillSettings:
    table_name: str  # the live table, whose backups the drill restores
    window_days: int = DEFAULT_WINDOW_DAYS  # closed days checked before the backup's day

    def __post_init__(self) -> None:
        if self.window_days < 1:
            raise MissingSetting(
                f"{WINDOW_DAYS_VARIABLE} must be at least 1, not {self.window_days}"
            )
        if len(self.scratch_prefix) + _STAMP_LENGTH > MAX_TABLE_NAME_LENGTH:
            raise MissingSetting(
                f"TABLE_NAME {self.table_name!r} is too long for a scratch table name "
                f"({self.scratch_prefix}<{STAMP_FORMAT}> > {MAX_TABLE_NAME_LENGTH} characters)"
            )

    @property
    def scratch_prefix(self) -> str:
        return scratch_prefix(self.table_name)

    @classmethod
    def from_env(cls) -> "DrillSettings":
        return cls(
            table_name=require("TABLE_NAME"),
            window_days=integer(WINDOW_DAYS_VARIABLE, DEFAULT_WINDOW_DAYS),
        )
