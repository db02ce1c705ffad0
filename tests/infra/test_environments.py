"""Per-environment settings (infra/environments.py): cdk.json holds only what differs
from the defaults, a route's throttle is overridden by its key, and whatever is
wrong stops synthesis with a SettingsError that names it."""

from dataclasses import replace
from typing import Any

import pytest

from backup.retention import BackupRetention
from infra.environments import (
    ENVIRONMENTS_CONTEXT_KEY,
    EnvironmentSettings,
    SettingsError,
)
from infra.topology import (
    API_THROTTLE,
    BACKUP_RETENTION,
    DAILY_STATS_ROUTE,
    ROUTES,
    STREAM_CONSUMER,
    SUBMIT_NUMBER_ROUTE,
    Route,
    Throttle,
    WebCalls,
)
from tests.support.synth import DESIGN_PAGE_VIEWS, DESIGN_PICKS, Synth, cdk_json_context
from tests.support.throwaway import EXTENDED, THROWAWAY_ROUTE

DEFAULTS = EnvironmentSettings(name="defaults")


def declared() -> dict[str, dict[str, Any]]:
    environments: dict[str, dict[str, Any]] = cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY]
    return environments


@pytest.mark.parametrize("name", sorted(declared()))
def test_cdk_json_restates_no_default(name: str) -> None:
    """Each default lives once: changing it changes every environment that does not
    override it."""
    values = declared()[name]
    settings = EnvironmentSettings.from_mapping(name, values)
    for key in values:
        assert getattr(settings, key) != getattr(DEFAULTS, key), key
    for route in settings.topology.routes:
        if route.key in settings.route_throttles:
            assert settings.throttle(route) != route.throttle, route.key


def test_a_route_throttle_override_is_keyed_by_the_route_and_keeps_what_it_does_not_say() -> None:
    settings = EnvironmentSettings.from_mapping(
        "dev", {"route_throttles": {SUBMIT_NUMBER_ROUTE.key: {"burst": 1}}}
    )
    assert settings.throttle(SUBMIT_NUMBER_ROUTE) == Throttle(
        SUBMIT_NUMBER_ROUTE.throttle.rate_per_second, 1
    )
    assert settings.throttle(DAILY_STATS_ROUTE) == DAILY_STATS_ROUTE.throttle
    assert settings.api_throttle == API_THROTTLE


