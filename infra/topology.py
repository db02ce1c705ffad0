"""The app's topology, declared once as plain data.

The CDK app (infra/cloud) builds AWS resources from it and the local stack
(infra/local) builds its emulation from it, so the two cannot drift: the same
table, functions, routes, stream consumer and schedule. Handlers are named as
Lambda names them, relative to `services/`, the root of every function package.
"""

from dataclasses import dataclass, field
from typing import Any, Final

from backup.settings import MIN_KEEP_VARIABLE, RETENTION_DAYS_VARIABLE
from shared.rollups import MAX_PARTS, PARTS_VARIABLE
from shared.schemas import DAILY_STATS_QUERY_SCHEMA, SUBMISSION_SCHEMA, JsonSchema
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


@dataclass(frozen=True)
class Function:
    name: str  # logical name, e.g. "SubmitNumber"
    handler: str  # module.function under services/
    service: str  # POWERTOOLS_SERVICE_NAME
    description: str
    memory_mb: int = 256
    timeout_seconds: int = 10
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # full path as the browser sees it, under API_PREFIX
    function: Function
    body_schema: JsonSchema | None = None
    query_schema: JsonSchema | None = None
    headers: tuple[str, ...] = ()  # optional request headers the route reads


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
    parallelization_factor: int = 1
    starting_position: str = "TRIM_HORIZON"


@dataclass(frozen=True)
class Schedule:
    function: Function
    cron: str  # EventBridge Scheduler cron, in UTC
    description: str
    retry_attempts: int = 3
    max_event_age_seconds: int = 3600


@dataclass(frozen=True)
class BackupRetention:
    """How long the nightly backups are kept, and how many survive whatever their age."""

    days: int
    min_keep: int

    def environment(self) -> dict[str, str]:
        """The backup function's settings (it requires both: it has no defaults)."""
        return {RETENTION_DAYS_VARIABLE: str(self.days), MIN_KEEP_VARIABLE: str(self.min_keep)}


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

    def environment(self) -> dict[str, str]:
        """The aggregator's setting (the rebuild command reads it too)."""
        return {PARTS_VARIABLE: str(self.parts)}


@dataclass(frozen=True)
class Throttle:
    rate_per_second: float = 10.0
    burst: int = 20


TABLE: Final = Table()
ROLLUP_LAYOUT: Final = RollupLayout()

SUBMIT_NUMBER: Final = Function(
    name="SubmitNumber",
    handler="ingest.handler.lambda_handler",
    service="ingest",
    description="POST /api/submit-number: stores a raw submission",
)
DAILY_STATS: Final = Function(
    name="DailyStats",
    handler="stats.api.lambda_handler",
    service="stats",
    description="GET /api/daily-stats: statistics from the daily rollups",
)
AGGREGATOR: Final = Function(
    name="Aggregator",
    handler="stats.aggregator.lambda_handler",
    service="aggregator",
    description="DynamoDB stream consumer: counts submissions into daily rollups exactly once",
    timeout_seconds=60,
    environment=ROLLUP_LAYOUT.environment(),
)
BACKUP: Final = Function(
    name="Backup",
    handler="backup.handler.lambda_handler",
    service="backup",
    description="Nightly on-demand DynamoDB backup and retention",
    timeout_seconds=120,
)

FUNCTIONS: Final = (SUBMIT_NUMBER, DAILY_STATS, AGGREGATOR, BACKUP)

ROUTES: Final = (
    Route(
        "POST",
        f"{API_PREFIX}/submit-number",
        SUBMIT_NUMBER,
        body_schema=SUBMISSION_SCHEMA,
        headers=("Idempotency-Key",),
    ),
    Route("GET", f"{API_PREFIX}/daily-stats", DAILY_STATS, query_schema=DAILY_STATS_QUERY_SCHEMA),
)

STREAM_CONSUMER: Final = StreamConsumer(
    function=AGGREGATOR,
    filter_pattern={
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"pk": {"S": [{"prefix": SUBMISSION_KEY_PREFIX}]}}},
    },
)

BACKUP_SCHEDULE: Final = Schedule(
    function=BACKUP,
    cron="cron(30 3 * * ? *)",
    description="Nightly on-demand backup of the table, 03:30 UTC",
)

# Default API throttle; each environment may override it in its settings.
API_THROTTLE: Final = Throttle()

# The one declaration of the backup retention defaults: every environment's unless
# its settings say otherwise (infra/settings.py), and the local stack's.
BACKUP_RETENTION: Final = BackupRetention(days=7, min_keep=3)
