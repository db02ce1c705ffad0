"""Per-environment settings of the CDK app: typed, validated, read once.

They live in `cdk.json` under the context key `pick-a-number:environments`, one
entry per environment. `-c env=<name>` picks one (default `dev`); `-c email=…`
sets the alarm and budget e-mail for that deployment (never committed).
"""

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any, Final, Literal

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Node

from backup.retention import InvalidRetention, check_retention
from infra.topology import (
    API_THROTTLE,
    BACKUP_RETENTION,
    DAILY_STATS,
    ROLLUP_LAYOUT,
    STREAM_CONSUMER,
    SUBMIT_NUMBER,
    BackupRetention,
    RuntimeSettings,
)
from shared.histogram import NUMBERS
from shared.observability import environment_namespace
from shared.rollups import KEY_PREFIX
from shared.schemas import MAX_RANGE_DAYS

ENVIRONMENTS_CONTEXT_KEY: Final = "pick-a-number:environments"
ENV_CONTEXT_KEY: Final = "env"
EMAIL_CONTEXT_KEY: Final = "email"
DEFAULT_ENV: Final = "dev"

# DynamoDB's always-free tier: 25 WCU and 25 RCU of *provisioned* capacity,
# summed over every table and index of the region (this app has one table).
FREE_TIER_CAPACITY_UNITS: Final = 25
# Lambda runs 1 to 10 batches of one stream shard at once (order kept per item).
MAX_PARALLELIZATION_FACTOR: Final = 10

# What one request costs the table, measured (bench/write_units.py, docs/ARCHITECTURE.md):
# an accepted pick writes 1 unit (raw item) + 2 (its marker, in the aggregator's
# transaction) + 2/n (the rollup, shared by the n picks of a batch). At the rates a
# free-tier table sustains a batch holds about one pick, so n = 1: 5 units (3.04 only
# with batches of 100).
WRITE_UNITS_PER_PICK: Final = 5.0

# A daily-stats request reads one eventually consistent Query per calendar month of its
# range (services/shared/rollups.py), each billed 0.5 unit per 4 KB of items, rounded
# up and 0.5 at least. Priced for the longest range the API allows (MAX_RANGE_DAYS),
# not the default 7 days: anyone may ask for it.
READ_UNIT_BYTES: Final = 4096
EVENTUAL_READ_UNIT: Final = 0.5
# A day's count of one number stays below 10^8: a free-tier table admits at most
# 25 / 5 picks/s, 432,000 a day.
MAX_COUNT_DIGITS: Final = 8
_LONGEST_MONTH: Final = 31


def rollup_item_bytes(parts: int) -> int:
    """The largest rollup item as DynamoDB sizes it (attribute names plus values; a
    number is 1 byte plus 1 per two digits): pk, sk with its part, n1..n10."""
    keys = len("pk") + len(f"{KEY_PREFIX}YYYY-MM") + len("sk") + len("YYYY-MM-DD")
    if parts > 1:
        keys += len(f"#{parts - 1}")
    number = 1 + math.ceil(MAX_COUNT_DIGITS / 2)
    return keys + sum(len(f"n{n}") + number for n in NUMBERS)


def most_months(days: int) -> int:
    """The most calendar months a range of `days` days touches (over a leap cycle)."""

    def touched(first: date) -> int:
        last = first + timedelta(days=days - 1)
        return (last.year - first.year) * 12 + last.month - first.month + 1

    return max(touched(date(2024, 1, 1) + timedelta(days=i)) for i in range(4 * 365 + 1))


def stats_request_read_units(parts: int) -> float:
    """Read units of the costliest daily-stats request: MAX_RANGE_DAYS days, each of
    its months a Query of up to 31 days of `parts` rollup items."""
    month_bytes = _LONGEST_MONTH * parts * rollup_item_bytes(parts)
    per_query = max(1, math.ceil(month_bytes / READ_UNIT_BYTES)) * EVENTUAL_READ_UNIT
    return most_months(MAX_RANGE_DAYS) * per_query


# 13 Queries of one 4 KB step each with one part per day: 6.5 units.
READ_UNITS_PER_STATS_REQUEST: Final = stats_request_read_units(ROLLUP_LAYOUT.parts)

