"""The one-time account stack: what every environment in the account shares.

Deployed once per AWS account (`make deploy-account`), apart from the
per-environment stacks:

- the GitHub Actions OIDC identity provider (an account holds one per URL);
- one deploy role per environment, assumable only by a GitHub Actions job of the
  named repository running in the GitHub environment of the same name, and
  allowed nothing but `sts:AssumeRole` on its own environment's CDK `deploy` and
  `file-publishing` bootstrap roles (`cdk-<qualifier>-*`; not `lookup`, which reads
  the whole account, nor `image-publishing`: no context lookups, no Docker assets)
  and reading AWS's public Powertools layer parameters: the bootstrap roles, not
  this one, hold the deployment permissions, so this role cannot touch a resource
  directly;
- per environment, the execution policy of its CloudFormation execution role and the
  permissions boundary of every role its stack creates (infra/cloud/isolation.py):
  deploy this stack before `make bootstrap ENV=<env>`, which attaches the policy;
- the account-level API Gateway CloudWatch role, which API Gateway needs before
  any stage can write access or execution logs.

Settings come from the CDK context (cdk.json or `-c`), never from the code:

    "pick-a-number:environments": {"dev": {...}, "prod": {...}}   (shared with the app)
    "pick-a-number:github": {"owner": "my-org", "repo": "pick-a-number"}
        or on the command line: `-c github=my-org/pick-a-number`; with
        "owner_id" and "repository_id" (or `-c github-ids=<owner id>/<repository id>`)
        the trust names the repository by its immutable ids: set the repository's
        OIDC subject template to match (docs/SECURITY.md)
    "pick-a-number:account": {"oidc_provider_arn": "arn:aws:iam::...:oidc-provider/..."}
        optional, when the account already has GitHub's provider; or
        `-c oidc-provider-arn=...`
"""

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.cloud.isolation import (
    EXECUTION_POLICIES,
    EnvironmentArns,
    boundary_policy_name,
    boundary_statements,
    execution_policy_names,
    wildcard_findings,
)
from infra.environments import ENVIRONMENTS_CONTEXT_KEY, EnvironmentSettings, default_qualifier

STACK_NAME: Final = "PickANumber-account"

# Context keys; the environments' (ENVIRONMENTS_CONTEXT_KEY) is the app's, infra/environments.py.
GITHUB_CONTEXT_KEY: Final = "pick-a-number:github"
GITHUB_OVERRIDE_KEY: Final = "github"
ACCOUNT_CONTEXT_KEY: Final = "pick-a-number:account"
OIDC_PROVIDER_OVERRIDE_KEY: Final = "oidc-provider-arn"
GITHUB_IDS_OVERRIDE_KEY: Final = "github-ids"
# `-c account-environments=prod`: deploy roles for these environments only (an account
# per environment); `-c account-regional-only=true`: a further region of an account
# whose global part (OIDC provider, deploy roles) exists already.
ACCOUNT_ENVIRONMENTS_KEY: Final = "account-environments"
REGIONAL_ONLY_KEY: Final = "account-regional-only"

GITHUB_OIDC_HOST: Final = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL: Final = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE: Final = "sts.amazonaws.com"

# The tag `cdk bootstrap` puts on each role it creates, and its values.
BOOTSTRAP_ROLE_TAG: Final = "aws-cdk:bootstrap-role"
# Only those a deployment uses: `lookup` is ReadOnlyAccess over the whole account (and the
# stacks do no context lookups), `image-publishing` is for Docker assets (there are none).
BOOTSTRAP_ROLE_KINDS: Final = ("deploy", "file-publishing")
# The claims of GitHub's OIDC subject when the repository's template is customized to
# immutable ids (PUT /repos/<owner>/<repo>/actions/oidc/customization/sub).
GITHUB_ID_CLAIM_KEYS: Final = ("repository_owner_id", "repository_id", "context")
# AWS's public SSM parameters of the Powertools for Python layers (infra/cloud/functions.py).
POWERTOOLS_PARAMETERS: Final = "/aws/service/powertools/python/*"

# GitHub's rules for names: owner/org alphanumerics and hyphens, repo also . and _.
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+$")
_GITHUB_ID = re.compile(r"^[1-9][0-9]{0,19}$")


class AccountSettingsError(ValueError):
    """The CDK context does not describe the account stack."""


