"""The app's topology, declared once as plain data.

The CDK app (infra/cloud) builds AWS resources from it, the local stack
(infra/local) its emulation and infra/openapi.py the API's document, so they
cannot drift: the same table, functions, routes, stream consumer and schedule.
Each function states its whole contract here: the settings it reads (its
environment, derived by `runtime_environment`), the table actions it may call
(its only grants). Each route states its own: its request headers, every response
it answers, its throttle and what one call costs the table (checked against every
environment's capacity at synthesis, infra/environments.py). An environment
overrides only what differs (cdk.json). Handlers are named as Lambda names them,
relative to `services/`, the root of every function package.
"""

from dataclasses import KW_ONLY, dataclass, replace
from enum import Enum, auto
from typing import Any, Final

from backup.drill_settings import (
    ANY_RESOURCE_ACTIONS,
    DEFAULT_WINDOW_DAYS,
    LIVE_BACKUP_ACTIONS,
    LIVE_ROLLUP_ACTIONS,
    SCRATCH_TABLE_ACTIONS,
    WINDOW_DAYS_VARIABLE,
)
from backup.drill_settings import START as DRILL_START
from backup.drill_settings import VERIFY as DRILL_VERIFY
from backup.retention import (
    KEEP_MONTHLY_VARIABLE,
    KEEP_WEEKLY_VARIABLE,
    MIN_KEEP_VARIABLE,
    RETENTION_DAYS_VARIABLE,
    BackupRetention,
)
from infra.capacity import SECONDS_PER_MONTH, WRITE_UNITS_PER_PICK, stats_request_read_units
from shared.aws import TIMEOUT_VARIABLE
from shared.http import JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE
from shared.rollups import KEY_PREFIX as ROLLUP_KEY_PREFIX
from shared.rollups import MAX_PARTS, PARTS_VARIABLE
from shared.schemas import (
    DAILY_STATS_QUERY_SCHEMA,
    DAILY_STATS_RESPONSE_SCHEMA,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_BODY_BYTES,
    MAX_RANGE_DAYS,
    PROBLEM_SCHEMA,
    SUBMISSION_RESPONSE_SCHEMA,
    SUBMISSION_SCHEMA,
    JsonSchema,
)
from shared.submissions import KEY_PREFIX as SUBMISSION_KEY_PREFIX

SERVICES_DIR: Final = "services"
API_PREFIX: Final = "/api"


@dataclass(frozen=True)
class Table:
    partition_key: str = "pk"
    sort_key: str = "sk"
    stream_view: str = "NEW_IMAGE"

    def create_table_request(self, name: str) -> dict[str, Any]:
        """CreateTable arguments for an emulated table (local stack, tests)."""
        return {
            "TableName": name,
            "AttributeDefinitions": [
                {"AttributeName": self.partition_key, "AttributeType": "S"},
                {"AttributeName": self.sort_key, "AttributeType": "S"},
            ],
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": self.stream_view},
        }


class Source(Enum):
    """Where the value of a function's setting comes from (see `runtime_environment`)."""

    TABLE_NAME = auto()  # the table's name (a token in the CDK app)
    SERVICE_NAME = auto()  # the function's `service`
    METRICS_NAMESPACE = auto()  # the deployment's own (shared.observability)
    LOG_LEVEL = auto()
    TIMEOUT = auto()  # the function's timeout: shared/aws.py bounds its retries below it
    TRACING_OFF = auto()  # "true" where no X-Ray daemon runs
    METRICS_OFF = auto()  # "true" where no CloudWatch reads the metric lines
    ROLLUP_PARTS = auto()  # the rollup layout
    BACKUP_RETENTION_DAYS = auto()  # the environment's backup retention
    BACKUP_MIN_KEEP = auto()
    BACKUP_KEEP_WEEKLY = auto()
    BACKUP_KEEP_MONTHLY = auto()
    DRILL_WINDOW_DAYS = auto()  # the closed days the restore drill checks


@dataclass(frozen=True)
class Setting:
    """One environment variable a function reads, and where its value comes from."""

    variable: str
    source: Source


