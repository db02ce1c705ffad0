"""A function's configuration: typed settings read from its process environment once,
at start-up (shared by every function; the backup function's own are in
`backup.retention`)."""

import os
from dataclasses import dataclass


class MissingSetting(RuntimeError):
    """Raised at start-up when a function is deployed without a setting it needs."""


def require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingSetting(f"environment variable {name} must be set")
    return value


def integer(name: str, default: int | None = None) -> int:
    """An integer setting; without a default it is required."""
    if default is None:
        raw = require(name)
    elif not (raw := os.environ.get(name, "").strip()):
        return default
    try:
        return int(raw)
    except ValueError:
        raise MissingSetting(f"{name} must be an integer, not {raw!r}") from None


@dataclass(frozen=True)
class TableSettings:
    table_name: str

    @classmethod
    def from_env(cls) -> "TableSettings":
        return cls(table_name=require("TABLE_NAME"))