@dataclass(frozen=True)
class AccountSettings:
    github_owner: str
    github_repo: str
    environments: tuple[str, ...]
    # An account already holding a GitHub OIDC provider (one per URL) reuses it.
    existing_oidc_provider_arn: str | None = None
    # Each environment's CDK bootstrap qualifier; `pan<env>` when not named.
    qualifiers: Mapping[str, str] = field(default_factory=dict)
    # Only the per-region part (API Gateway's CloudWatch role) for a further region.
    regional_only: bool = False
    # GitHub's immutable ids of the owner and the repository: a repository re-created
    # under the same name after a rename or deletion gets other ids.
    github_owner_id: str | None = None
    github_repository_id: str | None = None

    def __post_init__(self) -> None:
        if not _OWNER.match(self.github_owner):
            raise AccountSettingsError(f"github.owner {self.github_owner!r} is not a GitHub owner")
        if not _REPO.match(self.github_repo) or self.github_repo in {".", ".."}:
            raise AccountSettingsError(f"github.repo {self.github_repo!r} is not a repository")
        if not self.environments:
            raise AccountSettingsError(f"no environments: set `{ENVIRONMENTS_CONTEXT_KEY}`")
        for name in self.environments:
            if not _ENVIRONMENT.match(name):
                raise AccountSettingsError(f"environment name {name!r} is not usable")
        if len(set(self.environments)) != len(self.environments):
            raise AccountSettingsError("environment names repeat")
        for name in self.environments:
            for other in self.environments:
                # the policies match `PickANumber-<env>-*`: dev's would match dev-eu's
                if other != name and other.lower().startswith(f"{name.lower()}-"):
                    raise AccountSettingsError(f"environment {other!r} starts with {name!r}-")
        ids = (self.github_owner_id, self.github_repository_id)
        if any(ids) and not all(ids and _GITHUB_ID.match(i or "") for i in ids):
            raise AccountSettingsError("github owner_id and repository_id: both, as numbers")
        arn = self.existing_oidc_provider_arn
        if arn is not None and not _OIDC_PROVIDER_ARN.match(arn):
            raise AccountSettingsError(f"account.oidc_provider_arn {arn!r} is not an OIDC ARN")

    def qualifier(self, environment: str) -> str:
        return self.qualifiers.get(environment) or default_qualifier(environment)

    @property
    def repository(self) -> str:
        return f"{self.github_owner}/{self.github_repo}"

    def subject(self, environment: str) -> str:
        """The `sub` claim of a GitHub Actions job running in `environment`: GitHub's
        default (`repo:<owner>/<repo>:…`), or with the ids, the one a repository whose
        subject template includes GITHUB_ID_CLAIM_KEYS gets."""
        if self.github_repository_id:
            return (
                f"repository_owner_id:{self.github_owner_id}:"
                f"repository_id:{self.github_repository_id}:environment:{environment}"
            )
        return f"repo:{self.repository}:environment:{environment}"

    @classmethod
    def from_context(cls, node: Any) -> "AccountSettings":
        """Read from a construct node's context (`app.node`): cdk.json or `-c` flags."""
        github = _context(node, GITHUB_OVERRIDE_KEY) or _context(node, GITHUB_CONTEXT_KEY)
        if isinstance(github, str) and github.count("/") == 1:
            owner, repo = github.split("/")
            github = {"owner": owner, "repo": repo}
        if not isinstance(github, Mapping):
            raise AccountSettingsError(
                f"set the GitHub repository: `-c {GITHUB_OVERRIDE_KEY}=<owner>/<repo>` or the "
                f'context `{GITHUB_CONTEXT_KEY}`: {{"owner": "<owner>", "repo": "<repo>"}}'
            )
        declared = _context(node, ENVIRONMENTS_CONTEXT_KEY)
        environments = _environment_names(declared)
        qualifiers = (
            {
                str(name): EnvironmentSettings.from_mapping(str(name), values or {}).qualifier
                for name, values in declared.items()
            }
            if isinstance(declared, Mapping)
            else {}
        )
        chosen = _context(node, ACCOUNT_ENVIRONMENTS_KEY)
        if chosen:
            wanted = _environment_names(chosen)
            unknown = sorted(set(wanted) - set(environments))
            if unknown:
                raise AccountSettingsError(f"{ACCOUNT_ENVIRONMENTS_KEY}: unknown {unknown}")
            environments = wanted
        regional_only = str(_context(node, REGIONAL_ONLY_KEY)).lower() == "true"
        ids = _context(node, GITHUB_IDS_OVERRIDE_KEY)
        if ids and str(ids).count("/") != 1:
            raise AccountSettingsError(f"-c {GITHUB_IDS_OVERRIDE_KEY}=<owner id>/<repository id>")
        owner_id, repository_id = (
            str(ids).split("/", 1) if ids else (github.get("owner_id"), github.get("repository_id"))
        )
        account = _context(node, ACCOUNT_CONTEXT_KEY)
        provider_arn = _context(node, OIDC_PROVIDER_OVERRIDE_KEY) or (
            account.get("oidc_provider_arn") if isinstance(account, Mapping) else None
        )
        return cls(
            github_owner=str(github.get("owner", "")),
            github_repo=str(github.get("repo", "")),
            environments=environments,
            existing_oidc_provider_arn=str(provider_arn) if provider_arn else None,
            qualifiers=qualifiers,
            regional_only=regional_only,
            github_owner_id=str(owner_id) if owner_id else None,
            github_repository_id=str(repository_id) if repository_id else None,
        )


