"""GET /api/daily-stats: statistics per day from the precomputed rollups.

Reads rollup items only (one Query per month), never the raw submissions.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws import dynamodb
from shared.http import Event, Response, api_handler, json_response, query_params
from shared.observability import logger, metrics, tracer
from shared.rollups import RollupStore
from shared.schemas import DAILY_STATS_QUERY_SCHEMA
from shared.settings import TableSettings
from shared.validation import compile_schema
from stats.daily_stats import daily_stats, requested_range

settings = TableSettings.from_env()
rollups = RollupStore(dynamodb(), settings.table_name)
validate_query = compile_schema(DAILY_STATS_QUERY_SCHEMA)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Response:
    return get_daily_stats(event)


@api_handler
def get_daily_stats(event: Event) -> Response:
    params = validate_query(query_params(event))
    days = requested_range(params, today=datetime.now(UTC).date())
    return json_response(200, daily_stats(days, rollups.histograms(days.first, days.last)))
