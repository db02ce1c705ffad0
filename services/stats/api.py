"""GET /api/daily-stats: statistics per day from the precomputed rollups.

Reads rollup items only (one Query per month), never the raw submissions.
"""

from datetime import UTC, datetime

from shared.aws import dynamodb
from shared.config import TableSettings
from shared.http import Event, Handler, ProxyResult, api_handler, json_response, query_params
from shared.observability import LambdaHandler, api_function
from shared.rollups import RollupStore
from shared.schemas import DAILY_STATS_QUERY_SCHEMA
from shared.validation import compile_schema
from stats.daily_stats import daily_stats, requested_range

validate_query = compile_schema(DAILY_STATS_QUERY_SCHEMA)


def make_handler(rollups: RollupStore) -> LambdaHandler:
    """The function's Lambda handler, reading the histograms of `rollups`."""
    return api_function(make_daily_stats(rollups))


def make_daily_stats(rollups: RollupStore) -> Handler:
    """The route: a proxy event in, a response out (every error as problem+json)."""

    @api_handler
    def get_daily_stats(event: Event) -> ProxyResult:
        params = validate_query(query_params(event))
        days = requested_range(params, today=datetime.now(UTC).date())
        return json_response(200, daily_stats(days, rollups.histograms(days.first, days.last)))

    return get_daily_stats


# Built at import, as at a cold start: a client is made, no AWS call.
lambda_handler = make_handler(RollupStore(dynamodb(), TableSettings.from_env().table_name))
