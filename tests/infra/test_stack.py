"""The stack: its name, tags, settings and the stateful resources' frozen logical IDs."""

from tests.support.synth import Synth

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