# What every function reads: its table, and Powertools' and shared/aws.py's settings.
COMMON_SETTINGS: Final = (
    Setting("TABLE_NAME", Source.TABLE_NAME),
    Setting("POWERTOOLS_SERVICE_NAME", Source.SERVICE_NAME),
    Setting("POWERTOOLS_METRICS_NAMESPACE", Source.METRICS_NAMESPACE),
    Setting("POWERTOOLS_LOG_LEVEL", Source.LOG_LEVEL),
    Setting(TIMEOUT_VARIABLE, Source.TIMEOUT),
    Setting("POWERTOOLS_TRACE_DISABLED", Source.TRACING_OFF),
    Setting("POWERTOOLS_METRICS_DISABLED", Source.METRICS_OFF),
)


class TablePart(Enum):
    """What of the table a function's actions are granted on."""

    TABLE = auto()  # the table itself
    BACKUPS = auto()  # its backups: <table ARN>/backup/*
    ANY = auto()  # Resource '*': the actions support no resource-level permissions
    # The restore drill's scratch tables, <table ARN>-drill-* (backup.drill_settings):
    # no other table of the account can match the prefix.
    SCRATCH_TABLES = auto()


@dataclass(frozen=True)
class TableActions:
    """IAM actions (`dynamodb:*`) a function's code calls, and on what. The CDK app grants
    a function exactly these, and the local stack's endpoint refuses it any other.

    `leading_keys`: the item families the actions may touch, as partition key prefixes
    (IAM's `dynamodb:LeadingKeys`); empty for actions on no item (backups, listings)."""

    actions: tuple[str, ...]
    on: TablePart = TablePart.TABLE
    leading_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Function:
    name: str  # logical name, e.g. "SubmitNumber"
    handler: str  # module.function under services/
    service: str  # POWERTOOLS_SERVICE_NAME
    description: str
    memory_mb: int = 256
    timeout_seconds: int = 10
    # Every environment variable it reads (runtime_environment derives the values).
    settings: tuple[Setting, ...] = COMMON_SETTINGS
    # Every call its code makes on the table (its store's), and nothing else.
    table_actions: tuple[TableActions, ...] = ()


@dataclass(frozen=True)
class Body:
    """A response body: its content type and JSON Schema, which the OpenAPI document
    names `name`."""

    name: str
    schema: JsonSchema
    content_type: str = JSON_CONTENT_TYPE


PROBLEM: Final = Body("Problem", PROBLEM_SCHEMA, PROBLEM_CONTENT_TYPE)


@dataclass(frozen=True)
class Header:
    """An HTTP header a route reads or a response carries, as the OpenAPI document
    describes it (`schema`: its value's JSON Schema)."""

    name: str
    description: str
    schema: JsonSchema


@dataclass(frozen=True)
class Response:
    """One status a route answers, whichever layer answers it (API Gateway or the function)."""

    status: int
    description: str
    body: Body = PROBLEM
    headers: tuple[Header, ...] = ()  # response headers it always carries


_RETRY_AFTER: Final = (
    Header("Retry-After", "Seconds to wait before retrying.", {"type": "integer", "minimum": 0}),
)
# What any route can answer besides its own responses, all as problem+json: API
# Gateway's gateway responses, its 405 for another method, or the function's.
ERROR_RESPONSES: Final = (
    Response(400, "Invalid input: the problem names the offending fields in `errors`."),
    Response(403, "The request did not come through the site's CloudFront distribution."),
    Response(404, "No such resource (a path the API does not serve)."),
    Response(405, "Another method than the ones the path serves; `Allow` lists them."),
    Response(413, f"The body is larger than {MAX_BODY_BYTES} bytes."),
    Response(415, f"The body is not sent as `{JSON_CONTENT_TYPE}`."),
    Response(
        429, "Throttled: retry after the number of seconds in `Retry-After`.", headers=_RETRY_AFTER
    ),
    Response(500, "An unexpected error (logged with its request id)."),
    Response(502, "The function failed or answered something API Gateway could not use."),
    Response(
        503,
        "The table is over capacity or slow: retry after `Retry-After` seconds.",
        headers=_RETRY_AFTER,
    ),
    Response(504, "The function did not answer in time."),
)


@dataclass(frozen=True)
class Throttle:
    """API Gateway's token bucket: `rate_per_second` requests a second on average,
    at most `burst` at once; past it, 429."""

    rate_per_second: float
    burst: int


