"""Per-environment settings of the CDK app: typed, validated, read once.

They live in `cdk.json` under the context key `pick-a-number:environments`, one
entry per environment. `-c env=<name>` picks one (default `dev`); `-c email=…`
sets the alarm and budget e-mail for that deployment (never committed).
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Node

from backup.retention import InvalidRetention, check_retention
from infra.topology import API_THROTTLE, BACKUP_RETENTION, STREAM_CONSUMER

ENVIRONMENTS_CONTEXT_KEY: Final = "pick-a-number:environments"
ENV_CONTEXT_KEY: Final = "env"
EMAIL_CONTEXT_KEY: Final = "email"
DEFAULT_ENV: Final = "dev"

# DynamoDB's always-free tier: 25 WCU and 25 RCU of *provisioned* capacity,
# summed over every table and index of the region (this app has one table).
FREE_TIER_CAPACITY_UNITS: Final = 25
# Lambda runs 1 to 10 batches of one stream shard at once (order kept per item).
MAX_PARALLELIZATION_FACTOR: Final = 10

BillingMode = Literal["PROVISIONED", "PAY_PER_REQUEST"]


class SettingsError(ValueError):
    """An environment's settings are missing or out of range: synthesis stops."""


@dataclass(frozen=True)
class EnvironmentSettings:
    """Everything that differs between two deployments of the app."""

    name: str
    # DynamoDB: PROVISIONED within the free tier by default, or PAY_PER_REQUEST.
    billing_mode: BillingMode = "PROVISIONED"
    read_capacity: int = 5
    write_capacity: int = 5
    # CloudWatch log groups (functions, API access logs) and the logs bucket.
    log_retention_days: int = 14
    # The nightly backup job keeps backups this long, and never fewer than min_keep.
    backup_retention_days: int = BACKUP_RETENTION.days
    backup_min_keep: int = BACKUP_RETENTION.min_keep
    # API Gateway stage, method and usage-plan throttling.
    api_rate_limit: float = API_THROTTLE.rate_per_second
    api_burst_limit: int = API_THROTTLE.burst
    # Concurrent batches per stream shard for the aggregator; above 1, concurrent
    # invocations write the same day's rollup: see ROLLUP_LAYOUT in infra/topology.py.
    parallelization_factor: int = STREAM_CONSUMER.parallelization_factor
    # SNS alarm topic and budget alert; None: no e-mail subscription is created.
    alarm_email: str | None = None
    # Monthly AWS Budget (USD) over the resources tagged with this environment.
    budget_usd: int = 5
    # True: RETAIN + deletion protection on the data (table, site bucket).
    retain_data: bool = True
    # Optional custom domain: an ACM certificate in us-east-1 covering it. Only
    # then can CloudFront enforce TLSv1.2_2021 (the default certificate is fixed).
    domain_name: str | None = None
    certificate_arn: str | None = None

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise SettingsError(f"environment '{self.name}': " + "; ".join(problems))

    def _problems(self) -> list[str]:
        found = []
        if not self.name.isalnum() or not self.name.islower():
            found.append("the name must be lower-case letters and digits")
        if self.billing_mode not in ("PROVISIONED", "PAY_PER_REQUEST"):
            found.append("billing_mode must be PROVISIONED or PAY_PER_REQUEST")
        if self.billing_mode == "PROVISIONED":
            for label, units in (("read", self.read_capacity), ("write", self.write_capacity)):
                if not 1 <= units <= FREE_TIER_CAPACITY_UNITS:
                    found.append(
                        f"{label}_capacity must be 1..{FREE_TIER_CAPACITY_UNITS} "
                        "(the free tier, summed over all tables of the region)"
                    )
        if self.log_retention_days not in _RETENTION_DAYS:
            found.append(f"log_retention_days must be one of {sorted(_RETENTION_DAYS)}")
        try:  # the backup function's own rule, checked before it is deployed
            check_retention(self.backup_retention_days, self.backup_min_keep)
        except InvalidRetention as error:
            found.append(f"backup_retention_days, backup_min_keep: {error}")
        if self.api_rate_limit <= 0 or self.api_burst_limit < 1:
            found.append("api_rate_limit and api_burst_limit must be positive")
        if not 1 <= self.parallelization_factor <= MAX_PARALLELIZATION_FACTOR:
            found.append(f"parallelization_factor must be 1..{MAX_PARALLELIZATION_FACTOR}")
        if self.budget_usd < 1:
            found.append("budget_usd must be at least 1")
        if (self.domain_name is None) != (self.certificate_arn is None):
            found.append("domain_name and certificate_arn go together")
        if self.alarm_email is not None and "@" not in self.alarm_email:
            found.append("alarm_email must be an e-mail address")
        return found

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        return cdk.RemovalPolicy.RETAIN if self.retain_data else cdk.RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_DAYS[self.log_retention_days]

    @classmethod
    def from_mapping(cls, name: str, values: Mapping[str, Any]) -> "EnvironmentSettings":
        known = {f.name for f in fields(cls)} - {"name"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"environment '{name}': unknown settings {unknown}")
        return cls(name=name, **values)


# The retention periods CloudWatch Logs accepts (the ones this app offers).
_RETENTION_DAYS: Final = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}


def all_environments(node: Node) -> dict[str, EnvironmentSettings]:
    """Every environment declared in the context, validated."""
    declared = node.try_get_context(ENVIRONMENTS_CONTEXT_KEY)
    if not isinstance(declared, dict) or not declared:
        raise SettingsError(f"cdk.json must declare context '{ENVIRONMENTS_CONTEXT_KEY}'")
    return {name: EnvironmentSettings.from_mapping(name, v) for name, v in declared.items()}


def selected_environment(node: Node) -> EnvironmentSettings:
    """The environment chosen with `-c env=…`, with `-c email=…` applied."""
    environments = all_environments(node)
    name = node.try_get_context(ENV_CONTEXT_KEY) or DEFAULT_ENV
    if name not in environments:
        raise SettingsError(f"unknown environment '{name}'; declared: {sorted(environments)}")
    chosen = environments[name]
    email = node.try_get_context(EMAIL_CONTEXT_KEY)
    if email:
        values = {f.name: getattr(chosen, f.name) for f in fields(chosen)}
        chosen = EnvironmentSettings(**{**values, "alarm_email": str(email)})
    return chosen
