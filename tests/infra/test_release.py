"""Safe delivery as the templates declare it: the release path (versions behind a `live`
alias, shifted by CodeDeploy per environment, rolled back on alarms), and what the
contract suite accepts from a deployment held to the template's word."""

from typing import Any

import pytest

from infra.cloud.functions import LIVE_ALIAS
from infra.cloud.release import DEPLOYMENT_CONFIGS
from infra.environments import RELEASES, EnvironmentSettings, SettingsError
from tests.support.synth import Synth

# ---- canary releases: versions behind an alias, shifted by CodeDeploy ----------------

RELEASED = ("SubmitNumber", "DailyStats", "Aggregator")
API_FUNCTIONS = ("SubmitNumber", "DailyStats")


def aliases(synth: Synth) -> dict[str, tuple[str, dict[str, Any]]]:
    """Function construct name -> (alias logical ID, alias resource)."""
    found = {}
    for logical_id, alias in synth.of_type("AWS::Lambda::Alias").items():
        function_id = alias["Properties"]["FunctionName"]["Ref"]
        name = next(n for n in RELEASED if function_id.startswith(("Api" + n, "Data" + n)))
        found[name] = (logical_id, alias)
    return found


def groups(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"] for k, v in synth.of_type("AWS::CodeDeploy::DeploymentGroup").items()
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_released_function_is_a_published_version_behind_its_live_alias(
    env: str, dev: Synth, prod: Synth
) -> None:
    synth = {"dev": dev, "prod": prod}[env]
    found = aliases(synth)

    assert set(found) == set(RELEASED)
    for _, alias in found.values():
        props = alias["Properties"]
        version_id = props["FunctionVersion"]["Fn::GetAtt"][0]
        version = synth.resources[version_id]
        # AWS::Lambda::Version publishes the code and configuration as they are now; its
        # logical ID changes with them, so each change is a new version to shift to.
        assert version["Type"] == "AWS::Lambda::Version"
        assert version["Properties"]["FunctionName"] == props["FunctionName"]


def test_the_api_routes_call_the_live_alias(dev: Synth) -> None:
    integrations = [
        m["Properties"]["Integration"]
        for m in dev.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["Integration"].get("Type") == "AWS_PROXY"
    ]
    targets = {dev.live_alias_function(i["Uri"]) for i in integrations}

    assert targets == {
        aliases(dev)[n][1]["Properties"]["FunctionName"]["Ref"] for n in API_FUNCTIONS
    }
    # API Gateway may invoke the alias, and only the alias: a permission on the function
    # itself would not cover a qualified ARN, one on the alias does.
    for permission in dev.of_type("AWS::Lambda::Permission").values():
        props = permission["Properties"]
        if props["Principal"] == "apigateway.amazonaws.com":
            assert props["FunctionName"]["Ref"] in {aliases(dev)[n][0] for n in API_FUNCTIONS}


def test_the_stream_mapping_calls_the_aggregators_live_alias(dev: Synth) -> None:
    _, mapping = dev.one("AWS::Lambda::EventSourceMapping")

    target = dev.live_alias_function(mapping["Properties"]["FunctionName"])

    assert target == aliases(dev)["Aggregator"][1]["Properties"]["FunctionName"]["Ref"]


@pytest.mark.parametrize(
    ("env", "config"),
    [
        ("dev", "CodeDeployDefault.LambdaAllAtOnce"),
        ("prod", "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
    ],
)
def test_codedeploy_moves_each_alias_as_the_environment_says(
    env: str, config: str, dev: Synth, prod: Synth
) -> None:
    synth = {"dev": dev, "prod": prod}[env]
    found = groups(synth)
    app_id, app = synth.one("AWS::CodeDeploy::Application")
    assert app["Properties"]["ComputePlatform"] == "Lambda"

    assert len(found) == len(RELEASED)
    for group in found.values():
        assert group["DeploymentConfigName"] == config
        assert group["ApplicationName"] == {"Ref": app_id}
        assert group["DeploymentStyle"] == {
            "DeploymentOption": "WITH_TRAFFIC_CONTROL",
            "DeploymentType": "BLUE_GREEN",
        }
    # CloudFormation hands an alias update to CodeDeploy only through this UpdatePolicy.
    for alias_id, alias in aliases(synth).values():
        policy = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert policy["ApplicationName"] == {"Ref": app_id}
        assert policy["DeploymentGroupName"]["Ref"] in found, alias_id


def alarms_of(synth: Synth, group: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        synth.resources[a["Name"]["Ref"]]["Properties"]
        for a in group["AlarmConfiguration"]["Alarms"]
    ]


def test_a_canary_rolls_back_on_the_apis_5xx_or_latency_and_the_aggregators_errors(
    prod: Synth,
) -> None:
    for group_id, group in groups(prod).items():
        rollback = group["AutoRollbackConfiguration"]
        assert rollback["Enabled"] is True
        assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(rollback["Events"])
        assert group["AlarmConfiguration"]["Enabled"] is True
        found = alarms_of(prod, group)
        metrics = sorted(a["MetricName"] for a in found)
        name = next(n for n in RELEASED if group_id.startswith(f"Release{n}"))
        if name in API_FUNCTIONS:
            # Every failure of an API function is a 5xx answer (502 on a crash or a
            # time-out, 500 on an unhandled error): the stage's 5xx rate sees it.
            assert metrics == ["5XXError", "Latency"], group_id
        else:
            assert metrics == ["Errors"], group_id
            [errors] = found
            # The alias's own metric: Lambda publishes it per alias (Resource dimension).
            resource = {d["Name"]: d["Value"] for d in errors["Dimensions"]}["Resource"]
            assert resource["Fn::Join"][1][-1] == f":{LIVE_ALIAS}"
            assert errors["Threshold"] == 1


def test_release_alarms_watch_this_stage_and_act_within_a_canary(prod: Synth) -> None:
    _, api = prod.one("AWS::ApiGateway::RestApi")
    _, stage = prod.one("AWS::ApiGateway::Stage")
    found = [a for g in groups(prod).values() for a in alarms_of(prod, g)]
    for alarm in found:
        assert alarm["Period"] == 60
        # A 5-minute canary sees them fire: within one minute, latency within two.
        assert alarm["EvaluationPeriods"] == (2 if alarm["MetricName"] == "Latency" else 1)
        assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
        if alarm["Namespace"] == "AWS/ApiGateway":
            # Stage too: the API's name alone would mix in every environment's traffic.
            dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
            assert dims == {
                "ApiName": api["Properties"]["Name"],
                "Stage": stage["Properties"]["StageName"],
            }


def test_a_new_environment_never_rolls_back_for_want_of_data(prod: Synth) -> None:
    # CodeDeploy stops a deployment only on an alarm in ALARM; with missing data treated
    # as not breaching, a new environment's alarms go to OK, never to ALARM.
    for group in groups(prod).values():
        for alarm in alarms_of(prod, group):
            assert alarm["TreatMissingData"] == "notBreaching"


def test_all_at_once_has_no_release_alarms(dev: Synth) -> None:
    for group in groups(dev).values():
        assert "AlarmConfiguration" not in group or not group["AlarmConfiguration"]["Alarms"]
        assert group["AutoRollbackConfiguration"]["Enabled"] is True
        assert "DEPLOYMENT_STOP_ON_ALARM" not in group["AutoRollbackConfiguration"]["Events"]


def test_the_release_settings_are_codedeploys_configurations() -> None:
    assert set(DEPLOYMENT_CONFIGS) == set(RELEASES)
    for name, config in DEPLOYMENT_CONFIGS.items():
        assert config.deployment_config_name == f"CodeDeployDefault.Lambda{name}"
    assert EnvironmentSettings(name="new").release == "Canary10Percent5Minutes"
    with pytest.raises(SettingsError, match="release"):
        EnvironmentSettings.from_mapping("dev", {"release": "Canary50Percent1Minute"})
