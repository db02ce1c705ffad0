"""What keeps one environment's deployment inside that environment, in a shared account.

Three customer-managed policies per environment, created by the account stack
(infra/cloud/account.py) before the environment is bootstrapped:

- `PickANumber-<env>-cfn-execution` and `…-cfn-execution-front` (one policy would
  exceed IAM's 6,144 characters): the policies of the environment's CloudFormation
  execution role, in place of CDK's default `AdministratorAccess`
  (`make bootstrap ENV=<env>` passes them as `--cloudformation-execution-policies`).
  They allow changing only this environment's resources: by the names CloudFormation
  gives them (`PickANumber-<env>-…`, S3's `pickanumber-<env>-…`, the web ACL's
  `pick-a-number-<env>`), or by the environment tag (`PickANumberEnv`) where a service
  names its resources by random ids (API Gateway, CloudFront distributions), never
  retagging another environment's. They create roles only with the boundary below and
  pass only this environment's roles.
- `PickANumber-<env>-permissions-boundary`: the boundary of every role the
  environment's stack creates (applied by `protect`), so that no role it creates can
  reach beyond the environment either, whatever policy the role is given.

`protect` also names the few resources CloudFormation would name without the stack's
name (layer, schedule, budget, dashboard), so that every name carries the prefix the
policies rely on. What IAM cannot scope is listed in docs/SECURITY.md (CloudFront's
response-headers policies and origin access controls have neither names in their ARNs
nor tags). tests/infra/test_execution_policy.py derives every action a deployment
needs from the synthesized template and evaluates both policies offline.

`python -m infra.cloud.isolation execution-policy-arns <env>` prints the execution
policies' ARNs, comma-separated, in the account of the current credentials (`make
bootstrap` uses them).
"""

import sys
from typing import Any, Final

import aws_cdk as cdk
import jsii
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import IConstruct

from infra.cloud.edge import EDGE_REGION, LOG_GROUP_PREFIX, web_acl_name
from infra.cloud.stack import COST_TAG_KEY, stack_name

