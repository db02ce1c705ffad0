"""The table and the stream consumer, as the topology declares them."""

import json

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb

from infra.cloud.data import TABLE_LOGICAL_ID
from infra.environments import ENVIRONMENTS_CONTEXT_KEY
from infra.topology import ROLLUP_LAYOUT, STREAM_CONSUMER, TABLE
from shared.rollups import PARTS_VARIABLE
from tests.support.synth import Synth, cdk_json_context, make_app, synth_with


def test_table_keys_stream_and_encryption(dev: Synth) -> None:
    props = dev.resources[TABLE_LOGICAL_ID]["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": TABLE.partition_key, "KeyType": "HASH"},
        {"AttributeName": TABLE.sort_key, "KeyType": "RANGE"},
    ]
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    # The AWS-owned key: SSEEnabled true would be the AWS-managed KMS key, billed per request
    assert props.get("SSESpecification", {}).get("SSEEnabled", False) is False
    assert "KMSMasterKeyId" not in props.get("SSESpecification", {})
    assert "TimeToLiveSpecification" not in props  # nothing in the data model expires
    assert "TableName" not in props  # CloudFormation names it


def test_free_tier_provisioned_capacity_by_default(dev: Synth) -> None:
    props = dev.resources[TABLE_LOGICAL_ID]["Properties"]
    assert props.get("BillingMode", "PROVISIONED") == "PROVISIONED"
    assert props["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def test_on_demand_is_a_setting() -> None:
    context = cdk_json_context()
    context["pick-a-number:environments"]["dev"] |= {"billing_mode": "PAY_PER_REQUEST"}
    synth = Synth("dev", **{"pick-a-number:environments": context["pick-a-number:environments"]})
    props = synth.resources[TABLE_LOGICAL_ID]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props


def test_data_is_retained_and_protected_outside_dev(dev: Synth, prod: Synth) -> None:
    assert dev.resources[TABLE_LOGICAL_ID]["DeletionPolicy"] == "Delete"
    assert dev.resources[TABLE_LOGICAL_ID]["Properties"]["DeletionProtectionEnabled"] is False
    assert prod.resources[TABLE_LOGICAL_ID]["DeletionPolicy"] == "Retain"
    assert prod.resources[TABLE_LOGICAL_ID]["UpdateReplacePolicy"] == "Retain"
    assert prod.resources[TABLE_LOGICAL_ID]["Properties"]["DeletionProtectionEnabled"] is True


def test_stream_consumer_follows_the_topology(dev: Synth) -> None:
    _, mapping = dev.one("AWS::Lambda::EventSourceMapping")
    props = mapping["Properties"]
    consumer = STREAM_CONSUMER
    assert props["EventSourceArn"] == {"Fn::GetAtt": [TABLE_LOGICAL_ID, "StreamArn"]}
    [only_filter] = props["FilterCriteria"]["Filters"]
    assert json.loads(only_filter["Pattern"]) == consumer.filter_pattern
    assert props["BatchSize"] == consumer.batch_size
    assert props["MaximumBatchingWindowInSeconds"] == consumer.batching_window_seconds
    assert props["MaximumRetryAttempts"] == consumer.max_retry_attempts
    assert props["MaximumRecordAgeInSeconds"] == consumer.max_record_age_seconds
    assert props["BisectBatchOnFunctionError"] is True
    assert props["ParallelizationFactor"] == consumer.parallelization_factor == 1
    assert props["StartingPosition"] == consumer.starting_position
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # It calls the aggregator's `live` alias (test_release.py: what a release moves).
    target = dev.live_alias_function(props["FunctionName"])
    assert dev.resources[target]["Properties"]["Handler"] == consumer.function.handler


def test_the_parallelization_factor_is_an_environment_setting() -> None:
    environments = cdk_json_context()["pick-a-number:environments"]
    environments["dev"] |= {"parallelization_factor": 4}
    synth = Synth("dev", **{"pick-a-number:environments": environments})
    _, mapping = synth.one("AWS::Lambda::EventSourceMapping")
    assert mapping["Properties"]["ParallelizationFactor"] == 4


def test_the_aggregator_is_told_the_rollup_layout(dev: Synth) -> None:
    # The mapping calls the aggregator's live alias (releases); the settings are the function's.
    (aggregator,) = [
        r
        for r in dev.resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == STREAM_CONSUMER.function.handler
    ]
    variables = aggregator["Properties"]["Environment"]["Variables"]
    assert variables[PARTS_VARIABLE] == str(ROLLUP_LAYOUT.parts) == "1"


def test_failed_stream_batches_go_to_an_encrypted_queue_with_an_alarm(dev: Synth) -> None:
    _, mapping = dev.one("AWS::Lambda::EventSourceMapping")
    queue = mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    props = dev.resources[queue]["Properties"]
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    queue_name = {"Fn::GetAtt": [queue, "QueueName"]}
    alarms = [
        a["Properties"]
        for a in dev.of_type("AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": queue_name} in a["Properties"].get("Dimensions", [])
    ]
    assert [a["MetricName"] for a in alarms] == ["ApproximateNumberOfMessagesVisible"]
    assert alarms[0]["Threshold"] == 1


def test_point_in_time_recovery_is_off_unless_an_environment_turns_it_on(
    dev: Synth, prod: Synth
) -> None:
    # Off by default: the scheduled on-demand backups recover the table (docs/COSTS.md).
    for synth in (dev, prod):
        assert (
            "PointInTimeRecoverySpecification"
            not in synth.resources[TABLE_LOGICAL_ID]["Properties"]
        )
    on = synth_with("prod", point_in_time_recovery=7)
    assert on.resources[TABLE_LOGICAL_ID]["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True,
        "RecoveryPeriodInDays": 7,
    }


def table_acknowledgements(stack: cdk.Stack) -> dict[str, str]:
    """The cdk-nag rules acknowledged on the table (ids without their `Annotation::`
    prefix), with their reasons."""
    return {
        rule.split("::")[-1]: reason
        for construct in stack.node.find_all()
        if isinstance(construct, dynamodb.Table)
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in dict(entry.data).items()
    }


def test_the_pitr_acknowledgement_stands_only_while_pitr_is_off() -> None:
    _, off = make_app("prod")
    assert "PITR is off" in table_acknowledgements(off)["AwsSolutions-DDB3"]

    # With PITR on, cdk-nag's DDB3 passes on its own: no acknowledgement to go stale.
    environments = cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY]
    environments["prod"] |= {"point_in_time_recovery": 35}
    app, on = make_app("prod", nag=True, **{ENVIRONMENTS_CONTEXT_KEY: environments})
    assert "AwsSolutions-DDB3" not in table_acknowledgements(on)
    app.synth()  # raises on any unacknowledged finding
