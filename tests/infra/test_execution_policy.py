"""dev's CloudFormation execution policies and permissions boundary
(infra/cloud/isolation.py), evaluated offline against every action a deployment of the
synthesized dev templates needs (with AWS WAF off, and on: then with its us-east-1 edge
stack), and the same actions on prod's resources.

The needed actions are not a list of ours: they are the create, update and delete handler
permissions of each resource type in CloudFormation's registry schemas (shipped with
cfn-lint), plus what CloudFormation itself does (invoking CDK's custom-resource functions,
reading the template's SSM parameters). Each action is asked on the ARN the resource gets
in dev (CloudFormation's `<stack>-<logical id>-<suffix>` names, or the environment tag
where ARNs hold random ids), and on prod's counterpart.

The evaluator is `allowed` below, a small one of our own: moto's
`moto.iam.access_control.IAMPolicy` supports only `StringEquals` conditions, and answers
DENIED for an Allow statement whose condition does not match (so one conditional Allow
denies everything it names), which is not IAM's logic. This one implements what the
policies use: Allow/Deny, Action and Resource with `*` and `?`, and the condition
operators StringEquals, ArnLike (a missing key fails the condition) and
StringEqualsIfExists (a missing key passes it); its own tests are at the end.
"""

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint  # type: ignore[import-untyped]  # ships no type information
import pytest
from aws_cdk.assertions import Template

from infra.app import REGION_CONTEXT_KEY
from infra.cloud.account import AccountSettings, AccountStack
from infra.cloud.edge import EDGE_REGION
from infra.cloud.isolation import (
    POWERTOOLS_LAYER_ACCOUNT,
    UNSCOPED_READS,
    boundary_policy_name,
    execution_policy_names,
)
from infra.environments import ENVIRONMENTS_CONTEXT_KEY
from tests.support.synth import Synth, cdk_json_context

ACCOUNT = "111111111111"
REGION = "eu-west-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION}
TAG = "PickANumberEnv"
SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"

# Handler permissions for features the template does not use (checked below): asked of
# no deployment of it, so neither allowed nor tested.
UNUSED: Mapping[str, str] = {
    "ec2:": "no function runs in a VPC",
    "elasticfilesystem:": "no file system is mounted",
    "s3files:": "no file system is mounted",
    "s3tables:": "no S3 table bucket",
    "kms:": "no customer-managed key; AWS-managed keys' policies admit the account",
    "kinesis:": "no Kinesis streaming destination",
    "firehose:": "no log delivery to Firehose",
    "payments:": "no AWS Marketplace rule group",
    "billing:": "the budget names no billing view",
    "iam:CreateServiceLinkedRole": "no table replica",
    "iam:GetRole": "no SNS delivery-status logging role",
    "apigateway:UpdateRestApiPolicy": "the REST API has no resource policy",
    "s3:REST.PUT.OBJECT": "no log group exports to S3",
    "logs:DeleteResourcePolicy": "no vended log delivery",
    "cloudfront:CreateConnectionGroup": "no connection group",
    "cloudfront:GetConnectionGroup": "no connection group",
    "cloudfront:GetVpcOrigin": "no VPC origin",
    "cloudfront:UpdateDistributionWithStagingConfig": "no continuous deployment",
    "lambda:PassCapacityProvider": "no capacity provider",
    "iam:DeleteGroupPolicy": "policies attach to roles only",
    "iam:GetGroupPolicy": "policies attach to roles only",
    "iam:PutGroupPolicy": "policies attach to roles only",
    "iam:DeleteUserPolicy": "policies attach to roles only",
    "iam:GetUserPolicy": "policies attach to roles only",
    "iam:PutUserPolicy": "policies attach to roles only",
    # refused on purpose: the stack never takes a role's boundary away
    "iam:DeleteRolePermissionsBoundary": "refused by the execution policy",
}
# Reach every environment's stream mappings: reads and tags (the mapping's ARN holds a
# random id, and IAM gives lambda:FunctionArn only for create, update and delete).
ANY_STREAM_MAPPING = {
    "lambda:GetEventSourceMapping",
    "lambda:ListTags",
    "lambda:TagResource",
    "lambda:UntagResource",
}
# Cross-service permissions a used feature needs, by the resource they act on.
PASSES_A_ROLE = {
    "AWS::Lambda::Function": "Role",
    "AWS::CodeDeploy::DeploymentGroup": "ServiceRoleArn",
    "AWS::Scheduler::Schedule": "Target.RoleArn",
}
# DynamoDB's import and S3 read handler permissions concern ImportSourceSpecification.
# A log group's own log delivery and resource policy: WAF's logging sets them instead.
UNUSED_FOR = {
    "AWS::DynamoDB::Table": ("logs:", "s3:"),
    "AWS::Logs::LogGroup": (
        "logs:CreateLogDelivery",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
    ),
    # to CloudWatch Logs, not to an S3 bucket of the organization
    "AWS::WAFv2::LoggingConfiguration": ("s3:", "iam:DescribeOrganization"),
    "AWS::ApiGateway::RestApi": ("s3:", "iam:PassRole"),
    "AWS::ApiGateway::Method": ("iam:PassRole",),
    "AWS::S3::Bucket": ("iam:PassRole",),
    "AWS::SNS::Topic": ("iam:PassRole",),
    "AWS::SNS::Subscription": ("iam:PassRole",),
}
# Neither names in their ARNs nor tags (docs/SECURITY.md): allowed on any, by design.
UNTAGGABLE = {"AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::ResponseHeadersPolicy"}