# The web app's GET /api/daily-stats calls (web/app.js; tests/e2e hold it to them):
# one per page view, and per pick at most one read before it is sent plus three polls
# after it (none retried), whether or not the stream is late.
WEB_STATS_CALLS_PER_VIEW: Final = 1
WEB_STATS_CALLS_PER_PICK: Final = 4
SECONDS_PER_MONTH: Final = 30 * 86_400


def stats_calls_per_second(picks_per_month: int, page_views_per_month: int) -> float:
    """The web app's daily-stats calls per second, on average, at a monthly load."""
    calls = page_views_per_month * WEB_STATS_CALLS_PER_VIEW
    calls += picks_per_month * WEB_STATS_CALLS_PER_PICK
    return calls / SECONDS_PER_MONTH


BillingMode = Literal["PROVISIONED", "PAY_PER_REQUEST"]
# How the deploy workflow checks a deployment with the contract suite (tests/contract):
# `full` writes submissions, `read-only` writes nothing (production).
SmokeMode = Literal["full", "read-only"]
SMOKE_MODES: Final = ("full", "read-only")
# How CodeDeploy shifts traffic to a new version of the functions (infra/cloud/release.py):
# its predefined Lambda configurations, by their names without the prefix.
RELEASES: Final = (
    "AllAtOnce",
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
)
# Which alarms an environment gets (infra/cloud/observability.py): each level adds
# to the one before. CloudWatch's free tier is 10 alarm metrics per account.
AlarmLevel = Literal["minimal", "slo", "full"]
# Powertools' log level in every deployed function.
FUNCTION_LOG_LEVEL: Final = "INFO"
ALARM_LEVELS: Final[tuple[AlarmLevel, ...]] = ("minimal", "slo", "full")


# `cdk bootstrap --qualifier`: 1-10 lower-case letters and digits (part of role and
# bucket names). One per environment isolates their deploy and execution roles.
_QUALIFIER: Final = re.compile(r"^[a-z0-9]{1,10}$")


def default_qualifier(name: str) -> str:
    """`pan<env>` (Pick A Number), for an environment that names none."""
    return f"pan{name}"[:10]


class SettingsError(ValueError):
    """An environment's settings are missing or out of range: synthesis stops."""


# AWS WAF's rate-based rules: the trailing windows it counts over, and its lowest limit.
WAF_WINDOWS_SECONDS: Final = (60, 120, 300, 600)
WAF_MIN_RATE_LIMIT: Final = 10


