"""The one-time account stack: who may assume the deploy roles, and what they may do.

The template is what IAM enforces, so the assertions read the synthesized policies
themselves: the trust conditions, and that every permission of a deploy role is one
`sts:AssumeRole` on the tagged CDK bootstrap roles.
"""

import fnmatch
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from infra.cloud.account import (
    BOOTSTRAP_ROLE_TAG,
    STACK_NAME,
    AccountSettings,
    AccountSettingsError,
    AccountStack,
)

OWNER = "example-org"
REPO = "pick-a-number-fork"
ENVIRONMENTS: dict[str, dict[str, Any]] = {"dev": {}, "prod": {}}
OIDC = "token.actions.githubusercontent.com"


def synth(**context: Any) -> dict[str, Any]:
    context = {
        "aws:cdk:bundling-stacks": [],
        "pick-a-number:github": {"owner": OWNER, "repo": REPO},
        "pick-a-number:environments": ENVIRONMENTS,
        **context,
    }
    app = cdk.App(context=context)
    # cdk-nag runs at synthesis: an unacknowledged finding fails app.synth().
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    AccountStack(app, settings=AccountSettings.from_context(app.node))
    template: dict[str, Any] = app.synth().get_stack_by_name(STACK_NAME).template
    return template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synth()


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def deploy_roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: role
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if logical_id.startswith("DeployRole")
    }


def policies_of(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        policy["Properties"]["PolicyDocument"]
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]


def test_github_oidc_provider_accepts_only_the_sts_audience(template):
    Template.from_json(template).has_resource(
        "AWS::IAM::OIDCProvider",
        {
            "Properties": {
                "Url": f"https://{OIDC}",
                "ClientIdList": ["sts.amazonaws.com"],
            },
            # other repositories' roles may trust the provider: deleting the stack keeps it
            "DeletionPolicy": "Retain",
        },
    )
    assert len(resources(template, "AWS::IAM::OIDCProvider")) == 1


def test_one_deploy_role_per_environment_trusted_only_by_its_github_environment(template):
    [provider_id] = resources(template, "AWS::IAM::OIDCProvider")
    trusted = {}
    for role in deploy_roles(template).values():
        # Then: one statement, web identity from our provider, both conditions exact
        [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": {"Ref": provider_id}}
        # StringEquals (not StringLike): no wildcard can widen the subject
        assert set(statement["Condition"]) == {"StringEquals"}
        condition = statement["Condition"]["StringEquals"]
        assert set(condition) == {f"{OIDC}:aud", f"{OIDC}:sub"}
        assert condition[f"{OIDC}:aud"] == "sts.amazonaws.com"
        subject = condition[f"{OIDC}:sub"]
        assert "*" not in subject
        assert "?" not in subject
        trusted[subject] = role
    assert set(trusted) == {f"repo:{OWNER}/{REPO}:environment:{env}" for env in ENVIRONMENTS}


def test_deploy_roles_may_only_assume_the_tagged_cdk_bootstrap_roles(template):
    for role_id, role in deploy_roles(template).items():
        qualifier = "pandev" if role_id.startswith("DeployRoleDev") else "panprod"
        # no managed policies, no inline policies on the role itself ...
        assert "ManagedPolicyArns" not in role["Properties"]
        assert "Policies" not in role["Properties"]
        assert "PermissionsBoundary" not in role["Properties"]
        # ... and one attached policy: the bootstrap roles, and the read of AWS's public
        # Powertools layer parameters that `make deploy` checks first
        [document] = policies_of(template, role_id)
        statement, read_layer = document["Statement"]
        assert read_layer["Action"] == "ssm:GetParameter"
        assert read_layer["Resource"]["Fn::Join"][1][-1] == (
            ":ssm:*::parameter/aws/service/powertools/python/*"
        )
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRole"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        assert statement["Resource"] == {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::",
                    {"Ref": "AWS::AccountId"},
                    f":role/cdk-{qualifier}-*",
                ],
            ]
        }
        # only the roles a deployment uses: not `lookup` (ReadOnlyAccess on the whole
        # account: another environment's logs), not `image-publishing` (no Docker assets)
        assert statement["Condition"] == {
            "StringEquals": {f"iam:ResourceTag/{BOOTSTRAP_ROLE_TAG}": ["deploy", "file-publishing"]}
        }