def test_prod_overrides_the_throttles_it_needs() -> None:
    prod = EnvironmentSettings.from_mapping("prod", declared()["prod"])
    assert prod.api_throttle == Throttle(50, 100)
    assert prod.throttle(SUBMIT_NUMBER_ROUTE) == Throttle(2, 4)
    assert prod.throttle(DAILY_STATS_ROUTE) == Throttle(2.75, 6)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"route_throttles": {"GET /api/nowhere": {"burst": 1}}},
            r"unknown route_throttles routes \['GET /api/nowhere'\]; known: \['GET /api/daily",
        ),
        (
            {"route_throttles": {SUBMIT_NUMBER_ROUTE.key: {"rate": 1}}},
            r"unknown route_throttles\['POST /api/submit-number'\] fields \['rate'\]",
        ),
        ({"api_throttle": 10}, r"api_throttle fields must be an object"),
        ({"route_throttles": []}, r"route_throttles routes must be an object"),
        ({"api_throttle": {"rate_per_second": 0}}, r"api_throttle: rate_per_second and burst"),
        (
            {"route_throttles": {DAILY_STATS_ROUTE.key: {"burst": 0}}},
            r"route_throttles\['GET /api/daily-stats'\]: rate_per_second and burst",
        ),
        ({"parallelization_factor": 11}, r"parallelization_factor must be 1..10"),
        ({"unknown_setting": 1}, r"unknown settings \['unknown_setting'\]"),
    ],
)
def test_a_bad_setting_is_named(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        EnvironmentSettings.from_mapping("dev", values)


def test_a_route_override_is_checked_against_the_topology_it_deploys() -> None:
    override = {"route_throttles": {THROWAWAY_ROUTE.key: {"burst": 2}}}
    with pytest.raises(SettingsError, match="unknown route_throttles routes"):
        EnvironmentSettings.from_mapping("dev", override)
    settings = EnvironmentSettings.from_mapping("dev", override, EXTENDED)
    assert settings.throttle(THROWAWAY_ROUTE) == Throttle(0.1, 2)


def test_every_route_shares_the_tables_capacity() -> None:
    """Reads of every route add up: each alone fits dev's 5 units, together they do not."""
    with pytest.raises(SettingsError) as refused:
        EnvironmentSettings.from_mapping(
            "dev", {"route_throttles": {THROWAWAY_ROUTE.key: {"rate_per_second": 1}}}, EXTENDED
        )
    assert str(refused.value).endswith(
        "GET /api/daily-stats 0.75/s x 6.5 + GET /api/throwaway 1/s x 0.5 = 5.375 read units/s "
        "> read_capacity 5: lower a rate_per_second in route_throttles, raise read_capacity "
        "to 5.375 or more, or set billing_mode PAY_PER_REQUEST"
    )


def test_the_design_load_floors_each_route_the_web_app_calls() -> None:
    prod = declared()["prod"] | {"read_capacity": 25}
    # The web app never calls the throwaway route: its 0.1/s is no concern of the load
    EnvironmentSettings.from_mapping("prod", prod, EXTENDED)
    # Once a page view calls it, prod's 3M views a month need 1.16 calls/s
    called = replace(THROWAWAY_ROUTE, web_calls=WebCalls(per_page_view=1))
    topology = replace(EXTENDED, routes=(*ROUTES, called))
    with pytest.raises(
        SettingsError,
        match=r"\['GET /api/throwaway'\]: rate_per_second 0.1 is below the web app's 1.16 calls/s",
    ):
        EnvironmentSettings.from_mapping("prod", prod, topology)


def test_the_parallelization_factor_is_resolved_once_from_the_topology() -> None:
    assert DEFAULTS.parallelization_factor is None
    assert DEFAULTS.stream_consumer == STREAM_CONSUMER
    four = EnvironmentSettings.from_mapping("dev", {"parallelization_factor": 4})
    assert four.stream_consumer == STREAM_CONSUMER.with_parallelization(4)
    assert four.stream_consumer.parallelization_factor == 4
    with pytest.raises(ValueError, match="parallelization_factor"):
        STREAM_CONSUMER.with_parallelization(0)


def test_every_declared_environment_is_valid() -> None:
    settings = {n: EnvironmentSettings.from_mapping(n, v) for n, v in declared().items()}
    assert settings["dev"].retain_data is False
    assert settings["prod"].retain_data is True


@pytest.mark.parametrize(
    "values",
    [
        {"write_capacity": 26},  # beyond the always-free 25 WCU
        {"read_capacity": 0},
        {"billing_mode": "ON_DEMAND"},
        {"log_retention_days": 10},
        {"backup_min_keep": 0},
        {"alarm_email": "nobody"},
        {"domain_name": "pick.example.com"},  # without a certificate
        {"parallelization_factor": 0},
        {"smoke_mode": "writes"},
    ],
)
def test_bad_settings_stop_synthesis(values: dict[str, object]) -> None:
    with pytest.raises(SettingsError, match=next(iter(values))):
        EnvironmentSettings.from_mapping("dev", values)


def test_on_demand_ignores_the_capacities() -> None:
    settings = EnvironmentSettings.from_mapping(
        "dev", {"billing_mode": "PAY_PER_REQUEST", "write_capacity": 1000}
    )
    assert settings.billing_mode == "PAY_PER_REQUEST"


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown environment"):
        Synth("staging")


def faster(route: Route, rate: float, burst: int = 2) -> dict[str, Throttle]:
    return {route.key: Throttle(rate_per_second=rate, burst=burst)}


def test_synthesis_refuses_a_throttle_the_table_cannot_sustain() -> None:
    """The rule of test_api.py's test_method_throttles_follow_the_table_capacity, at
    synthesis: the message names the numbers to change."""
    with pytest.raises(SettingsError, match=r"POST /api/submit-number 10/s.*write_capacity"):
        EnvironmentSettings(name="dev", route_throttles=faster(SUBMIT_NUMBER_ROUTE, 10))
    # On-demand tables scale with the traffic: any throttle is accepted.
    EnvironmentSettings(
        name="dev", billing_mode="PAY_PER_REQUEST", route_throttles=faster(SUBMIT_NUMBER_ROUTE, 100)
    )


def test_synthesis_prices_a_stats_throttle_for_the_longest_range() -> None:
    """The same rule for reads: 1 request/s of the longest range reads more than a
    5 RCU table sustains, so synthesis refuses it."""
    with pytest.raises(SettingsError, match=r"GET /api/daily-stats 1/s x 6.5 .*read_capacity"):
        EnvironmentSettings(
            name="dev", read_capacity=5, route_throttles=faster(DAILY_STATS_ROUTE, 1)
        )


def test_synthesis_refuses_a_throttle_below_the_design_load() -> None:
    """test_api.py's test_prod_admits_the_web_apps_daily_stats_calls_at_the_design_load at
    synthesis, for any environment that declares its design load."""

    def prod(stats: float, read: int, submit: float = 2) -> EnvironmentSettings:
        return EnvironmentSettings(
            name="prod",
            read_capacity=read,
            write_capacity=10,
            route_throttles={
                **faster(DAILY_STATS_ROUTE, stats, burst=6),
                **faster(SUBMIT_NUMBER_ROUTE, submit, burst=4),
            },
            design_picks_per_month=DESIGN_PICKS,
            design_page_views_per_month=DESIGN_PAGE_VIEWS,
        )

    with pytest.raises(
        SettingsError, match=r"daily-stats'\]: rate_per_second 1.5 is below .* 2.70 calls/s"
    ):
        prod(stats=1.5, read=10)
    with pytest.raises(SettingsError, match=r"submit-number'\]: rate_per_second 0.1 is below"):
        prod(stats=2.75, read=18, submit=0.1)
    prod(stats=2.75, read=18)


def test_prod_keeps_a_year_of_backups_and_dev_the_defaults() -> None:
    prod = EnvironmentSettings.from_mapping("prod", declared()["prod"])
    assert prod.backup_retention == BackupRetention(days=7, min_keep=7, weekly=5, monthly=12)
    assert prod.point_in_time_recovery is None
    dev = EnvironmentSettings.from_mapping("dev", declared()["dev"])
    assert dev.backup_retention == BACKUP_RETENTION
    assert (BACKUP_RETENTION.weekly, BACKUP_RETENTION.monthly) == (0, 0)
    # What the backup function is given is the environment's retention.
    assert prod.runtime.backup_retention == prod.backup_retention


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"backup_keep_weekly": -1}, r"backup_keep_weekly.*weekly must be at least 0, not -1"),
        ({"backup_keep_monthly": -2}, r"backup_keep_monthly.*monthly must be at least 0, not -2"),
        ({"backup_retention_days": 0}, r"backup_retention_days.*days must be at least 1"),
        ({"point_in_time_recovery": 0}, r"point_in_time_recovery must be .*1..35 days"),
        ({"point_in_time_recovery": 36}, r"point_in_time_recovery must be .*not 36"),
        ({"point_in_time_recovery": True}, r"point_in_time_recovery must be .*not True"),
        ({"point_in_time_recovery": "7"}, r"point_in_time_recovery must be .*not '7'"),
    ],
)
def test_a_bad_backup_setting_is_named(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        EnvironmentSettings.from_mapping("dev", values)


def test_point_in_time_recovery_takes_a_recovery_period_of_1_to_35_days() -> None:
    for days in (1, 35):
        settings = EnvironmentSettings.from_mapping("dev", {"point_in_time_recovery": days})
        assert settings.point_in_time_recovery == days