@dataclass(frozen=True)
class Cost:
    """What one call costs the table at most, in capacity units (infra/capacity.py)."""

    read_units: float = 0.0
    write_units: float = 0.0


@dataclass(frozen=True)
class WebCalls:
    """How often the web app (web/app.js) calls a route: per page view and per pick.
    Each environment's throttle admits these calls at its design load."""

    per_page_view: float = 0.0
    per_pick: float = 0.0

    def per_second(self, picks_per_month: int, page_views_per_month: int) -> float:
        """Calls a second, on average, at a monthly load."""
        calls = page_views_per_month * self.per_page_view + picks_per_month * self.per_pick
        return calls / SECONDS_PER_MONTH


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # full path as the browser sees it, under API_PREFIX
    function: Function
    _: KW_ONLY
    # Its own stage-method throttle (an environment may override it, cdk.json), and
    # what one call costs: rate x cost must fit a provisioned table's capacity.
    throttle: Throttle
    cost: Cost
    web_calls: WebCalls = WebCalls()  # none: the web app never calls it
    body_schema: JsonSchema | None = None
    query_schema: JsonSchema | None = None
    headers: tuple[Header, ...] = ()  # optional request headers the route reads
    # Its own answers: its successes and the problems only it gives.
    responses: tuple[Response, ...] = ()

    @property
    def key(self) -> str:
        """How an environment's settings name it: "<METHOD> <path>"."""
        return f"{self.method} {self.path}"

    def every_response(self) -> tuple[Response, ...]:
        """Its own responses and ERROR_RESPONSES (its own first), by status."""
        found: dict[int, Response] = {}
        for response in (*self.responses, *ERROR_RESPONSES):
            found.setdefault(response.status, response)
        return tuple(found[status] for status in sorted(found))


# Lambda runs 1 to 10 batches of one stream shard at once (order kept per item).
MAX_PARALLELIZATION_FACTOR: Final = 10


@dataclass(frozen=True)
class StreamConsumer:
    function: Function
    # Lambda event filter: only INSERTs of raw submissions reach the aggregator;
    # rollup writes, marker updates and deletions never invoke it.
    filter_pattern: dict[str, Any]
    batch_size: int = 100
    # No batching window: Lambda then polls the shard about 4 times a second, so a
    # pick shows in the stats well under a second later. At this app's traffic a 1 s
    # window would save few invocations (most windows hold one record anyway).
    batching_window_seconds: int = 0
    max_retry_attempts: int = 10
    max_record_age_seconds: int = 24 * 3600
    bisect_on_error: bool = True
    # Concurrent batches per shard; above 1, concurrent invocations write the same
    # day's rollup: see ROLLUP_LAYOUT. The CDK app (per environment) and the local
    # stack (--parallelization-factor) change it only through `with_parallelization`.
    parallelization_factor: int = 1
    starting_position: str = "TRIM_HORIZON"

    def __post_init__(self) -> None:
        if not 1 <= self.parallelization_factor <= MAX_PARALLELIZATION_FACTOR:
            raise ValueError(f"parallelization_factor must be 1..{MAX_PARALLELIZATION_FACTOR}")

    def with_parallelization(self, factor: int | None) -> "StreamConsumer":
        """This consumer with `factor` batches of a shard at once (None: as declared)."""
        return self if factor is None else replace(self, parallelization_factor=factor)


@dataclass(frozen=True)
class Schedule:
    name: str  # logical name, e.g. "Nightly"
    function: Function
    cron: str  # EventBridge Scheduler cron, in UTC
    description: str
    # The event the function receives, as (key, value) pairs; none: the scheduler's own.
    payload: tuple[tuple[str, str], ...] = ()
    retry_attempts: int = 3
    max_event_age_seconds: int = 3600


