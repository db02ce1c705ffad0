"""What a third review of the templates against AWS's documented behaviour found
(issue 13, after its fixes).

Each test names the AWS behaviour it encodes; each failed before its fix.
"""

import pytest

from infra.settings import (
    READ_UNITS_PER_STATS_REQUEST,
    SECONDS_PER_MONTH,
    EnvironmentSettings,
    SettingsError,
    stats_calls_per_second,
)
from tests.support.synth import Synth

# The load docs/COSTS.md prices, a month: 1M picks and 3M page views.
DESIGN_PICKS = 1_000_000
DESIGN_PAGE_VIEWS = 3_000_000

# ---- 1. The daily-stats throttle admits the web app's own calls ---------------------


def test_prod_admits_the_web_apps_daily_stats_calls_at_the_design_load(prod: Synth) -> None:
    """AWS API Gateway: a method throttle answers 429 to every request above its rate
    (token bucket, burst for the peaks of a second). The web app reads daily-stats once
    per page view and up to WEB_STATS_CALLS_PER_PICK times per pick (the read before it,
    then its polls), so at the design load prod's rate must be at least that many calls
    a second, while rate x the costliest request's read units stays within the table's
    provisioned RCU (DynamoDB: beyond it, reads are throttled)."""
    _, table = prod.one("AWS::DynamoDB::Table")
    capacity = table["Properties"]["ProvisionedThroughput"]["ReadCapacityUnits"]
    throttle = prod.method_throttles()[("GET", "/api/daily-stats")]
    rate = throttle["ThrottlingRateLimit"]

    assert rate >= stats_calls_per_second(DESIGN_PICKS, DESIGN_PAGE_VIEWS)
    assert rate * READ_UNITS_PER_STATS_REQUEST <= capacity
    submit = prod.method_throttles()[("POST", "/api/submit-number")]["ThrottlingRateLimit"]
    assert submit >= DESIGN_PICKS / SECONDS_PER_MONTH


def test_synthesis_refuses_a_throttle_below_the_design_load() -> None:
    """The same rule at synthesis, for any environment that declares its design load."""
    load = {"design_picks_per_month": DESIGN_PICKS, "design_page_views_per_month": 3_000_000}
    with pytest.raises(SettingsError, match=r"stats_rate_limit 1.5/s is below .* 2.70 calls/s"):
        EnvironmentSettings(name="prod", read_capacity=10, stats_rate_limit=1.5, **load)
    with pytest.raises(SettingsError, match=r"submit_rate_limit 0.1/s is below"):
        EnvironmentSettings(
            name="prod", read_capacity=18, stats_rate_limit=2.75, submit_rate_limit=0.1, **load
        )
    EnvironmentSettings(name="prod", read_capacity=18, stats_rate_limit=2.75, **load)
