"""The stack: its name, tags, settings and the stateful resources' frozen logical IDs."""

import pytest

from infra.environments import EnvironmentSettings, SettingsError
from tests.support.synth import Synth, cdk_json_context

# Renaming any of these makes CloudFormation replace the resource: data loss.
FROZEN = {
    "SubmissionsTable": "AWS::DynamoDB::Table",
    "SiteBucket": "AWS::S3::Bucket",
    "LogsBucket": "AWS::S3::Bucket",
    "Distribution": "AWS::CloudFront::Distribution",
}


def test_stack_per_environment(dev: Synth, prod: Synth) -> None:
    assert dev.stack.stack_name == "PickANumber-dev"
    assert prod.stack.stack_name == "PickANumber-prod"


def test_stateful_logical_ids_are_frozen(dev: Synth, prod: Synth) -> None:
    for synth in (dev, prod):
        for logical_id, cfn_type in FROZEN.items():
            assert synth.resources[logical_id]["Type"] == cfn_type


def test_resources_carry_the_cost_allocation_tags(dev: Synth) -> None:
    tags = dev.resources["SubmissionsTable"]["Properties"]["Tags"]
    assert {"Key": "PickANumberEnv", "Value": "dev"} in tags
    assert {"Key": "Project", "Value": "pick-a-number"} in tags


def test_cloudformation_names_the_resources(dev: Synth) -> None:
    named = {
        "AWS::DynamoDB::Table": "TableName",
        "AWS::S3::Bucket": "BucketName",
        "AWS::Lambda::Function": "FunctionName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::SNS::Topic": "TopicName",
    }
    for cfn_type, name in named.items():
        for resource in dev.of_type(cfn_type).values():
            assert name not in resource.get("Properties", {})


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