def test_no_other_identity_gets_permissions(template):
    # Every IAM policy in the stack belongs to a deploy role; nothing else is granted.
    roles = set(deploy_roles(template))
    for policy in resources(template, "AWS::IAM::Policy").values():
        assert {ref["Ref"] for ref in policy["Properties"]["Roles"]} <= roles
        assert "Users" not in policy["Properties"]
        assert "Groups" not in policy["Properties"]
    # the environments' execution policies and boundaries are attached by `cdk bootstrap`
    # and the environment stacks, never here
    for policy in resources(template, "AWS::IAM::ManagedPolicy").values():
        assert not {"Roles", "Users", "Groups"} & set(policy["Properties"])
    assert not resources(template, "AWS::IAM::User")
    assert not resources(template, "AWS::IAM::AccessKey")


def test_api_gateway_account_uses_a_logs_role_only_api_gateway_can_assume(template):
    tpl = Template.from_json(template)
    role_ids = [
        logical_id
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "apigateway.amazonaws.com"}
    ]
    [role_id] = role_ids
    tpl.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                    }
                ]
            },
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            Match.string_like_regexp("AmazonAPIGatewayPushToCloudWatchLogs$"),
                        ],
                    ]
                }
            ],
        },
    )
    tpl.has_resource_properties(
        "AWS::ApiGateway::Account", {"CloudWatchRoleArn": {"Fn::GetAtt": [role_id, "Arn"]}}
    )


def test_outputs_name_each_deploy_role_for_its_github_environment(template):
    outputs = template["Outputs"]
    assert "DeployRoleArnDev" in outputs
    assert "DeployRoleArnProd" in outputs
    assert "ApiGatewayCloudWatchRoleArn" in outputs


def test_settings_come_from_context_not_code():
    # Given another repository and a third environment in the context
    template = synth(
        **{
            "github": "someone/other.repo",  # as `-c github=someone/other.repo`
            "pick-a-number:environments": {"dev": {}, "staging": {}, "prod": {}},
        }
    )
    # Then the trust follows them
    subjects = {
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"][
            f"{OIDC}:sub"
        ]
        for role in deploy_roles(template).values()
    }
    assert subjects == {
        "repo:someone/other.repo:environment:dev",
        "repo:someone/other.repo:environment:staging",
        "repo:someone/other.repo:environment:prod",
    }