@dataclass(frozen=True)
class WafSettings:
    """AWS WAF on the environment's CloudFront distribution (infra/cloud/edge.py): each
    client IP may send `rate_limit` POST /api/submit-number requests per trailing
    `window_seconds`; past that it gets 429 with Retry-After `window_seconds`."""

    # A sustained 1 submission per 3 s per address; a burst of 100 (a shared address,
    # the post-deploy contract suite's ≈ 43 POSTs) passes, the API's throttle shaping it.
    rate_limit: int = 100
    window_seconds: int = 300

    def problems(self, submit_rate_limit: float) -> list[str]:
        found = []
        limit_ok = type(self.rate_limit) is int and self.rate_limit >= WAF_MIN_RATE_LIMIT
        if not limit_ok:
            found.append(f"waf.rate_limit must be an integer of at least {WAF_MIN_RATE_LIMIT}")
        if self.window_seconds not in WAF_WINDOWS_SECONDS:
            found.append(f"waf.window_seconds must be one of {list(WAF_WINDOWS_SECONDS)}")
        elif limit_ok and self.rate_limit >= submit_rate_limit * self.window_seconds:
            # Else one client within its WAF limit could still take the whole shared
            # throttle, which is what the rule is for.
            found.append(
                f"waf.rate_limit {self.rate_limit} per {self.window_seconds} s must stay "
                f"below submit_rate_limit {submit_rate_limit:g}/s over that window"
            )
        return found

    @classmethod
    def from_value(cls, environment: str, value: object) -> "WafSettings | None":
        """cdk.json's `waf`: absent, null or false (off), true (the defaults) or a map."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if not isinstance(value, Mapping):
            raise SettingsError(f"environment '{environment}': waf must be a map, true or false")
        unknown = sorted(set(value) - {f.name for f in fields(cls)})
        if unknown:
            raise SettingsError(f"environment '{environment}': unknown waf settings {unknown}")
        return cls(**value)


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
    # API Gateway stage and usage-plan throttling (every method together).
    api_rate_limit: float = API_THROTTLE.rate_per_second
    api_burst_limit: int = API_THROTTLE.burst
    # Per method, within what the table sustains (checked below when PROVISIONED):
    # POST /api/submit-number from write_capacity, GET /api/daily-stats from read_capacity.
    submit_rate_limit: float = 1.0
    submit_burst_limit: int = 2
    stats_rate_limit: float = 0.75
    stats_burst_limit: int = 2
    # The monthly load the environment is built for (docs/COSTS.md): synthesis refuses
    # method throttles that would turn the web app's own calls at that load into 429s.
    design_picks_per_month: int = 0
    design_page_views_per_month: int = 0
    # Alarms: "minimal" (API 5xx, lost stream records), "slo" (+ latency, stream lag,
    # backups) or "full" (+ per-function errors, table throttles, schedule DLQ).
    alarms: AlarmLevel = "slo"
    # X-Ray: the share of API requests traced (the environment's sampling rule, no
    # reservoir), and whether the stream consumer is traced (Lambda samples a
    # stream-invoked function at 1/s + 5 %, which no rule changes).
    xray_sampling_rate: float = 0.05
    trace_stream_consumer: bool = True
    # Concurrent batches per stream shard for the aggregator; above 1, concurrent
    # invocations write the same day's rollup: see ROLLUP_LAYOUT in infra/topology.py.
    parallelization_factor: int = STREAM_CONSUMER.parallelization_factor
    # SNS alarm topic and budget alert; None: no e-mail subscription is created.
    alarm_email: str | None = None
    # Monthly AWS Budget (USD) over the resources tagged with this environment.
    budget_usd: int = 5
    # True: RETAIN + deletion protection on the data (table, site bucket).
    retain_data: bool = True
    # Raise by one to rotate the key CloudFront sends to the API (a new random key
    # replaces the old one within one deployment, without downtime).
    origin_key_generation: int = 1
    # The CDK bootstrap qualifier of this environment (`make bootstrap ENV=<env>`);
    # empty: `pan<name>`. Each environment's roles are cdk-<qualifier>-*.
    bootstrap_qualifier: str = ""
    # Optional custom domain: an ACM certificate in us-east-1 covering it. Only
    # then can CloudFront enforce TLSv1.2_2021 (the default certificate is fixed).
    domain_name: str | None = None
    certificate_arn: str | None = None
    # The contract suite after each deployment (tools/deploy_environments.py reads it).
    smoke_mode: SmokeMode = "read-only"
    # A canary unless an environment says otherwise (dev: AllAtOnce).
    release: str = "Canary10Percent5Minutes"
    # AWS WAF on the distribution, in front of the API (docs/SECURITY.md); None: off,
    # as it is outside the free tier (docs/COSTS.md).
    waf: WafSettings | None = None

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
        for prefix in ("api", "submit", "stats"):
            rate, burst = (
                getattr(self, f"{prefix}_rate_limit"),
                getattr(self, f"{prefix}_burst_limit"),
            )
            if rate <= 0 or burst < 1:
                found.append(f"{prefix}_rate_limit and {prefix}_burst_limit must be positive")
        if self.billing_mode == "PROVISIONED":
            found += self._capacity_problems()
        found += self._design_load_problems()
        if self.origin_key_generation < 1:
            found.append("origin_key_generation must be at least 1")
        if not _QUALIFIER.match(self.qualifier):
            found.append("bootstrap_qualifier must be 1-10 lower-case letters and digits")
        if not 0 <= self.xray_sampling_rate <= 1:
            found.append("xray_sampling_rate must be between 0 and 1")
        if self.alarms not in ALARM_LEVELS:
            found.append(f"alarms must be one of {list(ALARM_LEVELS)}")
        if not 1 <= self.parallelization_factor <= MAX_PARALLELIZATION_FACTOR:
            found.append(f"parallelization_factor must be 1..{MAX_PARALLELIZATION_FACTOR}")
        if self.budget_usd < 1:
            found.append("budget_usd must be at least 1")
        if (self.domain_name is None) != (self.certificate_arn is None):
            found.append("domain_name and certificate_arn go together")
        if self.release not in RELEASES:
            found.append(f"release must be one of {list(RELEASES)}")
        if self.smoke_mode not in SMOKE_MODES:
            found.append(f"smoke_mode must be one of {list(SMOKE_MODES)}")
        if self.alarm_email is not None and "@" not in self.alarm_email:
            found.append("alarm_email must be an e-mail address")
        if self.waf is not None:
            found += self.waf.problems(self.submit_rate_limit)
        return found

    def _capacity_problems(self) -> list[str]:
        """A provisioned table sustains its capacity per second: the API must not admit
        more than that (past the burst credit, users would get 503s)."""
        found = []
        for method, rate, cost, units, capacity in (
            ("submit", self.submit_rate_limit, WRITE_UNITS_PER_PICK, "write", self.write_capacity),
            (
                "stats",
                self.stats_rate_limit,
                READ_UNITS_PER_STATS_REQUEST,
                "read",
                self.read_capacity,
            ),
        ):
            if rate * cost > capacity:
                found.append(
                    f"{method}_rate_limit {rate:g}/s x {cost:g} {units} units per request = "
                    f"{rate * cost:g} > {units}_capacity {capacity}: lower {method}_rate_limit "
                    f"to {capacity / cost:g} or less, raise {units}_capacity to "
                    f"{rate * cost:g} or more, or set billing_mode PAY_PER_REQUEST"
                )
        return found

    def _design_load_problems(self) -> list[str]:
        """The method throttles admit the web app's calls at the design load's monthly
        average; busier hours above it get 429 (README, "What each environment
        sustains")."""
        if min(self.design_picks_per_month, self.design_page_views_per_month) < 0:
            return ["design_picks_per_month and design_page_views_per_month must be >= 0"]
        found = []
        for method, rate, needed in (
            ("submit", self.submit_rate_limit, self.design_picks_per_month / SECONDS_PER_MONTH),
            (
                "stats",
                self.stats_rate_limit,
                stats_calls_per_second(
                    self.design_picks_per_month, self.design_page_views_per_month
                ),
            ),
        ):
            if rate < needed:
                found.append(
                    f"{method}_rate_limit {rate:g}/s is below the web app's {needed:.2f} "
                    f"calls/s at the design load ({self.design_picks_per_month:,} picks and "
                    f"{self.design_page_views_per_month:,} page views a month)"
                )
        return found

    def method_throttle(self, function_name: str) -> tuple[float, int]:
        """(rate per second, burst) of the API method served by `function_name`."""
        if function_name == SUBMIT_NUMBER.name:
            return self.submit_rate_limit, self.submit_burst_limit
        if function_name == DAILY_STATS.name:
            return self.stats_rate_limit, self.stats_burst_limit
        return self.api_rate_limit, self.api_burst_limit

    @property
    def runtime(self) -> RuntimeSettings:
        """What the functions of this environment read (infra/topology.py derives each
        function's environment from it)."""
        return RuntimeSettings(
            metrics_namespace=environment_namespace(self.name),
            log_level=FUNCTION_LOG_LEVEL,
            backup_retention=BackupRetention(self.backup_retention_days, self.backup_min_keep),
            rollup_layout=ROLLUP_LAYOUT,
        )

    @property
    def qualifier(self) -> str:
        return self.bootstrap_qualifier or default_qualifier(self.name)

    def has_alarms(self, level: AlarmLevel) -> bool:
        """True when this environment's alarm level includes `level`'s alarms."""
        return ALARM_LEVELS.index(self.alarms) >= ALARM_LEVELS.index(level)

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
        if "waf" in values:
            values = {**values, "waf": WafSettings.from_value(name, values["waf"])}
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
    found = {name: EnvironmentSettings.from_mapping(name, v) for name, v in declared.items()}
    qualifiers = [settings.qualifier for settings in found.values()]
    if len(set(qualifiers)) != len(qualifiers):
        raise SettingsError("every environment needs its own bootstrap_qualifier")
    return found


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


def main(argv: list[str]) -> int:
    """`python -m infra.settings qualifier <env>`: the Makefile's bootstrap qualifier."""
    import json
    from pathlib import Path

    if len(argv) != 2 or argv[0] != "qualifier":
        print("usage: python -m infra.settings qualifier <env>", file=sys.stderr)
        return 2
    cdk_json = Path(__file__).resolve().parents[1] / "cdk.json"
    declared = json.loads(cdk_json.read_text())["context"][ENVIRONMENTS_CONTEXT_KEY]
    if argv[1] not in declared:
        print(f"unknown environment {argv[1]!r}; declared: {sorted(declared)}", file=sys.stderr)
        return 2
    print(EnvironmentSettings.from_mapping(argv[1], declared[argv[1]]).qualifier)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
