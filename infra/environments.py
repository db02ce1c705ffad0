"""Per-environment settings of the CDK app: typed, validated, read once.

They live in `cdk.json` under the context key `pick-a-number:environments`, one
entry per environment, and hold only what differs from the defaults: those of
`EnvironmentSettings` below and the topology's (infra/topology.py), e.g. a route's
throttle, overridden under `route_throttles` by the route's "<METHOD> <path>".
`-c env=<name>` picks one (default `dev`); `-c email=…` sets the alarm and budget
e-mail for that deployment (never committed).
"""

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final, Literal

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Node

from backup.drill_settings import DEFAULT_WINDOW_DAYS
from backup.retention import BackupRetention, InvalidRetention
from infra.topology import (
    API_THROTTLE,
    BACKUP_RETENTION,
    DRILL_START_SCHEDULE,
    DRILL_VERIFY_SCHEDULE,
    RESTORE_DRILL,
    ROLLUP_LAYOUT,
    SUBMIT_NUMBER,
    TOPOLOGY,
    Route,
    RuntimeSettings,
    Schedule,
    StreamConsumer,
    Throttle,
    Topology,
)
from infra.waf import DEFAULT_RATE_LIMIT, DEFAULT_WINDOW_SECONDS
from shared.observability import environment_namespace

ENVIRONMENTS_CONTEXT_KEY: Final = "pick-a-number:environments"
ENV_CONTEXT_KEY: Final = "env"
EMAIL_CONTEXT_KEY: Final = "email"
DEFAULT_ENV: Final = "dev"

# DynamoDB's point-in-time recovery keeps from 1 to 35 days (RecoveryPeriodInDays).
MAX_RECOVERY_PERIOD_DAYS: Final = 35