def test_an_existing_oidc_provider_is_reused_not_created():
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    template = synth(**{"pick-a-number:account": {"oidc_provider_arn": arn}})
    assert not resources(template, "AWS::IAM::OIDCProvider")
    for role in deploy_roles(template).values():
        [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Federated": arn}


@pytest.mark.parametrize(
    ("owner", "repo", "environments"),
    [
        ("", REPO, ("dev",)),  # missing owner
        ("*", REPO, ("dev",)),  # a wildcard would trust every owner
        (OWNER, "*", ("dev",)),
        (OWNER, "repo:x", ("dev",)),  # would smuggle a claim separator
        (OWNER, REPO, ()),
        (OWNER, REPO, ("dev*",)),
        (OWNER, REPO, ("dev", "dev")),
    ],
)
def test_settings_refuse_values_that_would_widen_the_trust(owner, repo, environments):
    with pytest.raises(AccountSettingsError):
        AccountSettings(github_owner=owner, github_repo=repo, environments=environments)


def test_missing_github_context_fails_with_a_clear_message():
    app = cdk.App(context={"pick-a-number:environments": {"dev": {}}})
    with pytest.raises(AccountSettingsError, match="github"):
        AccountSettings.from_context(app.node)


# ---- an environment's job cannot reach another's bootstrap roles ----


def bootstrap_role_names(qualifier: str, account: str = "123456789012") -> list[str]:
    """The roles `cdk bootstrap --qualifier <q>` creates (one set per region)."""
    return [
        f"cdk-{qualifier}-{kind}-role-{account}-{region}"
        for kind in ("deploy", "file-publishing", "image-publishing", "lookup", "cfn-exec")
        for region in ("us-east-1", "eu-west-1")
    ]


def role_patterns(template: dict[str, Any], role_id: str) -> list[str]:
    patterns = []
    for document in policies_of(template, role_id):
        for statement in document["Statement"]:
            if statement["Action"] != "sts:AssumeRole":
                continue
            resource = statement["Resource"]
            parts = resource["Fn::Join"][1] if isinstance(resource, dict) else [resource]
            text = "".join(p if isinstance(p, str) else "" for p in parts)
            patterns.append(text.rsplit(":role/", 1)[1])
    return patterns


def test_the_dev_role_cannot_assume_prod_bootstrap_roles(template):
    """AWS (CDK bootstrap): the deploy and CloudFormation execution roles are named
    cdk-<qualifier>-<kind>-role-<account>-<region>; with one qualifier per environment
    and each GitHub role allowed only `cdk-<its qualifier>-*`, a job in the unprotected
    `dev` environment cannot deploy, change or destroy `prod` through them."""
    from infra.environments import EnvironmentSettings

    qualifiers = {env: EnvironmentSettings(name=env).qualifier for env in ENVIRONMENTS}
    assert len(set(qualifiers.values())) == len(qualifiers)
    for env, role_id in (("dev", "DeployRoleDevRole"), ("prod", "DeployRoleProdRole")):
        [found] = [k for k in deploy_roles(template) if k.startswith(role_id)]
        patterns = role_patterns(template, found)
        assert patterns
        for other, qualifier in qualifiers.items():
            names = bootstrap_role_names(qualifier)
            reachable = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
            if other == env:
                assert reachable, f"{env} cannot reach its own bootstrap roles"
            else:
                assert not reachable, f"{env}'s role reaches {other}'s roles: {reachable}"


def test_each_environment_stack_uses_its_own_bootstrap_qualifier():
    """The CLI assumes the roles the stack's synthesizer names: the qualifier's."""
    from tests.support.synth import make_app

    seen = set()
    for env in ("dev", "prod"):
        app, stack = make_app(env)
        template = app.synth().get_stack_by_name(stack.stack_name).template
        parameter = template["Parameters"]["BootstrapVersion"]["Default"]
        qualifier = parameter.split("/")[2]
        assert qualifier != "hnb659fds"  # CDK's default, shared by every environment
        seen.add(qualifier)
    assert len(seen) == 2


# ---- the account stack in a second region ---------------------------


def test_a_second_region_gets_only_the_regional_part():
    """AWS: API Gateway's CloudWatch role (AWS::ApiGateway::Account) is a setting per
    account *and region*, while IAM (the GitHub OIDC provider, one per URL and account;
    the deploy roles) is global: a second region's stack must not create them again."""
    template = synth(**{"account-regional-only": "true"})
    assert not resources(template, "AWS::IAM::OIDCProvider")
    assert not deploy_roles(template)
    assert len(resources(template, "AWS::ApiGateway::Account")) == 1


def test_an_account_per_environment_gets_only_its_deploy_role():
    """Separate accounts (the strict isolation): `-c account-environments=prod`."""
    template = synth(**{"account-environments": "prod"})
    assert [k for k in deploy_roles(template) if "Policy" not in k] == [
        k for k in deploy_roles(template) if k.startswith("DeployRoleProdRole")
    ]
    assert deploy_roles(template)
    with pytest.raises(AccountSettingsError, match="unknown"):
        synth(**{"account-environments": "staging"})


# CloudFormation takes a template inline (TemplateBody) up to this size; above it, the
# CDK CLI first uploads the template to a bootstrap bucket.
TEMPLATE_BODY_LIMIT = 51_200


# The qualifier of `cdk bootstrap` without --qualifier, which this project never runs.
DEFAULT_QUALIFIER = "hnb659fds"


def test_the_account_stack_deploys_without_any_cdk_bootstrap() -> None:
    """CDK: a stack of the default or the CLI-credentials synthesizer is deployed through
    a bootstrap (its template is an asset the CLI uploads to
    cdk-<qualifier>-assets-<account>-<region>, roles cdk-<qualifier>-*, and
    CloudFormation checks the BootstrapVersion parameter); without a qualifier that is
    `hnb659fds`, which this project never bootstraps (one qualifier per environment,
    each made after this stack). So the account stack goes inline, with nothing to
    publish, no bootstrap role, bucket or version check, under the TemplateBody limit."""
    import json

    from tests.support.synth import account_assembly

    artifacts, template = account_assembly()
    stack = artifacts[STACK_NAME]
    assert stack["type"] == "aws:cloudformation:stack"
    # Nothing to publish: no asset manifest, no template uploaded to a bucket.
    assert not stack.get("dependencies"), stack.get("dependencies")
    assert not any(a["type"] == "cdk:asset-manifest" for a in artifacts.values())
    for key in (
        "stackTemplateAssetObjectUrl",
        "assumeRoleArn",
        "cloudFormationExecutionRoleArn",
        "lookupRole",
        "requiresBootstrapStackVersion",
        "bootstrapStackVersionSsmParameter",
    ):
        assert key not in stack["properties"], key
    assert DEFAULT_QUALIFIER not in json.dumps(stack)
    # No BootstrapVersion parameter, no CheckBootstrapVersion rule, no asset parameter.
    assert "Parameters" not in template, template.get("Parameters")
    assert "Rules" not in template
    assert len(json.dumps(template)) < TEMPLATE_BODY_LIMIT


# ---- environments that cannot reach each other ---------------------------------------


def test_each_environment_gets_its_execution_policy_and_boundary_by_name(template):
    """`make bootstrap ENV=<env>` and the environment's stack find them by these names."""
    names = {
        policy["Properties"]["ManagedPolicyName"]
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values()
    }
    assert names == {
        f"PickANumber-{env}-{kind}"
        for env in ENVIRONMENTS
        for kind in ("cfn-execution", "cfn-execution-front", "permissions-boundary")
    }


def test_the_account_stack_stays_inline(template):
    """The legacy synthesizer puts the template inline in CreateStack: 51,200 bytes."""
    assert len(json.dumps(template, separators=(",", ":"))) < 51_200


def test_an_environment_name_cannot_extend_another():
    """The policies match `PickANumber-<env>-*`: `dev`'s would match `dev-eu`'s."""
    with pytest.raises(AccountSettingsError, match="starts with"):
        AccountSettings(github_owner=OWNER, github_repo=REPO, environments=("dev", "dev-eu"))


def subjects(template: dict[str, Any]) -> set[str]:
    return {
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"][
            f"{OIDC}:sub"
        ]
        for logical_id, role in deploy_roles(template).items()
        if "Policy" not in logical_id
    }


