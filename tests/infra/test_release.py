"""Safe delivery as the templates declare it: the release path (versions behind a `live`
alias, shifted by CodeDeploy per environment, rolled back on alarms), and what the
contract suite accepts from a deployment held to the template's word."""

import json
from typing import Any

import pytest

from infra.cloud.alarms import ALARM_DELAY_MINUTES
from infra.cloud.release import ALIAS_ACTIONS, DEPLOYMENT_CONFIGS, WATCHED_MINUTES
from infra.environments import RELEASES, EnvironmentSettings, SettingsError
from tests.support.synth import Synth, as_list, statements_of, synth_with

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
        ("prod", "CodeDeployDefault.LambdaCanary10Percent10Minutes"),
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


def test_a_canary_rolls_back_on_the_apis_slo_alarms_and_the_aggregators_failed_records(
    prod: Synth,
) -> None:
    topic_id, _ = prod.one("AWS::SNS::Topic")
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
            # time-out, 500 on an unhandled error): the stage's 5xx rate sees it. These
            # are the API's SLO alarms themselves, to the alarm topic: no extra alarm.
            assert metrics == ["5XXError", "Latency"], group_id
            assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in found)
        else:
            # A failed group's records are reported for retry, which Lambda counts as
            # a successful invocation: Errors stay 0, RecordsFailed does not.
            assert metrics == ["RecordsFailed"], group_id
            [failed] = found
            assert failed["Namespace"] == "PickANumber/prod"
            assert failed["Dimensions"] == [{"Name": "service", "Value": "aggregator"}]
            assert (failed["Statistic"], failed["Threshold"]) == ("Sum", 1)
            assert failed["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            # Release only: a record reported for retry is retried; no page for it.
            assert "AlarmActions" not in failed


def test_release_alarms_watch_this_stage_and_fire_within_the_canary(prod: Synth) -> None:
    """AWS CloudWatch: an alarm acts once DatapointsToAlarm periods breached, each
    period's data landing a minute or so after it; CodeDeploy watches the alarms only
    while the deployment runs (a canary's wait). Each alarm must fire within it."""
    _, api = prod.one("AWS::ApiGateway::RestApi")
    _, stage = prod.one("AWS::ApiGateway::Stage")
    watched = WATCHED_MINUTES[EnvironmentSettings.from_mapping("prod", {}).release]
    found = [a for g in groups(prod).values() for a in alarms_of(prod, g)]
    assert found
    for alarm in found:
        assert alarm["Period"] == 60
        minutes = alarm["DatapointsToAlarm"] + ALARM_DELAY_MINUTES
        assert minutes <= watched, alarm["MetricName"]
        if alarm["Namespace"] == "AWS/ApiGateway":
            # Stage too: the API's name alone would mix in every environment's traffic.
            dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
            assert dims == {
                "ApiName": api["Properties"]["Name"],
                "Stage": stage["Properties"]["StageName"],
            }


def test_a_canary_shorter_than_its_alarms_take_to_fire_stops_synthesis() -> None:
    # The API alarms need 3 breaching minutes and CloudWatch's delay: more than 5.
    with pytest.raises(SettingsError, match="Canary10Percent5Minutes"):
        synth_with("prod", release="Canary10Percent5Minutes")


def deployment_role(synth: Synth) -> tuple[str, dict[str, Any]]:
    """(logical ID, properties) of CodeDeploy's role."""
    [(role_id, role)] = [
        (k, r["Properties"])
        for k, r in synth.of_type("AWS::IAM::Role").items()
        if k.startswith("ReleaseDeploymentRole")
    ]
    return role_id, role


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_codedeploys_role_may_shift_only_this_environments_aliases(
    env: str, dev: Synth, prod: Synth
) -> None:
    """AWS's AWSCodeDeployRoleForLambdaLimited allows lambda:UpdateAlias on every
    function of the account: dev's deployment group could re-point prod's aliases."""
    synth = {"dev": dev, "prod": prod}[env]
    role_id, role = deployment_role(synth)
    # No managed policy, no policy attached apart: the inline policy is all it may do.
    assert "ManagedPolicyArns" not in role
    assert role_id not in json.dumps(synth.of_type("AWS::IAM::Policy"))
    [policy] = role["Policies"]
    statements = statements_of(policy["PolicyDocument"])
    functions = set(synth.of_type("AWS::Lambda::Function"))
    released = {
        synth.live_alias_function({"Ref": alias_id}) for alias_id, _ in aliases(synth).values()
    }
    [lambda_statement] = [s for s in statements if s["Action"] == list(ALIAS_ACTIONS)]
    targets = set()
    for resource in as_list(lambda_statement["Resource"]):
        # The function's own ARN of this template, or that ARN with `:live`: never a
        # name, a pattern or another stack's function.
        if "Fn::Join" in resource:
            arn, suffix = resource["Fn::Join"][1]
            assert suffix == ":live"
            resource = arn
        [(function_id, attribute)] = [resource["Fn::GetAtt"]]
        assert function_id in functions
        assert attribute == "Arn"
        targets.add(function_id)
    assert targets == released
    assert len(as_list(lambda_statement["Resource"])) == 2 * len(released)
    alarm_statements = [s for s in statements if s["Action"] == "cloudwatch:DescribeAlarms"]
    if env == "dev":  # all at once: no alarm to read
        assert alarm_statements == []
        assert len(statements) == 1
    else:
        [alarms] = alarm_statements
        read = {r["Fn::GetAtt"][0] for r in as_list(alarms["Resource"])}
        named = {
            a["Name"]["Ref"]
            for g in groups(synth).values()
            for a in g["AlarmConfiguration"]["Alarms"]
        }
        assert read == named


def test_codedeploys_role_is_assumed_only_for_this_stacks_deployment_groups(prod: Synth) -> None:
    """AWS CodeDeploy, cross-service confused deputy prevention: for Lambda
    deployments aws:SourceArn is the deployment group's ARN,
    arn:aws:codedeploy:<region>:<account>:deploymentgroup:<application>/<group>."""
    app_id, _ = prod.one("AWS::CodeDeploy::Application")
    role_id, role = deployment_role(prod)
    [trust] = statements_of(role["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    conditions = trust["Condition"]
    assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    parts = conditions["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert parts[2::2] == [":codedeploy:", ":", ":deploymentgroup:", "/*"]
    assert parts[7] == {"Ref": app_id}
    # Each group runs as that role
    for group in groups(prod).values():
        assert group["ServiceRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


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
    assert set(DEPLOYMENT_CONFIGS) == set(RELEASES) == set(WATCHED_MINUTES)
    for name, config in DEPLOYMENT_CONFIGS.items():
        assert config.deployment_config_name == f"CodeDeployDefault.Lambda{name}"
    assert EnvironmentSettings(name="new").release == "Canary10Percent10Minutes"
    with pytest.raises(SettingsError, match="release"):
        EnvironmentSettings.from_mapping("dev", {"release": "Canary50Percent1Minute"})