def _context(node: Any, key: str) -> Any:
    value = node.try_get_context(key)
    # `-c key=...` arrives as a string; cdk.json values arrive parsed.
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    return value


def _environment_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, Mapping):
        return tuple(str(name) for name in value)
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    if isinstance(value, Sequence):
        return tuple(str(name) for name in value)
    raise AccountSettingsError(f"set the `{ENVIRONMENTS_CONTEXT_KEY}` context: a map of names")


def _logical_suffix(environment: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", environment))


class GitHubDeployRole(Construct):
    """A role for one GitHub environment that can only hand over to the CDK bootstrap roles."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        provider_arn: str,
        settings: AccountSettings,
        environment: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        qualifier = settings.qualifier(environment)
        self.role = iam.Role(
            self,
            "Role",
            description=f"GitHub Actions deploy role of {settings.repository}, environment "
            f"{environment}: may only assume the CDK bootstrap roles of qualifier {qualifier}",
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": settings.subject(environment),
                    }
                },
            ),
            max_session_duration=cdk.Duration.hours(1),
        )
        self._allow_bootstrap_roles(qualifier)
        self._allow_powertools_parameters()
        cdk.CfnOutput(
            stack,
            f"DeployRoleArn{_logical_suffix(environment)}",
            value=self.role.role_arn,
            description=f"GitHub environment `{environment}`: variable AWS_DEPLOY_ROLE_ARN",
        )

    def _allow_bootstrap_roles(self, qualifier: str) -> None:
        """sts:AssumeRole on this environment's CDK bootstrap roles, nothing else."""
        self._allow(
            "AssumeCdkBootstrapRoles",
            "sts:AssumeRole",
            # this environment's bootstrap only (any region of the account)
            resource=cdk.Stack.of(self).format_arn(
                service="iam", region="", resource="role", resource_name=f"cdk-{qualifier}-*"
            ),
            pattern=f"arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-{qualifier}-*",
            conditions={
                "StringEquals": {
                    f"iam:ResourceTag/{BOOTSTRAP_ROLE_TAG}": list(BOOTSTRAP_ROLE_KINDS)
                }
            },
            reason="The bootstrap role names end in the account and region, so the resource "
            "is this environment's qualifier's roles, narrowed by the bootstrap-role tag.",
        )

    def _allow_powertools_parameters(self) -> None:
        """`make deploy` first checks AWS's public Powertools layer parameter in the target
        region (tools/check_powertools_layer.py): a read of AWS-owned public parameters."""
        parameters = POWERTOOLS_PARAMETERS.lstrip("/")
        self._allow(
            "ReadPowertoolsLayerParameter",
            "ssm:GetParameter",
            resource=cdk.Stack.of(self).format_arn(
                service="ssm",
                region="*",
                account="",
                resource="parameter",
                resource_name=parameters,
            ),
            pattern=f"arn:<AWS::Partition>:ssm:*::parameter/{parameters}",
            reason="Reads only AWS's public Powertools layer parameters (every version, in "
            "the deploying region), which make deploy checks before it deploys.",
        )

    def _allow(
        self,
        sid: str,
        action: str,
        *,
        resource: str,
        pattern: str,
        reason: str,
        conditions: Mapping[str, Any] | None = None,
    ) -> None:
        """One statement of the role's policy, and why its wildcard resource is narrow."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid=sid,
                actions=[action],
                resources=[resource],
                conditions=dict(conditions) if conditions else None,
            )
        )
        cdk.Validations.of(self.role).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{pattern}]", reason=reason
            )
        )


class EnvironmentPolicies(Construct):
    """An environment's CloudFormation execution policies and permissions boundary, by
    the names `make bootstrap` and the environment's stack look them up by."""

    def __init__(
        self, scope: Construct, construct_id: str, *, environment: str, qualifier: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.execution = [
            self._policy(
                construct,
                name,
                f"CloudFormation execution role of {environment} ({part}): its resources only",
                statements,
                EnvironmentArns(environment, qualifier),
            )
            for construct, part, name, statements in zip(
                ("Execution", "ExecutionFront"),
                ("1/2", "2/2"),
                execution_policy_names(environment),
                EXECUTION_POLICIES,
                strict=True,
            )
        ]
        self.boundary = self._policy(
            "Boundary",
            boundary_policy_name(environment),
            f"Permissions boundary of every role of {environment}'s stack",
            boundary_statements,
            EnvironmentArns(environment, qualifier),
        )

    def _policy(
        self,
        construct_id: str,
        name: str,
        description: str,
        statements: Callable[[EnvironmentArns], list[iam.PolicyStatement]],
        arns: EnvironmentArns,
    ) -> iam.ManagedPolicy:
        policy = iam.ManagedPolicy(
            self,
            construct_id,
            managed_policy_name=name,
            description=description,
            statements=statements(arns),
        )
        # cdk-nag names each wildcard as the template has it: the same statements, with
        # the partition and account as it writes them
        placeholders = EnvironmentArns(
            arns.environment, arns.qualifier, "<AWS::Partition>", "<AWS::AccountId>"
        )
        for finding in wildcard_findings(statements(placeholders)):
            cdk.Validations.of(policy).acknowledge(
                cdk.Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]",
                    reason="This environment's own resources by name prefix or tag "
                    "(tests/infra/test_execution_policy.py denies the same actions on "
                    "another environment's), or a read IAM does not scope.",
                )
            )
        return policy


