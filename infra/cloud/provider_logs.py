"""Log groups that expire, for the Lambda functions CDK adds by itself.

Custom-resource providers (AwsCustomResource, Trigger, a bucket's autoDeleteObjects)
and the BucketDeployment handler are functions CDK creates inside its constructs,
without a log group: Lambda then makes `/aws/lambda/<name>` on first use, and such a
group never expires. Each gets one here, with the environment's retention, through
its LoggingConfig (so the group exists before the function first runs, and its
name is CloudFormation's, like the app's own functions' groups).
"""

from typing import Final

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

LAMBDA_FUNCTION: Final = "AWS::Lambda::Function"


def _has_log_group(resource: cdk.CfnResource) -> bool:
    if isinstance(resource, lambda_.CfnFunction):
        config = resource.logging_config
        return isinstance(config, lambda_.CfnFunction.LoggingConfigProperty) and bool(
            config.log_group
        )
    # CDK's CustomResourceProvider functions are plain CfnResources it never gives one.
    return False


def give_helper_functions_log_groups(
    stack: cdk.Stack, retention: logs.RetentionDays
) -> list[logs.LogGroup]:
    """A log group with `retention` for every function of `stack` that has none."""
    created = []
    for construct in stack.node.find_all():
        if not isinstance(construct, cdk.CfnResource):
            continue
        if construct.cfn_resource_type != LAMBDA_FUNCTION or _has_log_group(construct):
            continue
        parent = construct.node.scope
        assert isinstance(parent, Construct)
        group = logs.LogGroup(
            parent,
            f"{construct.node.id}Logs",
            retention=retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        construct.add_property_override("LoggingConfig.LogGroup", group.log_group_name)
        created.append(group)
    return created