def test_with_github_ids_the_trust_names_the_repository_by_its_immutable_ids():
    """GitHub ("Customizing the subject claims"): a repository whose OIDC subject template
    includes `repository_owner_id`, `repository_id` and `context` gets
    `repository_owner_id:<id>:repository_id:<id>:environment:<env>`: a repository
    re-created under the old name after a rename gets other ids and no access."""
    github = {"owner": OWNER, "repo": REPO, "owner_id": "1342004", "repository_id": "718293"}
    expected = {
        f"repository_owner_id:1342004:repository_id:718293:environment:{env}"
        for env in ENVIRONMENTS
    }
    assert subjects(synth(**{"pick-a-number:github": github})) == expected
    # the same from the command line
    assert subjects(synth(**{"github-ids": "1342004/718293"})) == expected


@pytest.mark.parametrize(
    ("owner_id", "repository_id"), [("1342004", None), ("12*", "718293"), ("x", "1")]
)
def test_github_ids_must_be_both_and_numbers(owner_id, repository_id):
    with pytest.raises(AccountSettingsError, match="owner_id"):
        AccountSettings(
            github_owner=OWNER,
            github_repo=REPO,
            environments=("dev",),
            github_owner_id=owner_id,
            github_repository_id=repository_id,
        )


def context(environments: dict[str, Any]) -> dict[str, Any]:
    return {"pick-a-number:environments": environments}


def test_an_environment_in_an_account_of_its_own_is_pinned_to_it():
    """Prod in an account of its own (the strongest isolation): with `aws_account` in
    cdk.json the stack names that account, and the CDK CLI refuses to deploy it with
    credentials of another (such as dev's deploy role)."""
    from tests.support.synth import cdk_json_context, make_app

    environments: dict[str, Any] = cdk_json_context()["pick-a-number:environments"]
    pinned: dict[str, Any] = {
        **environments,
        "prod": {**environments["prod"], "aws_account": "222222222222"},
    }
    _, stack = make_app("prod", **context(pinned))
    assert stack.account == "222222222222"
    _, dev = make_app("dev", **context(pinned))
    assert cdk.Token.is_unresolved(dev.account)  # no account named: the CLI's
    bad: dict[str, Any] = {**environments, "prod": {**environments["prod"], "aws_account": "prod"}}
    with pytest.raises(ValueError, match="12-digit"):
        make_app("prod", **context(bad))


def test_make_deploy_account_passes_the_github_ids():
    import subprocess

    from tests.support.synth import ROOT

    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "deploy-account", "GITHUB=o/r", "GITHUB_IDS=1/2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "-c github-ids=1/2" in done.stdout