@dataclass(frozen=True)
class Topology:
    """The whole app: the CDK app, the local stack and the OpenAPI document are built
    from one of these (TOPOLOGY below; a test may declare another)."""

    routes: tuple[Route, ...]
    stream_consumer: StreamConsumer
    schedules: tuple[Schedule, ...]

    def __post_init__(self) -> None:
        names = [function.name for function in self._every_function()]
        if len(set(names)) != len(set(self._every_function())):
            raise ValueError(f"two different functions share a name among {sorted(names)}")
        served = [route.key for route in self.routes]
        if len(set(served)) != len(served):
            raise ValueError("two routes serve the same method and path")
        scheduled = [schedule.name for schedule in self.schedules]
        if len(set(scheduled)) != len(scheduled):
            raise ValueError(f"two schedules share a name among {sorted(scheduled)}")

    def _every_function(self) -> list[Function]:
        return [
            *(route.function for route in self.routes),
            self.stream_consumer.function,
            *(schedule.function for schedule in self.schedules),
        ]

    @property
    def functions(self) -> tuple[Function, ...]:
        """Every function once, in the order of its first use."""
        return tuple(dict.fromkeys(self._every_function()))


@dataclass(frozen=True)
class RollupLayout:
    """Over how many items (parts) each day's counts are spread: write sharding
    against transaction conflicts on one hot item (services/shared/rollups.py).
    1 is one item per day; more only when concurrent aggregator invocations
    (several stream shards, a parallelization factor above 1) conflict."""

    parts: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.parts <= MAX_PARTS:
            raise ValueError(f"rollup parts must be from 1 to {MAX_PARTS}")


TABLE: Final = Table()
ROLLUP_LAYOUT: Final = RollupLayout()

SUBMIT_NUMBER: Final = Function(
    name="SubmitNumber",
    handler="ingest.handler.lambda_handler",
    service="ingest",
    description="POST /api/submit-number: stores a raw submission",
    # A replay's stored submission comes back from the failed conditional put itself
    # (ReturnValuesOnConditionCheckFailure): no read, so no GetItem.
    table_actions=(TableActions(("dynamodb:PutItem",), leading_keys=(SUBMISSION_KEY_PREFIX,)),),
)
DAILY_STATS: Final = Function(
    name="DailyStats",
    handler="stats.api.lambda_handler",
    service="stats",
    description="GET /api/daily-stats: statistics from the daily rollups",
    table_actions=(TableActions(("dynamodb:Query",), leading_keys=(ROLLUP_KEY_PREFIX,)),),
)
AGGREGATOR: Final = Function(
    name="Aggregator",
    handler="stats.aggregator.lambda_handler",
    service="aggregator",
    description="DynamoDB stream consumer: counts submissions into daily rollups exactly once",
    timeout_seconds=60,
    # The rebuild command (services/backup/rebuild.py) reads it too.
    settings=(*COMMON_SETTINGS, Setting(PARTS_VARIABLE, Source.ROLLUP_PARTS)),
    # TransactWriteItems needs UpdateItem on every item it updates: the markers on raw
    # submissions and the rollups. The stream's own actions come with the mapping.
    table_actions=(
        TableActions(
            ("dynamodb:UpdateItem",), leading_keys=(SUBMISSION_KEY_PREFIX, ROLLUP_KEY_PREFIX)
        ),
    ),
)
BACKUP: Final = Function(
    name="Backup",
    handler="backup.handler.lambda_handler",
    service="backup",
    description="Nightly on-demand DynamoDB backup and retention",
    timeout_seconds=120,
    # All required: the function has no default retention of its own.
    settings=(
        *COMMON_SETTINGS,
        Setting(RETENTION_DAYS_VARIABLE, Source.BACKUP_RETENTION_DAYS),
        Setting(MIN_KEEP_VARIABLE, Source.BACKUP_MIN_KEEP),
        Setting(KEEP_WEEKLY_VARIABLE, Source.BACKUP_KEEP_WEEKLY),
        Setting(KEEP_MONTHLY_VARIABLE, Source.BACKUP_KEEP_MONTHLY),
    ),
    # DeleteBackup only on this table's backups; ListBackups has no resource-level
    # permissions (the function filters the list by its table ARN).
    table_actions=(
        TableActions(("dynamodb:CreateBackup",)),
        TableActions(("dynamodb:DeleteBackup",), TablePart.BACKUPS),
        TableActions(("dynamodb:ListBackups",), TablePart.ANY),
    ),
)
# What it may call is exactly what backup.drill calls, by resource (its docstring).
RESTORE_DRILL: Final = Function(
    name="RestoreDrill",
    handler="backup.drill_handler.lambda_handler",
    service="drill",
    description="Weekly restore drill: restores the newest backup into a scratch table and "
    "checks it",
    # The verify phase waits for the restore as long as Lambda may run.
    timeout_seconds=900,
    settings=(*COMMON_SETTINGS, Setting(WINDOW_DAYS_VARIABLE, Source.DRILL_WINDOW_DAYS)),
    table_actions=(
        TableActions(ANY_RESOURCE_ACTIONS, TablePart.ANY),
        TableActions(LIVE_BACKUP_ACTIONS, TablePart.BACKUPS),
        TableActions(LIVE_ROLLUP_ACTIONS, leading_keys=(ROLLUP_KEY_PREFIX,)),
        TableActions(SCRATCH_TABLE_ACTIONS, TablePart.SCRATCH_TABLES),
    ),
)