class AccountStack(cdk.Stack):
    """GitHub OIDC provider, per-environment deploy roles, API Gateway CloudWatch role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str = STACK_NAME,
        *,
        settings: AccountSettings,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "description", "Pick a Number, once per account: GitHub OIDC deploy roles, API logs"
        )
        # Deployed with the operator's own credentials, before any environment's bootstrap
        # exists (and the default qualifier's is never made): the legacy synthesizer puts
        # the template inline, with no asset, bootstrap role or version check. So this
        # stack holds no asset (no Lambda-backed construct) and stays under 51,200 bytes.
        kwargs.setdefault("synthesizer", cdk.LegacyStackSynthesizer())
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.deploy_roles: dict[str, iam.Role] = {}
        self.policies: dict[str, EnvironmentPolicies] = {}
        # API Gateway's CloudWatch role is a setting of each account *and region*; the
        # OIDC provider and the roles are global to the account (a second region's
        # stack would collide with the provider).
        self.api_gateway_logs_role = self._api_gateway_cloudwatch_role()
        if settings.regional_only:
            return

        if settings.existing_oidc_provider_arn:
            provider_arn = settings.existing_oidc_provider_arn
        else:
            provider = iam.OidcProviderNative(
                self,
                "GitHubOidcProvider",
                url=GITHUB_OIDC_URL,
                client_ids=[STS_AUDIENCE],
                # Other repositories' roles may trust the same provider: keep it.
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            provider_arn = provider.oidc_provider_arn

        for environment in settings.environments:
            construct = GitHubDeployRole(
                self,
                f"DeployRole{_logical_suffix(environment)}",
                provider_arn=provider_arn,
                settings=settings,
                environment=environment,
            )
            self.deploy_roles[environment] = construct.role
            self.policies[environment] = EnvironmentPolicies(
                self,
                f"Policies{_logical_suffix(environment)}",
                environment=environment,
                qualifier=settings.qualifier(environment),
            )

    def _api_gateway_cloudwatch_role(self) -> iam.Role:
        # One setting per account and region: every environment's stages log through it,
        # so it lives here and not in a per-environment stack (whose deletion would
        # otherwise break the others' logging).
        role = iam.Role(
            self,
            "ApiGatewayCloudWatchRole",
            description="Lets API Gateway write the access and execution logs of every stage",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"  # pragma: allowlist secret
                )
            ],
        )
        role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
                "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                reason="AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents and "
                "maintains for exactly this role, which only apigateway.amazonaws.com can assume.",
            )
        )
        account = apigateway.CfnAccount(
            self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn
        )
        account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account.node.add_dependency(role)
        cdk.CfnOutput(self, "ApiGatewayCloudWatchRoleArn", value=role.role_arn)
        return role