# DynamoDB's always-free tier: 25 WCU and 25 RCU of *provisioned* capacity,
# summed over every table and index of the region (this app has one table).
FREE_TIER_CAPACITY_UNITS: Final = 25


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

    rate_limit: int = DEFAULT_RATE_LIMIT
    window_seconds: int = DEFAULT_WINDOW_SECONDS

    def problems(self, submit_rate: float) -> list[str]:
        found = []
        limit_ok = type(self.rate_limit) is int and self.rate_limit >= WAF_MIN_RATE_LIMIT
        if not limit_ok:
            found.append(f"waf.rate_limit must be an integer of at least {WAF_MIN_RATE_LIMIT}")
        if self.window_seconds not in WAF_WINDOWS_SECONDS:
            found.append(f"waf.window_seconds must be one of {list(WAF_WINDOWS_SECONDS)}")
        elif limit_ok and self.rate_limit >= submit_rate * self.window_seconds:
            # Else one client within its WAF limit could still take the whole shared
            # throttle, which is what the rule is for.
            found.append(
                f"waf.rate_limit {self.rate_limit} per {self.window_seconds} s must stay "
                f"below the submit route's rate_per_second {submit_rate:g}/s over that window"
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
class RestoreDrillSettings:
    """The weekly restore drill (services/backup/drill.py): when its two phases run
    (EventBridge Scheduler crons, UTC; the verify phase must leave the restore time to
    finish) and how many closed days before the backup it checks."""

    start_cron: str = DRILL_START_SCHEDULE.cron
    verify_cron: str = DRILL_VERIFY_SCHEDULE.cron
    window_days: int = DEFAULT_WINDOW_DAYS

    def problems(self) -> list[str]:
        found = []
        if type(self.window_days) is not int or self.window_days < 1:
            found.append("restore_drill.window_days must be an integer of at least 1")
        for name, cron in (("start_cron", self.start_cron), ("verify_cron", self.verify_cron)):
            if not (isinstance(cron, str) and cron.startswith("cron(") and cron.endswith(")")):
                found.append(f"restore_drill.{name} must be a cron(...) expression")
        if self.start_cron == self.verify_cron:
            found.append("restore_drill: the verify phase must run after the start phase")
        return found

    def schedule(self, declared: Schedule) -> Schedule:
        """The topology's drill schedule `declared` at this environment's time."""
        cron = self.start_cron if declared == DRILL_START_SCHEDULE else self.verify_cron
        return replace(declared, cron=cron)

    @classmethod
    def from_value(cls, environment: str, value: object) -> "RestoreDrillSettings | None":
        """cdk.json's `restore_drill`: absent or true (the defaults), null or false
        (off), or a map of what differs."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        _check_keys(environment, "restore_drill settings", value, {f.name for f in fields(cls)})
        assert isinstance(value, Mapping)
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
    # What the nightly backup job keeps (grandfather-father-son, BackupRetention):
    # every backup younger than backup_retention_days, the newest of each of the last
    # backup_keep_weekly ISO weeks and backup_keep_monthly months, never fewer than
    # backup_min_keep. Each backup is billed at the table's size (docs/COSTS.md).
    backup_retention_days: int = BACKUP_RETENTION.days
    backup_min_keep: int = BACKUP_RETENTION.min_keep
    backup_keep_weekly: int = BACKUP_RETENTION.weekly
    backup_keep_monthly: int = BACKUP_RETENTION.monthly
    # Point-in-time recovery of the table, its recovery period in days (1..35); None: off,
    # the nightly backups instead ($0.20 per GB-month of the table, docs/COSTS.md).
    point_in_time_recovery: int | None = None
    # API Gateway stage and usage-plan throttling (every route together).
    api_throttle: Throttle = API_THROTTLE
    # Each route's own throttle where it differs from the topology's, by route key
    # ("POST /api/submit-number"). Every route's rate x its cost must fit the table's
    # capacity when PROVISIONED (checked below).
    route_throttles: Mapping[str, Throttle] = field(default_factory=dict)
    # The monthly load the environment is built for (docs/COSTS.md): synthesis refuses
    # route throttles that would turn the web app's own calls at that load into 429s.
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
    # Concurrent batches per stream shard for the aggregator; None: the topology's
    # (its StreamConsumer). Above 1, see ROLLUP_LAYOUT in infra/topology.py.
    parallelization_factor: int | None = None
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
    release: str = "Canary10Percent10Minutes"
    # What it deploys: the routes its throttles and capacities are checked against.
    topology: Topology = field(default=TOPOLOGY, repr=False, compare=False)
    # The AWS account this environment lives in, when it has one of its own (prod, the
    # strongest isolation): the CDK CLI then refuses credentials of any other account.
    aws_account: str | None = None
    # AWS WAF on the distribution, in front of the API (docs/SECURITY.md); None: off,
    # as it is outside the free tier (docs/COSTS.md).
    waf: WafSettings | None = None
    # The weekly restore drill (docs/RUNBOOK.md); None: off, no function, no schedules.
    restore_drill: RestoreDrillSettings | None = RestoreDrillSettings()

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
        found += self._backup_problems()
        found += self._throttle_problems()
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
        try:  # the stream consumer checks its own parallelization factor
            _ = self.stream_consumer
        except ValueError as error:
            found.append(str(error))
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
            [submit] = [r for r in self.topology.routes if r.function == SUBMIT_NUMBER]
            found += self.waf.problems(self.throttle(submit).rate_per_second)
        if self.restore_drill is not None:
            found += self.restore_drill.problems()
        return found

    def _backup_problems(self) -> list[str]:
        found = []
        try:  # the backup function's own rule, checked before it is deployed
            _ = self.backup_retention
        except InvalidRetention as error:
            found.append(
                "backup_retention_days, backup_min_keep, backup_keep_weekly, "
                f"backup_keep_monthly: {error}"
            )
        recovery_days = self.point_in_time_recovery
        if recovery_days is not None and (
            isinstance(recovery_days, bool)
            or not isinstance(recovery_days, int)
            or not 1 <= recovery_days <= MAX_RECOVERY_PERIOD_DAYS
        ):
            found.append(
                f"point_in_time_recovery must be a recovery period of 1..{MAX_RECOVERY_PERIOD_DAYS}"
                f" days, or null (off), not {recovery_days!r}"
            )
        return found

    def _throttle_problems(self) -> list[str]:
        found = [f"route_throttles: no route {key!r}" for key in self._unknown_routes()]
        throttles = {"api_throttle": self.api_throttle} | {
            f"route_throttles[{key!r}]": throttle for key, throttle in self.route_throttles.items()
        }
        for name, throttle in throttles.items():
            if throttle.rate_per_second <= 0 or throttle.burst < 1:
                found.append(f"{name}: rate_per_second and burst must be positive")
        return found

    def _unknown_routes(self) -> list[str]:
        return sorted(set(self.route_throttles) - {route.key for route in self.topology.routes})

    def _capacity_problems(self) -> list[str]:
        """A provisioned table sustains its capacity per second: the routes together must
        not admit more than that (past the burst credit, users would get 503s)."""
        found = []
        for units, capacity in (("read", self.read_capacity), ("write", self.write_capacity)):
            spent = {
                route.key: (self.throttle(route).rate_per_second, cost)
                for route in self.topology.routes
                if (cost := getattr(route.cost, f"{units}_units"))
            }
            total = sum(rate * cost for rate, cost in spent.values())
            if total > capacity:
                terms = " + ".join(
                    f"{key} {rate:g}/s x {cost:g}" for key, (rate, cost) in spent.items()
                )
                found.append(
                    f"{terms} = {total:g} {units} units/s > {units}_capacity {capacity}: "
                    f"lower a rate_per_second in route_throttles, raise {units}_capacity to "
                    f"{total:g} or more, or set billing_mode PAY_PER_REQUEST"
                )
        return found

    def _design_load_problems(self) -> list[str]:
        """The route throttles admit the web app's calls at the design load's monthly
        average; busier hours above it get 429 (docs/DEPLOY.md, "Settings")."""
        picks, views = self.design_picks_per_month, self.design_page_views_per_month
        if min(picks, views) < 0:
            return ["design_picks_per_month and design_page_views_per_month must be >= 0"]
        found = []
        for route in self.topology.routes:
            rate = self.throttle(route).rate_per_second
            needed = route.web_calls.per_second(picks, views)
            if rate < needed:
                found.append(
                    f"route_throttles[{route.key!r}]: rate_per_second {rate:g} is below the "
                    f"web app's {needed:.2f} calls/s at the design load ({picks:,} picks and "
                    f"{views:,} page views a month)"
                )
        return found

    def throttle(self, route: Route) -> Throttle:
        """The route's throttle in this environment: its override, or the topology's."""
        return self.route_throttles.get(route.key, route.throttle)

    @property
    def stream_consumer(self) -> StreamConsumer:
        """The topology's stream consumer with this environment's parallelization."""
        return self.topology.stream_consumer.with_parallelization(self.parallelization_factor)

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        """The topology's schedules as this environment runs them: the drill's at its
        times, or none of them with the drill off."""
        drill, declared = self.restore_drill, self.topology.schedules
        if drill is None:
            return tuple(schedule for schedule in declared if schedule.function != RESTORE_DRILL)
        return tuple(
            drill.schedule(schedule) if schedule.function == RESTORE_DRILL else schedule
            for schedule in declared
        )

    @property
    def runtime(self) -> RuntimeSettings:
        """What the functions of this environment read (infra/topology.py derives each
        function's environment from it)."""
        return RuntimeSettings(
            metrics_namespace=environment_namespace(self.name),
            log_level=FUNCTION_LOG_LEVEL,
            backup_retention=self.backup_retention,
            rollup_layout=ROLLUP_LAYOUT,
            drill_window_days=(self.restore_drill or RestoreDrillSettings()).window_days,
        )

    @property
    def backup_retention(self) -> BackupRetention:
        """What the backup function keeps (InvalidRetention for what it would refuse)."""
        return BackupRetention(
            days=self.backup_retention_days,
            min_keep=self.backup_min_keep,
            weekly=self.backup_keep_weekly,
            monthly=self.backup_keep_monthly,
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
    def from_mapping(
        cls, name: str, values: Mapping[str, Any], topology: Topology = TOPOLOGY
    ) -> "EnvironmentSettings":
        """An environment as cdk.json declares it: only what differs from the defaults.
        A throttle ({"rate_per_second": …, "burst": …}) may give either field; the other
        is the default's (the topology's, for a route)."""
        _check_keys(name, "settings", values, {f.name for f in fields(cls)} - {"name", "topology"})
        parsed = dict(values)
        if "api_throttle" in values:
            parsed["api_throttle"] = _throttle(
                name, "api_throttle", values["api_throttle"], API_THROTTLE
            )
        if "route_throttles" in values:
            declared = {route.key: route.throttle for route in topology.routes}
            given = values["route_throttles"]
            _check_keys(name, "route_throttles routes", given, set(declared))
            parsed["route_throttles"] = {
                key: _throttle(name, f"route_throttles[{key!r}]", value, declared[key])
                for key, value in given.items()
            }
        if "waf" in values:
            parsed["waf"] = WafSettings.from_value(name, values["waf"])
        if "restore_drill" in values:
            parsed["restore_drill"] = RestoreDrillSettings.from_value(name, values["restore_drill"])
        return cls(name=name, topology=topology, **parsed)


def _check_keys(environment: str, what: str, given: Any, known: set[str]) -> None:
    """`given` is an object (a JSON one, in cdk.json) whose keys are all `known`."""
    if not isinstance(given, Mapping):
        raise SettingsError(f"environment '{environment}': {what} must be an object")
    unknown = sorted(set(given) - known)
    if unknown:
        raise SettingsError(
            f"environment '{environment}': unknown {what} {unknown}; known: {sorted(known)}"
        )


def _throttle(environment: str, name: str, given: Any, default: Throttle) -> Throttle:
    """`default` with the fields `given` overrides."""
    _check_keys(environment, f"{name} fields", given, {f.name for f in fields(Throttle)})
    return replace(default, **given)


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


def all_environments(node: Node, topology: Topology = TOPOLOGY) -> dict[str, EnvironmentSettings]:
    """Every environment declared in the context, validated against `topology`."""
    declared = node.try_get_context(ENVIRONMENTS_CONTEXT_KEY)
    if not isinstance(declared, dict) or not declared:
        raise SettingsError(f"cdk.json must declare context '{ENVIRONMENTS_CONTEXT_KEY}'")
    found = {
        name: EnvironmentSettings.from_mapping(name, values, topology)
        for name, values in declared.items()
    }
    qualifiers = [settings.qualifier for settings in found.values()]
    if len(set(qualifiers)) != len(qualifiers):
        raise SettingsError("every environment needs its own bootstrap_qualifier")
    return found


def selected_environment(node: Node, topology: Topology = TOPOLOGY) -> EnvironmentSettings:
    """The environment chosen with `-c env=…`, with `-c email=…` applied."""
    environments = all_environments(node, topology)
    name = node.try_get_context(ENV_CONTEXT_KEY) or DEFAULT_ENV
    if name not in environments:
        raise SettingsError(f"unknown environment '{name}'; declared: {sorted(environments)}")
    chosen = environments[name]
    email = node.try_get_context(EMAIL_CONTEXT_KEY)
    if email:
        chosen = replace(chosen, alarm_email=str(email))
    return chosen


def main(argv: list[str]) -> int:
    """`python -m infra.environments qualifier <env>`: the Makefile's bootstrap qualifier."""
    import json
    from pathlib import Path

    if len(argv) != 2 or argv[0] != "qualifier":
        print("usage: python -m infra.environments qualifier <env>", file=sys.stderr)
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