ACCEPTED: Final = Body("Accepted", SUBMISSION_RESPONSE_SCHEMA)
IDEMPOTENCY_KEY: Final = Header(
    "Idempotency-Key",
    "Makes the request safe to retry: the same key with the same body answers "
    "200 with the first answer; with another body, 409.",
    {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
)
# The web app reads daily-stats once per page view and, per pick, at most once before
# it is sent plus three polls after it (none retried), whether or not the stream is
# late (web/app.js; tests/e2e hold it to them).
WEB_STATS_CALLS_PER_VIEW: Final = 1
WEB_STATS_CALLS_PER_PICK: Final = 4

# The throttles are the default environment's (dev's free-tier table, 5 WCU / 5 RCU):
# 1 pick/s x 5 write units, 0.75 reads/s x 6.5 read units.
SUBMIT_NUMBER_ROUTE: Final = Route(
    "POST",
    f"{API_PREFIX}/submit-number",
    SUBMIT_NUMBER,
    throttle=Throttle(rate_per_second=1.0, burst=2),
    cost=Cost(write_units=WRITE_UNITS_PER_PICK),
    web_calls=WebCalls(per_pick=1),
    body_schema=SUBMISSION_SCHEMA,
    headers=(IDEMPOTENCY_KEY,),
    responses=(
        Response(201, "Accepted: the submission is stored.", ACCEPTED),
        Response(
            200, "A replay of an accepted request (same Idempotency-Key, same body).", ACCEPTED
        ),
        Response(409, "The Idempotency-Key was already used with another body."),
    ),
)
DAILY_STATS_ROUTE: Final = Route(
    "GET",
    f"{API_PREFIX}/daily-stats",
    DAILY_STATS,
    throttle=Throttle(rate_per_second=0.75, burst=2),
    # 13 Queries of one 4 KB step each with one part per day: 6.5 units.
    cost=Cost(read_units=stats_request_read_units(ROLLUP_LAYOUT.parts)),
    web_calls=WebCalls(per_page_view=WEB_STATS_CALLS_PER_VIEW, per_pick=WEB_STATS_CALLS_PER_PICK),
    query_schema=DAILY_STATS_QUERY_SCHEMA,
    responses=(
        Response(
            200,
            f"Statistics per day of the range (at most {MAX_RANGE_DAYS} days) and in total.",
            Body("DailyStats", DAILY_STATS_RESPONSE_SCHEMA),
        ),
    ),
)
ROUTES: Final = (SUBMIT_NUMBER_ROUTE, DAILY_STATS_ROUTE)

STREAM_CONSUMER: Final = StreamConsumer(
    function=AGGREGATOR,
    filter_pattern={
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": SUBMISSION_KEY_PREFIX}]}}},
    },
)

BACKUP_SCHEDULE: Final = Schedule(
    name="Nightly",
    function=BACKUP,
    cron="cron(30 3 * * ? *)",
    description="Nightly on-demand backup of the table, 03:30 UTC",
)

# The restore drill in two phases, one function on two schedules (backup.drill says
# why): Sundays, after the nightly backup; the verify phase an hour after the start,
# when a restore of this table (kilobytes to a few MB) has long finished. Each
# environment may move them or turn the drill off (infra/environments.py).
DRILL_START_SCHEDULE: Final = Schedule(
    name="DrillStart",
    function=RESTORE_DRILL,
    cron="cron(0 5 ? * SUN *)",
    description="Weekly restore drill, start: restore the newest backup, Sundays 05:00 UTC",
    payload=(("phase", DRILL_START),),
)
DRILL_VERIFY_SCHEDULE: Final = Schedule(
    name="DrillVerify",
    function=RESTORE_DRILL,
    cron="cron(0 6 ? * SUN *)",
    description="Weekly restore drill, verify: check and delete the scratch table, "
    "Sundays 06:00 UTC",
    payload=(("phase", DRILL_VERIFY),),
)
DRILL_SCHEDULES: Final = (DRILL_START_SCHEDULE, DRILL_VERIFY_SCHEDULE)

TOPOLOGY: Final = Topology(ROUTES, STREAM_CONSUMER, (BACKUP_SCHEDULE, *DRILL_SCHEDULES))
FUNCTIONS: Final = TOPOLOGY.functions

# The stage's and usage plan's throttle, every route together; each environment may
# override it in its settings.
API_THROTTLE: Final = Throttle(rate_per_second=10.0, burst=20)

# The one declaration of the backup retention defaults: every environment's unless
# its settings say otherwise (infra/environments.py), and the local stack's.
# No weekly or monthly backups: each one kept is billed at the table's full size
# (docs/COSTS.md); prod keeps a year of them (cdk.json).
BACKUP_RETENTION: Final = BackupRetention(days=7, min_keep=3, weekly=0, monthly=0)


@dataclass(frozen=True)
class RuntimeSettings:
    """How the functions run, as far as their settings differ: deployed by the CDK app
    (one per environment, infra/environments.py) or in one process of the local stack,
    the tests or a benchmark."""

    log_level: str  # Powertools'
    # None: unset, and shared.observability falls back on the app's namespace.
    metrics_namespace: str | None = None
    tracing: bool = True  # False: no X-Ray daemon to send segments to
    metrics: bool = True  # False: no metric lines (EMF) on standard output
    # True: several functions share one process, whose AWS clients are made once, so
    # no one function's timeout bounds them (shared/aws.py).
    shared_process: bool = False
    backup_retention: BackupRetention = BACKUP_RETENTION
    rollup_layout: RollupLayout = ROLLUP_LAYOUT
    drill_window_days: int = DEFAULT_WINDOW_DAYS


def runtime_environment(
    function: Function, table_name: str, settings: RuntimeSettings
) -> dict[str, str]:
    """The environment variables `function` runs with: the values of its declared
    settings, where `settings` gives them one (an unset variable means the default)."""
    values: dict[Source, str | None] = {
        Source.TABLE_NAME: table_name,
        Source.SERVICE_NAME: function.service,
        Source.METRICS_NAMESPACE: settings.metrics_namespace,
        Source.LOG_LEVEL: settings.log_level,
        Source.TIMEOUT: None if settings.shared_process else str(function.timeout_seconds),
        Source.TRACING_OFF: None if settings.tracing else "true",
        Source.METRICS_OFF: None if settings.metrics else "true",
        Source.ROLLUP_PARTS: str(settings.rollup_layout.parts),
        Source.BACKUP_RETENTION_DAYS: str(settings.backup_retention.days),
        Source.BACKUP_MIN_KEEP: str(settings.backup_retention.min_keep),
        Source.BACKUP_KEEP_WEEKLY: str(settings.backup_retention.weekly),
        Source.BACKUP_KEEP_MONTHLY: str(settings.backup_retention.monthly),
        Source.DRILL_WINDOW_DAYS: str(settings.drill_window_days),
    }
    found = {setting.variable: values[setting.source] for setting in function.settings}
    return {variable: value for variable, value in found.items() if value is not None}


def process_environment(
    table_name: str, settings: RuntimeSettings, functions: tuple[Function, ...] = FUNCTIONS
) -> dict[str, str]:
    """The environment of one process that runs several functions (the tests, a
    benchmark): every setting of theirs that they agree on. Those that differ
    (the service name) are left to each caller."""
    merged: dict[str, str] = {}
    differing: set[str] = set()
    for function in functions:
        for variable, value in runtime_environment(function, table_name, settings).items():
            if merged.setdefault(variable, value) != value:
                differing.add(variable)
    return {variable: value for variable, value in merged.items() if variable not in differing}