# The ARN each resource type gets: CloudFormation's `<stack>-<logical id>-<suffix>` names
# ({name}, S3's {lower}), or a random id where a service has no names.
ARNS: Mapping[str, str] = {
    "AWS::Lambda::Function": "arn:aws:lambda:{rest}:function:{name}",
    "AWS::Lambda::EventSourceMapping": "arn:aws:lambda:{rest}:event-source-mapping:1f2e3d4c",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{rest}:table/{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{rest}:{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{rest}:{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{rest}:log-group:{name}:*",
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{lower}",
    "AWS::CodeDeploy::Application": "arn:aws:codedeploy:{rest}:application:{name}",
    "AWS::CodeDeploy::DeploymentGroup": "arn:aws:codedeploy:{rest}:deploymentgroup:{name}",
    "AWS::CloudWatch::Alarm": "arn:aws:cloudwatch:{rest}:alarm:{name}",
    "AWS::ApiGateway::RestApi": "arn:aws:apigateway:{region}::/restapis/{env}0api",
    # an API key's id, not its value
    "AWS::ApiGateway::ApiKey": (  # pragma: allowlist secret
        "arn:aws:apigateway:{region}::/apikeys/{env}0id"
    ),
    "AWS::ApiGateway::UsagePlan": "arn:aws:apigateway:{region}::/usageplans/{env}0plan",
    "AWS::ApiGateway::UsagePlanKey": "arn:aws:apigateway:{region}::/usageplans/{env}0plan/keys/k",
    "AWS::CloudFront::Distribution": "arn:aws:cloudfront::{account}:distribution/E{env}",
    "AWS::CloudFront::OriginAccessControl": (
        "arn:aws:cloudfront::{account}:origin-access-control/E{env}"
    ),
    "AWS::CloudFront::ResponseHeadersPolicy": (
        "arn:aws:cloudfront::{account}:response-headers-policy/{env}"
    ),
}
# Named by a property of theirs (the stack names them: infra/cloud/isolation.py).
BY_PROPERTY: Mapping[str, tuple[str, str]] = {
    "AWS::Lambda::LayerVersion": ("LayerName", "arn:aws:lambda:{rest}:layer:{value}:1"),
    "AWS::Scheduler::Schedule": ("Name", "arn:aws:scheduler:{rest}:schedule/default/{value}"),
    "AWS::CloudWatch::Dashboard": (
        "DashboardName",
        "arn:aws:cloudwatch::{account}:dashboard/{value}",
    ),
    "AWS::XRay::SamplingRule": (
        "SamplingRule.RuleName",
        "arn:aws:xray:{rest}:sampling-rule/{value}",
    ),
    "AWS::Budgets::Budget": ("Budget.BudgetName", "arn:aws:budgets::{account}:budget/{value}"),
    "AWS::WAFv2::WebACL": ("Name", "arn:aws:wafv2:{rest}:global/webacl/{value}/a1b2c3"),
}
# Acted on through the resource one of their properties refers to.
THROUGH: Mapping[str, str] = {
    "AWS::Lambda::Alias": "FunctionName",
    "AWS::Lambda::Version": "FunctionName",
    "AWS::Lambda::Permission": "FunctionName",
    "AWS::Lambda::EventInvokeConfig": "FunctionName",
    "AWS::SQS::QueuePolicy": "Queues",
    "AWS::SNS::TopicPolicy": "Topics",
    "AWS::SNS::Subscription": "TopicArn",
    "AWS::IAM::Policy": "Roles",
    "AWS::S3::BucketPolicy": "Bucket",
    "AWS::WAFv2::LoggingConfiguration": "ResourceArn",
}
# WAF's log delivery updates the resource policy of the region's log groups: CloudWatch
# Logs authorizes it on all of them (tests/infra/test_waf.py has the destination).
LOG_RESOURCE_POLICY_ACTIONS = {"logs:PutResourcePolicy", "logs:DescribeResourcePolicies"}
WAF_LOG_RESOURCE_POLICY = f"arn:aws:logs:{EDGE_REGION}:{ACCOUNT}:log-group:*"
# Shared by every environment, changed by none: CodeDeploy's predefined deployment
# configurations and AWS's managed rule groups.
SHARED = (":deploymentconfig:CodeDeployDefault.", "/managedruleset/")


# ---- the evaluator --------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                if operator.endswith("IfExists"):
                    continue
                return False
            value = context[key]
            if operator == "StringEquals":
                ok = value in _as_list(expected)
            elif operator == "ArnLike":
                ok = any(_matches(p, value) for p in _as_list(expected))
            elif operator == "StringEqualsIfExists":
                ok = value in _as_list(expected)
            else:
                raise NotImplementedError(operator)
            if not ok:
                return False
    return True


def allowed(
    document: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]
) -> bool:
    """IAM's logic for one identity-based policy: an explicit Deny wins, else an Allow."""
    verdict = False
    for statement in _as_list(document["Statement"]):
        if not any(_matches(a, action, case=False) for a in _as_list(statement["Action"])):
            continue
        if not any(_matches(r, resource) for r in _as_list(statement["Resource"])):
            continue
        if not _condition_holds(statement.get("Condition", {}), context):
            continue
        if statement["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


# ---- the policies, as IAM gets them ---------------------------------------------------


def resolve(value: Any) -> Any:
    """The pseudo parameters and joins of a policy of the account stack, in ACCOUNT."""
    if isinstance(value, dict):
        if "Ref" in value:
            return PSEUDO[value["Ref"]]
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(resolve(p) for p in parts)
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    app = cdk.App(
        context={
            "pick-a-number:github": {"owner": "example-org", "repo": "pick-a-number"},
            "pick-a-number:environments": {"dev": {}, "prod": {}},
        }
    )
    AccountStack(app, settings=AccountSettings.from_context(app.node))
    template = app.synth().get_stack_by_name("PickANumber-account").template
    return {
        resource["Properties"]["ManagedPolicyName"]: resolve(
            resource["Properties"]["PolicyDocument"]
        )
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    }


@pytest.fixture(scope="module")
def execution(policies) -> dict[str, Any]:
    """dev's execution policies, as IAM evaluates them together."""
    return {
        "Statement": [
            statement
            for name in execution_policy_names("dev")
            for statement in _as_list(policies[name]["Statement"])
        ]
    }


@pytest.fixture(scope="module")
def boundary(policies) -> dict[str, Any]:
    document: dict[str, Any] = policies["PickANumber-dev-permissions-boundary"]
    return document


# ---- what a deployment of dev asks, and where prod's counterpart is ------------------


class Environment:
    """The ARNs one synthesized stack's resources get when deployed in ACCOUNT."""

    def __init__(self, template: Mapping[str, Any], env: str, stack: str, region: str) -> None:
        self.env = env
        self.stack = stack
        self.region = region
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.parameters = template.get("Parameters", {})
        self.template = template

    def context(self) -> dict[str, str]:
        return {
            f"aws:RequestTag/{TAG}": self.env,
            f"aws:ResourceTag/{TAG}": self.env,
            # every role of the stack carries its boundary (tested below)
            "iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/"
            + boundary_policy_name(self.env),
        }

    def name(self, logical_id: str) -> str:
        return f"{self.stack}-{logical_id}-AbC123"

    def arn(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        kind, props = resource["Type"], resource.get("Properties", {})
        fields = {
            "rest": f"{self.region}:{ACCOUNT}",
            "region": self.region,
            "account": ACCOUNT,
            "env": self.env,
            "name": self.name(logical_id),
            "lower": self.name(logical_id).lower(),
        }
        if kind in THROUGH:
            reference = _as_list(props[THROUGH[kind]])[0]
            return self.arn(reference["Ref"] if "Ref" in reference else reference["Fn::GetAtt"][0])
        if kind in BY_PROPERTY:
            path, template = BY_PROPERTY[kind]
            value: Any = props
            for key in path.split("."):
                value = value[key]
            return template.format(value=value, **fields)
        if kind == "AWS::Logs::LogGroup" and "LogGroupName" in props:
            # its own name, or API Gateway's for the stage's execution logs:
            # `…_<api id>/<stage>`
            group = props["LogGroupName"]
            if not isinstance(group, str):
                group = f"API-Gateway-Execution-Logs_a1b2c3/{self.env}"
            return f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{group}:*"
        if kind in ARNS:
            return ARNS[kind].format(**fields)
        if kind == "AWS::CodeDeploy::DeploymentGroup":
            application = self.name(props["ApplicationName"]["Ref"])
            return ARNS[kind].format(**{**fields, "name": f"{application}/{fields['name']}"})
        if kind.startswith("AWS::ApiGateway::"):  # a child of the REST API
            child = kind.rsplit("::", 1)[1].lower()
            return f"{ARNS['AWS::ApiGateway::RestApi'].format(**fields)}/{child}s/{logical_id[-8:]}"
        raise AssertionError(f"no ARN for {kind}")

    def handler_permissions(self, kind: str) -> set[str]:
        index = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
        schema = json.loads((SCHEMAS / "resources" / f"{index[kind]}.json").read_text())
        return {
            action
            for handler in ("create", "update", "delete")
            for action in schema.get("handlers", {}).get(handler, {}).get("permissions", [])
        }

    def requests(self) -> Iterator[tuple[str, str, str, dict[str, str]]]:
        """(what, action, resource, context) of every call a deployment makes."""
        for logical_id, resource in self.resources.items():
            kind = resource["Type"]
            props = resource.get("Properties", {})
            if kind.startswith("Custom::"):
                function = props["ServiceToken"]["Fn::GetAtt"][0]
                yield logical_id, "lambda:InvokeFunction", self.arn(function), self.context()
                continue
            yield from self._handler_requests(logical_id, kind, props)
            if kind == "AWS::WAFv2::WebACL":
                yield from self._managed_rule_group_requests(logical_id, props)
        for parameter in self.parameters.values():
            name = parameter["Default"]
            account = "" if name.startswith("/aws/") else ACCOUNT
            arn = f"arn:aws:ssm:{self.region}:{account}:parameter{name}"
            yield "Parameters", "ssm:GetParameters", arn, self.context()
        yield from self._stack_output_requests()

    def _handler_requests(
        self, logical_id: str, kind: str, props: Mapping[str, Any]
    ) -> Iterator[tuple[str, str, str, dict[str, str]]]:
        """The calls CloudFormation's handlers of `kind` make, each on its resource."""
        context = self.context()
        own = self.arn(logical_id)
        if kind == "AWS::Lambda::EventSourceMapping":
            function = props["FunctionName"]["Fn::Join"][1][0]["Fn::Select"][1]
            context["lambda:FunctionArn"] = self.arn(function["Fn::Split"][1]["Ref"])
        service = kind.split("::")[1].lower()
        for action in sorted(self.handler_permissions(kind)):
            if any(action.startswith(p) for p in (*UNUSED, *UNUSED_FOR.get(kind, ()))):
                continue
            resource = self._resource_of(logical_id, action)
            if resource is None:
                assert action.split(":")[0] == service, f"{kind}: {action} needs a resource"
                resource = own
            yield logical_id, action, resource, context

    def _resource_of(self, logical_id: str, action: str) -> str | None:
        """Where IAM authorizes `action` of `logical_id`'s handlers, if not on the
        resource itself."""
        kind = self.resources[logical_id]["Type"]
        props = self.resources[logical_id].get("Properties", {})
        if action in UNSCOPED_READS or action.endswith("LogDelivery"):
            return "*"
        if action in LOG_RESOURCE_POLICY_ACTIONS:
            return WAF_LOG_RESOURCE_POLICY
        if action == "iam:PassRole":
            return self.arn(self._passed_role(kind, props))
        if action in {"s3:GetObject", "s3:GetObjectVersion"} and kind.startswith("AWS::Lambda::"):
            return f"arn:aws:s3:::cdk-pan{self.env}-assets-{ACCOUNT}-{self.region}/code.zip"
        if action == "lambda:GetLayerVersion" and kind == "AWS::Lambda::Function":
            return self.powertools_layer()
        if action == "codedeploy:GetDeploymentConfig":
            return self._deployment_config(logical_id)
        if action.startswith("codedeploy:") and kind == "AWS::Lambda::Alias":
            return self._deployment_group(logical_id)
        return None

    def _managed_rule_group_requests(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> Iterator[tuple[str, str, str, dict[str, str]]]:
        """IAM authorizes an ACL's creation and update on each rule group it names too."""
        for rule in props["Rules"]:
            group = rule["Statement"].get("ManagedRuleGroupStatement")
            if group is None:
                continue
            arn = f"arn:aws:wafv2:{self.region}:{ACCOUNT}:global/managedruleset/{group['Name']}/id"
            for action in ("wafv2:CreateWebACL", "wafv2:UpdateWebACL"):
                yield logical_id, action, arn, self.context()

    def _stack_output_requests(self) -> Iterator[tuple[str, str, str, dict[str, str]]]:
        """Fn::GetStackOutput reads the other stack with the execution role's rights."""
        for found in re.finditer(r'"Fn::GetStackOutput": (\{[^}]*\})', json.dumps(self.template)):
            reference = json.loads(found.group(1))
            region = reference.get("Region", self.region)
            arn = f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{reference['StackName']}/id"
            yield "Fn::GetStackOutput", "cloudformation:DescribeStacks", arn, self.context()

    def powertools_layer(self) -> str:
        layer = "AWSLambdaPowertoolsPythonV3-python314-arm64:18"
        return f"arn:aws:lambda:{self.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:{layer}"

    def _passed_role(self, kind: str, props: Mapping[str, Any]) -> str:
        value: Any = props
        for key in PASSES_A_ROLE[kind].split("."):
            value = value[key]
        return str(value["Fn::GetAtt"][0])

    def resolve_arn(self, value: Any) -> str:
        """A policy statement's resource, as deployed."""
        if isinstance(value, str):
            return value
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            arn = self.arn(logical_id)
            return f"{arn}/stream/2026-01-01T00:00:00.000" if attribute == "StreamArn" else arn
        if "Ref" in value:
            return PSEUDO.get(value["Ref"]) or self.arn(value["Ref"]).rsplit("/", 1)[-1]
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            for key, pseudo in PSEUDO.items():
                text = text.replace("${" + key + "}", pseudo)
            return str(text)
        separator, parts = value["Fn::Join"]
        return str(separator.join(self.resolve_arn(p) for p in parts))

    def _deployment_group_id(self, logical_id: str) -> str:
        """The deployment group itself, or the one that deploys an alias."""
        if self.resources[logical_id]["Type"] == "AWS::CodeDeploy::DeploymentGroup":
            return logical_id
        update = self.resources[logical_id]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        return str(update["DeploymentGroupName"]["Ref"])

    def _deployment_group(self, alias_id: str) -> str:
        return self.arn(self._deployment_group_id(alias_id))

    def _deployment_config(self, logical_id: str) -> str:
        group = self.resources[self._deployment_group_id(logical_id)]["Properties"]
        config = group["DeploymentConfigName"]
        return f"arn:aws:codedeploy:{self.region}:{ACCOUNT}:deploymentconfig:{config}"


class Deployment:
    """An environment's stacks as synthesized: the app stack, and its edge stack (WAF on)."""

    def __init__(self, synth: Synth, env: str) -> None:
        self.env = env
        self.stacks = [
            Environment(
                Template.from_stack(stack).to_json(),
                env,
                stack.stack_name,
                stack.region if not cdk.Token.is_unresolved(stack.region) else REGION,
            )
            for stack in synth.app.node.children
            if isinstance(stack, cdk.Stack)
        ]
        self.resources = {k: v for stack in self.stacks for k, v in stack.resources.items()}

    def requests(self) -> Iterator[tuple[str, str, str, dict[str, str]]]:
        for stack in self.stacks:
            yield from stack.requests()

    def context(self) -> dict[str, str]:
        return self.stacks[0].context()


def synthesized(env: str, *, waf: bool) -> Deployment:
    """`env` as cdk.json declares it, with AWS WAF on or off, the app stack in REGION."""
    environments = json.loads(json.dumps(cdk_json_context()[ENVIRONMENTS_CONTEXT_KEY]))
    environments[env]["waf"] = waf
    context = {ENVIRONMENTS_CONTEXT_KEY: environments}
    if waf:
        context[REGION_CONTEXT_KEY] = REGION
    return Deployment(Synth(env, **context), env)


@pytest.fixture(scope="module", params=[False, True], ids=["waf-off", "waf-on"])
def waf(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture(scope="module")
def dev(waf: bool) -> Deployment:
    return synthesized("dev", waf=waf)


@pytest.fixture(scope="module")
def prod(waf: bool) -> Deployment:
    return synthesized("prod", waf=waf)


def test_the_execution_policy_allows_every_call_a_deployment_of_dev_makes(execution, dev):
    refused = [
        (what, action, resource)
        for what, action, resource, context in dev.requests()
        if not allowed(execution, action, resource, context)
    ]
    assert not refused


def test_the_execution_policy_refuses_the_same_calls_on_prod(execution, dev, prod):
    # The same template in prod: each call of dev's deployment, on prod's resource.
    reached = []
    for what, action, resource, context in prod.requests():
        kind = prod.resources.get(what, {}).get("Type", "")
        if resource == "*" or kind in UNTAGGABLE:
            continue  # reads IAM does not scope; documented exceptions
        if "event-source-mapping" in resource and action in ANY_STREAM_MAPPING:
            continue
        if resource.startswith(f"arn:aws:lambda:{REGION}:{POWERTOOLS_LAYER_ACCOUNT}:"):
            continue  # AWS's public layer
        if "/aws/service/" in resource:
            continue  # AWS's public parameters
        if any(shared in resource for shared in SHARED) or resource == WAF_LOG_RESOURCE_POLICY:
            continue  # AWS's, or the region's log groups' resource policy (documented)
        if allowed(execution, action, resource, context):
            reached.append((what, action, resource))
    assert not reached
    assert sum(1 for _ in dev.requests()) > 300  # the derivation found the calls


def test_dev_can_create_a_role_only_with_its_boundary(execution, dev):
    role = f"arn:aws:iam::{ACCOUNT}:role/PickANumber-dev-AnyRole-AbC123"
    own = f"arn:aws:iam::{ACCOUNT}:policy/{boundary_policy_name('dev')}"
    others = [None, f"arn:aws:iam::{ACCOUNT}:policy/{boundary_policy_name('prod')}"]
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        assert allowed(execution, action, role, {"iam:PermissionsBoundary": own})
        for other in others:
            context = {"iam:PermissionsBoundary": other} if other else {}
            assert not allowed(execution, action, role, context), (action, other)
    assert not allowed(execution, "iam:DeleteRolePermissionsBoundary", role, {})


def test_dev_cannot_pass_a_role_of_prod_or_of_the_account(execution):
    for role in ("PickANumber-prod-BackupRole-X", "cdk-panprod-cfn-exec-role-1-r", "Admin"):
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        assert not allowed(execution, "iam:PassRole", arn, {})


def test_every_role_of_both_environments_carries_its_boundary(dev, prod):
    for env in (dev, prod):
        roles = [r for r in env.resources.values() if r["Type"] == "AWS::IAM::Role"]
        assert len(roles) >= 8  # the functions', CDK's custom resources', CodeDeploy's ...
        for role in roles:
            boundary = resolve(role["Properties"]["PermissionsBoundary"])
            assert boundary == f"arn:aws:iam::{ACCOUNT}:policy/{boundary_policy_name(env.env)}"


def role_grants(deployment: Deployment) -> Iterator[tuple[str, str, str]]:
    """(policy, action, resource) of every statement the stacks give their roles."""
    for env in deployment.stacks:
        yield from _stack_role_grants(env)


def _stack_role_grants(env: Environment) -> Iterator[tuple[str, str, str]]:
    for logical_id, resource in env.resources.items():
        if resource["Type"] == "AWS::IAM::Policy":
            documents = [resource["Properties"]["PolicyDocument"]]
        elif resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        else:
            continue
        for document in documents:
            for statement in document["Statement"]:
                for action in _as_list(statement["Action"]):
                    for target in _as_list(statement["Resource"]):
                        arn = env.resolve_arn(target)
                        if arn == "*" and action.startswith("cloudfront:"):
                            # CDK grants the invalidation on `*`; the call names the
                            # distribution
                            [distribution] = [
                                k
                                for k, v in env.resources.items()
                                if v["Type"] == "AWS::CloudFront::Distribution"
                            ]
                            arn = env.arn(distribution)
                        yield logical_id, action, arn


def test_the_boundary_admits_what_dev_grants_its_roles_and_not_on_prod(boundary, dev, prod):
    grants = list(role_grants(dev))
    assert len(grants) > 30
    refused = [g for g in grants if not allowed(boundary, g[1], g[2], dev.context())]
    assert not refused
    reached = [
        g
        for g in role_grants(prod)
        if g[2] != "*" and allowed(boundary, g[1], g[2], prod.context())
    ]
    assert not reached


def test_the_policies_fit_iams_size_limit(policies):
    """A customer-managed policy holds at most 6,144 characters, whitespace not counted."""
    assert set(execution_policy_names("prod")) < set(policies)
    for name, document in policies.items():
        assert len(json.dumps(document, separators=(",", ":"))) <= 6_144, name


def test_dev_cannot_retag_a_resource_of_prod_as_its_own(execution):
    """A tagging request that says `dev` is refused on what carries prod's tag, which it
    would otherwise take over; allowed on what carries no tag yet, or dev's."""
    calls = [
        ("cloudfront:TagResource", f"arn:aws:cloudfront::{ACCOUNT}:distribution/Eprod"),
        ("apigateway:PUT", f"arn:aws:apigateway:{REGION}::/tags/arn%3Aaws%3Aapigateway%3A"),
    ]
    dev_request = {f"aws:RequestTag/{TAG}": "dev"}
    for action, resource in calls:
        assert not allowed(
            execution, action, resource, {**dev_request, f"aws:ResourceTag/{TAG}": "prod"}
        ), action
        assert allowed(execution, action, resource, dev_request), action
        assert allowed(
            execution, action, resource, {**dev_request, f"aws:ResourceTag/{TAG}": "dev"}
        ), action
    # the tagged resources' own paths take no new tag: only /tags/ does
    api = f"arn:aws:apigateway:{REGION}::/restapis/prodapi"
    assert not allowed(execution, "apigateway:PUT", api, dev_request)


def test_make_bootstrap_attaches_the_environments_execution_policies_by_default():
    """`make bootstrap ENV=dev` passes dev's execution policies (their ARNs in the account
    of the current credentials), and stops when it cannot find the account."""
    import subprocess

    from tests.support.synth import ROOT

    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "bootstrap", "ENV=dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    command = done.stdout.replace("\\\n", " ")
    assert "-m infra.cloud.isolation execution-policy-arns dev) || exit 1" in command
    assert '--cloudformation-execution-policies "$policies"' in command


def test_the_execution_policy_arns_are_in_the_callers_account(monkeypatch, capsys):
    from moto import mock_aws

    from infra.cloud import isolation

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        isolation.main(["execution-policy-arns", "dev"])
    assert capsys.readouterr().out.strip().split(",") == [
        "arn:aws:iam::123456789012:policy/PickANumber-dev-cfn-execution",
        "arn:aws:iam::123456789012:policy/PickANumber-dev-cfn-execution-front",
    ]


# ---- the evaluator's own behaviour (IAM's documented policy logic) ---------------------


def test_the_evaluator_follows_iams_logic():
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::a-*"},
            {
                "Effect": "Allow",
                "Action": "iam:CreateRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": "b"}},
            },
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a-secret"},
            {
                "Effect": "Allow",
                "Action": "lambda:CreateEventSourceMapping",
                "Resource": "*",
                "Condition": {"ArnLike": {"lambda:FunctionArn": "arn:*:function:dev-*"}},
            },
            {
                "Effect": "Allow",
                "Action": "cloudfront:TagResource",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:RequestTag/t": "dev"},
                    "StringEqualsIfExists": {"aws:ResourceTag/t": "dev"},
                },
            },
        ]
    }
    assert allowed(document, "S3:GETOBJECT", "arn:aws:s3:::a-1", {})  # actions: any case
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::b-1", {})  # no Allow
    assert not allowed(document, "s3:GetObject", "arn:aws:s3:::a-secret", {})  # Deny wins
    assert allowed(document, "s3:GetBucketAcl", "arn:aws:s3:::a-secret", {})
    assert allowed(document, "iam:CreateRole", "r", {"iam:PermissionsBoundary": "b"})
    assert not allowed(document, "iam:CreateRole", "r", {"iam:PermissionsBoundary": "c"})
    assert not allowed(document, "iam:CreateRole", "r", {})  # a missing key fails
    esm = "lambda:CreateEventSourceMapping"
    assert allowed(document, esm, "*", {"lambda:FunctionArn": "arn:aws:function:dev-x"})
    assert not allowed(document, esm, "*", {"lambda:FunctionArn": "arn:aws:function:prod-x"})
    tag = "cloudfront:TagResource"
    assert allowed(document, tag, "d", {"aws:RequestTag/t": "dev"})  # IfExists: absent passes
    assert allowed(document, tag, "d", {"aws:RequestTag/t": "dev", "aws:ResourceTag/t": "dev"})
    assert not allowed(document, tag, "d", {"aws:RequestTag/t": "dev", "aws:ResourceTag/t": "prod"})
    assert not allowed(document, tag, "d", {"aws:ResourceTag/t": "dev"})  # not IfExists