# The tag every resource of an environment carries (infra/cloud/stack.py): API Gateway
# and CloudFront resources are matched by it.
ENVIRONMENT_TAG_KEY: Final = COST_TAG_KEY
# Powertools for AWS Lambda publishes its layers from this AWS account.
POWERTOOLS_LAYER_ACCOUNT: Final = "017000801446"
# Services whose resources carry the environment's name prefix: any action on them.
NAMED_SERVICES: Final = (
    "budgets",
    "cloudformation",
    "cloudwatch",
    "codedeploy",
    "dynamodb",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "sns",
    "sqs",
    "xray",
)
# What the stack's roles use at run time, on the environment's named resources.
RUNTIME_SERVICES: Final = (
    "cloudwatch",
    "codedeploy",
    "dynamodb",
    "lambda",
    "logs",
    "s3",
    "sns",
    "sqs",
)
# Role actions that give or widen permissions: only on roles that carry the boundary.
BOUNDED_ROLE_ACTIONS: Final = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)
# Role actions that read, describe or take permissions away.
OTHER_ROLE_ACTIONS: Final = (
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
# Reads that IAM does not scope to a resource (their resource is `*`).
UNSCOPED_READS: Final = (
    "cloudfront:ListDistributions",
    "cloudfront:ListOriginAccessControls",
    "cloudfront:ListResponseHeadersPolicies",
    "logs:DescribeLogGroups",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "dynamodb:ListStreams",
    "dynamodb:ListBackups",
    "dynamodb:ListTables",  # the restore drill finds its scratch tables
)
# API Gateway (V1) paths whose resources are tagged; their children inherit the tag
# for access control (API Gateway developer guide, "API Gateway resources that can be
# tagged").
API_GATEWAY_TAGGED_PATHS: Final = ("/restapis", "/usageplans", "/apikeys")


def execution_policy_names(environment: str) -> tuple[str, str]:
    """The execution role's two policies (one would exceed IAM's 6,144 characters): its
    named resources and roles; its front door (API Gateway, CloudFront, AWS WAF)."""
    return (
        f"{stack_name(environment)}-cfn-execution",
        f"{stack_name(environment)}-cfn-execution-front",
    )


def boundary_policy_name(environment: str) -> str:
    return f"{stack_name(environment)}-permissions-boundary"


class EnvironmentArns:
    """The ARN patterns of one environment's resources, in the stack's account (or, for
    cdk-nag's findings, in `<AWS::Partition>` and `<AWS::AccountId>`)."""

    def __init__(
        self,
        environment: str,
        qualifier: str,
        partition: str = cdk.Aws.PARTITION,
        account: str = cdk.Aws.ACCOUNT_ID,
    ) -> None:
        self.environment = environment
        self.qualifier = qualifier
        self.prefix = f"{stack_name(environment)}-"
        self.partition = partition
        self.account = account

    def arn(self, service: str, rest: str, *, region: str = "*", account: str | None = None) -> str:
        account = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{rest}"

    def named(self) -> list[str]:
        """Everything CloudFormation names after the stack `PickANumber-<env>`."""
        p, env = self.prefix, self.environment
        return [
            self.arn("budgets", f"budget/{p}*", region=""),
            self.arn("cloudformation", f"stack/{stack_name(env)}/*"),
            # its edge stack, whose outputs Fn::GetStackOutput reads (WAF on)
            self.arn("cloudformation", f"stack/{p}edge/*", region=EDGE_REGION),
            self.arn("cloudwatch", f"alarm:{p}*"),
            self.arn("cloudwatch", f"dashboard/{p}*", region=""),
            self.arn("codedeploy", f"application:{p}*"),
            self.arn("codedeploy", f"deploymentgroup:{p}*"),
            self.arn("dynamodb", f"table/{p}*"),
            self.arn("lambda", f"function:{p}*"),
            self.arn("lambda", f"layer:{p}*"),
            self.arn("logs", f"log-group:{p}*"),
            # the stage's execution log group is named by API Gateway: `…_<api id>/<stage>`
            self.arn("logs", f"log-group:API-Gateway-Execution-Logs_*/{env}"),
            self.arn("logs", f"log-group:API-Gateway-Execution-Logs_*/{env}:*"),
            # AWS WAF logs only to a group named `aws-waf-logs-…` (infra/cloud/edge.py)
            self.arn("logs", f"log-group:{self.waf_log_group()}", region=EDGE_REGION),
            self.arn("logs", f"log-group:{self.waf_log_group()}:*", region=EDGE_REGION),
            f"arn:{self.partition}:s3:::{p.lower()}*",
            self.arn("scheduler", f"schedule/default/{p}*"),
            self.arn("sns", f"{p}*"),
            self.arn("sqs", f"{p}*"),
            # the API's name, which the sampling rule shares (infra/cloud/observability.py)
            self.arn("xray", f"sampling-rule/pick-a-number-{env}"),
        ]

    def waf_log_group(self) -> str:
        return f"{LOG_GROUP_PREFIX}{web_acl_name(self.environment)}"

    def roles(self) -> str:
        return self.arn("iam", f"role/{self.prefix}*", region="")

    def boundary(self) -> str:
        return self.arn("iam", f"policy/{boundary_policy_name(self.environment)}", region="")

    def api_gateway(self, suffix: str) -> list[str]:
        return [
            f"arn:{self.partition}:apigateway:*::{path}{suffix}"
            for path in (*API_GATEWAY_TAGGED_PATHS, "/tags")
        ]

    def tagged(
        self, sid: str, actions: list[str], resources: list[str], tag: str
    ) -> iam.PolicyStatement:
        """Allowed where the environment's tag is on the resource (`ResourceTag`) or on the
        request creating or tagging it (`RequestTag`): then on no resource that carries
        another environment's tag, which the request would otherwise take over."""
        conditions: dict[str, Any] = {
            "StringEquals": {f"aws:{tag}/{ENVIRONMENT_TAG_KEY}": self.environment}
        }
        if tag == "RequestTag":
            conditions["StringEqualsIfExists"] = {
                f"aws:ResourceTag/{ENVIRONMENT_TAG_KEY}": self.environment
            }
        return iam.PolicyStatement(
            sid=sid, actions=actions, resources=resources, conditions=conditions
        )


def _own_named_resources(arns: EnvironmentArns, services: tuple[str, ...]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="OwnNamedResources",
        actions=[f"{service}:*" for service in services],
        resources=arns.named(),
    )


def execution_policy_statements(arns: EnvironmentArns) -> list[iam.PolicyStatement]:
    """The first policy of the environment's CloudFormation execution role."""
    return [
        _own_named_resources(arns, NAMED_SERVICES),
        *_own_role_statements(arns),
        *_deployment_input_statements(arns),
    ]


def front_door_policy_statements(arns: EnvironmentArns) -> list[iam.PolicyStatement]:
    """The second: API Gateway, CloudFront, AWS WAF."""
    return [*_own_tagged_statements(arns), *_web_acl_statements(arns)]


# Both policies of the execution role, in the order of `execution_policy_names`.
EXECUTION_POLICIES: Final = (execution_policy_statements, front_door_policy_statements)


def _own_role_statements(arns: EnvironmentArns) -> list[iam.PolicyStatement]:
    """Its own roles, only with the boundary, which no one may remove."""
    return [
        iam.PolicyStatement(
            sid="OwnRolesOnlyWithTheBoundary",
            actions=list(BOUNDED_ROLE_ACTIONS),
            resources=[arns.roles()],
            conditions={"StringEquals": {"iam:PermissionsBoundary": arns.boundary()}},
        ),
        iam.PolicyStatement(
            sid="OwnRoles", actions=list(OTHER_ROLE_ACTIONS), resources=[arns.roles()]
        ),
        iam.PolicyStatement(sid="PassOwnRoles", actions=["iam:PassRole"], resources=[arns.roles()]),
        iam.PolicyStatement(
            sid="KeepTheBoundary",
            effect=iam.Effect.DENY,
            actions=["iam:DeleteRolePermissionsBoundary"],
            resources=["*"],
        ),
    ]


def _own_tagged_statements(arns: EnvironmentArns) -> list[iam.PolicyStatement]:
    """What has no name in its ARN: its own by tag, or, where IAM cannot tell, shared."""
    distributions = arns.arn("cloudfront", "distribution/*", region="")
    return [
        arns.tagged(
            "CreateTaggedApis",
            ["apigateway:POST", "apigateway:PUT"],
            arns.api_gateway(""),
            "RequestTag",
        ),
        arns.tagged(
            "TagNewApis",
            ["apigateway:PUT"],
            [f"arn:{arns.partition}:apigateway:*::/tags/*"],
            "RequestTag",
        ),
        arns.tagged(
            "OwnTaggedApis",
            [f"apigateway:{verb}" for verb in ("DELETE", "GET", "PATCH", "POST", "PUT")],
            arns.api_gateway("/*"),
            "ResourceTag",
        ),
        arns.tagged(
            "CreateTaggedDistributions",
            ["cloudfront:CreateDistribution", "cloudfront:TagResource"],
            [distributions],
            "RequestTag",
        ),
        arns.tagged(
            "OwnTaggedDistributions",
            ["cloudfront:*"],
            [distributions],
            "ResourceTag",
        ),
        iam.PolicyStatement(
            # Neither tags nor names in their ARNs: IAM cannot tell whose they are.
            sid="UntaggableCloudFrontConfigurations",
            actions=[
                f"cloudfront:{verb}{kind}"
                for kind in ("OriginAccessControl", "ResponseHeadersPolicy")
                for verb in ("Create", "Delete", "Get", "Update")
            ],
            resources=[
                arns.arn("cloudfront", "origin-access-control/*", region=""),
                arns.arn("cloudfront", "response-headers-policy/*", region=""),
            ],
        ),
    ]


def _web_acl_statements(arns: EnvironmentArns) -> list[iam.PolicyStatement]:
    """Its web ACL (WAF on: infra/cloud/edge.py), the managed rule groups it uses, and
    the delivery of its logs, whose resource-policy actions CloudWatch Logs authorizes
    only on every log group of the region (its guide, "Logs sent to CloudWatch Logs")."""
    return [
        iam.PolicyStatement(
            sid="OwnWebAcl",
            actions=["wafv2:*"],
            resources=[
                arns.arn(
                    "wafv2",
                    f"global/webacl/{web_acl_name(arns.environment)}/*",
                    region=EDGE_REGION,
                )
            ],
        ),
        iam.PolicyStatement(
            # IAM checks the ACL's creation and update on each rule group it names too.
            sid="UseManagedRuleGroups",
            actions=["wafv2:CreateWebACL", "wafv2:UpdateWebACL"],
            resources=[arns.arn("wafv2", "global/managedruleset/*", region=EDGE_REGION)],
        ),
        iam.PolicyStatement(
            sid="DeliverWafLogs",
            actions=["logs:CreateLogDelivery", "logs:DeleteLogDelivery"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="WafLogsResourcePolicy",
            actions=["logs:DescribeResourcePolicies", "logs:PutResourcePolicy"],
            resources=[arns.arn("logs", "log-group:*", region=EDGE_REGION)],
        ),
    ]


def _deployment_input_statements(arns: EnvironmentArns) -> list[iam.PolicyStatement]:
    """Stream mappings of its own functions, and what the template reads: the layer,
    its parameters, the bootstrap's assets, the reads that have no resource."""
    return [
        iam.PolicyStatement(
            sid="StreamMappingsOfOwnFunctions",
            actions=[
                "lambda:CreateEventSourceMapping",
                "lambda:DeleteEventSourceMapping",
                "lambda:UpdateEventSourceMapping",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {"lambda:FunctionArn": arns.arn("lambda", f"function:{arns.prefix}*")}
            },
        ),
        iam.PolicyStatement(
            sid="ReadStreamMappings",
            actions=[
                "lambda:GetEventSourceMapping",
                "lambda:ListEventSourceMappings",
                "lambda:ListTags",
                "lambda:TagResource",
                "lambda:UntagResource",
            ],
            resources=[arns.arn("lambda", "event-source-mapping:*")],
        ),
        iam.PolicyStatement(
            sid="PowertoolsLayer",
            actions=["lambda:GetLayerVersion"],
            resources=[
                arns.arn(
                    "lambda", "layer:AWSLambdaPowertoolsPython*", account=POWERTOOLS_LAYER_ACCOUNT
                )
            ],
        ),
        iam.PolicyStatement(
            # CodeDeploy's predefined configurations (infra/cloud/release.py), by name.
            sid="PredefinedDeploymentConfigs",
            actions=["codedeploy:GetDeploymentConfig"],
            resources=[arns.arn("codedeploy", "deploymentconfig:CodeDeployDefault.*")],
        ),
        iam.PolicyStatement(
            # The template's SSM parameters: the Powertools layer and the bootstrap version.
            sid="TemplateParameters",
            actions=["ssm:GetParameter", "ssm:GetParameters"],
            resources=[
                arns.arn("ssm", "parameter/aws/service/powertools/*", account=""),
                arns.arn("ssm", f"parameter/cdk-bootstrap/{arns.qualifier}/version"),
            ],
        ),
        iam.PolicyStatement(
            # Lambda reads the code of a function or layer with the caller's rights.
            sid="AssetsOfThisBootstrap",
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[f"arn:{arns.partition}:s3:::cdk-{arns.qualifier}-assets-{arns.account}-*/*"],
        ),
        iam.PolicyStatement(sid="UnscopedReads", actions=list(UNSCOPED_READS), resources=["*"]),
    ]


def boundary_statements(arns: EnvironmentArns) -> list[iam.PolicyStatement]:
    """The most any role of the environment's stack may do: its resources."""
    return [
        _own_named_resources(arns, RUNTIME_SERVICES),
        iam.PolicyStatement(
            # The site deployment reads its files from the bootstrap's asset bucket.
            sid="ReadAssetsOfThisBootstrap",
            actions=["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
            resources=[
                f"arn:{arns.partition}:s3:::cdk-{arns.qualifier}-assets-{arns.account}-*",
                f"arn:{arns.partition}:s3:::cdk-{arns.qualifier}-assets-{arns.account}-*/*",
            ],
        ),
        # The origin key's custom resource reads the API key's value.
        arns.tagged(
            "OwnTaggedApis",
            ["apigateway:GET"],
            arns.api_gateway("/*"),
            "ResourceTag",
        ),
        arns.tagged(
            "InvalidateOwnDistribution",
            ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
            [arns.arn("cloudfront", "distribution/*", region="")],
            "ResourceTag",
        ),
        iam.PolicyStatement(sid="UnscopedReads", actions=list(UNSCOPED_READS), resources=["*"]),
        iam.PolicyStatement(
            # X-Ray's trace segments have no resource to scope to.
            sid="SendTraces",
            actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            resources=["*"],
        ),
    ]


@jsii.implements(cdk.IAspect)
class _NameAfterTheStack:
    """Gives the resources CloudFormation would name without the stack's name one with it."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cdk.CfnResource):
            return
        stack = cdk.Stack.of(node)
        # `PickANumber-<env>-<logical id>`, as CloudFormation names the other resources
        name = f"{stack.stack_name}-{stack.resolve(node.logical_id)}"
        if isinstance(node, lambda_.CfnLayerVersion) and _unset(stack, node.layer_name):
            node.layer_name = name
        elif isinstance(node, scheduler.CfnSchedule) and _unset(stack, node.name):
            node.name = name[:64]
        elif isinstance(node, cloudwatch.CfnDashboard) and _unset(stack, node.dashboard_name):
            node.dashboard_name = name
        elif isinstance(node, budgets.CfnBudget) and _unset(
            stack, stack.resolve(node.budget).get("budgetName")
        ):
            node.add_property_override("Budget.BudgetName", name)


def _unset(stack: cdk.Stack, value: object) -> bool:
    # an L2 construct passes its optional name as a token that resolves to nothing
    return stack.resolve(value) is None


def wildcard_findings(statements: list[iam.PolicyStatement]) -> list[str]:
    """cdk-nag's AwsSolutions-IAM5 findings of `statements` (built with the partition and
    account as `<AWS::Partition>`, `<AWS::AccountId>`), to acknowledge one by one."""
    found = []
    for statement in statements:
        if statement.effect == iam.Effect.DENY:
            continue
        found += [f"Action::{action}" for action in statement.actions if "*" in action]
        found += [f"Resource::{resource}" for resource in statement.resources if "*" in resource]
    return sorted(set(found))


def protect(stack: cdk.Stack, environment: str) -> None:
    """Bound every role of `stack` and name its resources after it (see the module)."""
    iam.PermissionsBoundary.of(stack).apply(
        iam.ManagedPolicy.from_managed_policy_name(
            stack, "PermissionsBoundary", boundary_policy_name(environment)
        )
    )
    cdk.Aspects.of(stack).add(_NameAfterTheStack())


def _caller_policy_arn(name: str) -> str:
    import boto3  # only when run as a command, with the operator's credentials

    caller = boto3.client("sts").get_caller_identity()["Arn"]
    partition, account = caller.split(":")[1], caller.split(":")[4]
    return f"arn:{partition}:iam::{account}:policy/{name}"


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] != "execution-policy-arns":
        raise SystemExit("usage: python -m infra.cloud.isolation execution-policy-arns <env>")
    print(",".join(_caller_policy_arn(name) for name in execution_policy_names(argv[1])))


if __name__ == "__main__":
    main(sys.argv[1:])
