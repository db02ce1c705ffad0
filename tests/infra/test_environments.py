"""The environments' settings (infra/settings.py): cdk.json's are valid, and synthesis
refuses a setting that is wrong or that the table cannot sustain, naming it."""

import pytest

from infra.settings import (
    EnvironmentSettings,
    SettingsError,
)
from tests.support.synth import DESIGN_PAGE_VIEWS, DESIGN_PICKS, Synth, cdk_json_context


def test_every_declared_environment_is_valid() -> None:
    declared = cdk_json_context()["pick-a-number:environments"]
    settings = {n: EnvironmentSettings.from_mapping(n, v) for n, v in declared.items()}
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
        {"unknown_setting": 1},
        {"parallelization_factor": 0},
        {"parallelization_factor": 11},  # Lambda's maximum is 10
    ],
)
def test_bad_settings_stop_synthesis(values: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        EnvironmentSettings.from_mapping("dev", values)


def test_on_demand_ignores_the_capacities() -> None:
    settings = EnvironmentSettings.from_mapping(
        "dev", {"billing_mode": "PAY_PER_REQUEST", "write_capacity": 1000}
    )
    assert settings.billing_mode == "PAY_PER_REQUEST"


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown environment"):
        Synth("staging")


def test_synthesis_refuses_a_throttle_the_table_cannot_sustain() -> None:
    """The rule of test_api.py's test_method_throttles_follow_the_table_capacity, at
    synthesis: the message names the numbers to change (reads: the next test)."""
    with pytest.raises(SettingsError, match=r"submit_rate_limit.*write_capacity"):
        EnvironmentSettings(name="dev", write_capacity=5, submit_rate_limit=10)
    # On-demand tables scale with the traffic: any throttle is accepted.
    EnvironmentSettings(name="dev", billing_mode="PAY_PER_REQUEST", submit_rate_limit=100)


def test_synthesis_prices_a_stats_throttle_for_the_longest_range() -> None:
    """The same rule for reads: 1 request/s of the longest range reads more than a
    5 RCU table sustains, so synthesis refuses it."""
    with pytest.raises(SettingsError, match=r"stats_rate_limit.*read_capacity"):
        EnvironmentSettings(name="dev", read_capacity=5, stats_rate_limit=1)


def test_synthesis_refuses_a_throttle_below_the_design_load() -> None:
    """test_api.py's test_prod_admits_the_web_apps_daily_stats_calls_at_the_design_load at
    synthesis, for any environment that declares its design load."""

    def prod(stats: float, read: int, submit: float = 2) -> EnvironmentSettings:
        return EnvironmentSettings(
            name="prod",
            read_capacity=read,
            write_capacity=10,
            stats_rate_limit=stats,
            submit_rate_limit=submit,
            design_picks_per_month=DESIGN_PICKS,
            design_page_views_per_month=DESIGN_PAGE_VIEWS,
        )

    with pytest.raises(SettingsError, match=r"stats_rate_limit 1.5/s is below .* 2.70 calls/s"):
        prod(stats=1.5, read=10)
    with pytest.raises(SettingsError, match=r"submit_rate_limit 0.1/s is below"):
        prod(stats=2.75, read=18, submit=0.1)
    prod(stats=2.75, read=18)


def test_an_unknown_smoke_mode_stops_synthesis():
    with pytest.raises(SettingsError, match="smoke_mode"):
        EnvironmentSettings.from_mapping("dev", {"smoke_mode": "writes"})
