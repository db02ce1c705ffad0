"""The front door: a private site bucket behind CloudFront, which also routes
`/api/*` to the REST API, and the logs bucket of both."""

from typing import Any, Final

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.cloud.api import API_KEY_HEADER, Api
from infra.cloud.functions import ROOT
from infra.environments import EnvironmentSettings
from infra.security_headers import (
    CONTENT_SECURITY_POLICY,
    HSTS_MAX_AGE_SECONDS,
    REFERRER_POLICY,
    SECURITY_HEADERS,
    STRICT_TRANSPORT_SECURITY,
)
from infra.topology import API_PREFIX

# Frozen: CloudFormation replaces a resource whose logical ID changes.
SITE_BUCKET_LOGICAL_ID: Final = "SiteBucket"
LOGS_BUCKET_LOGICAL_ID: Final = "LogsBucket"
DISTRIBUTION_LOGICAL_ID: Final = "Distribution"

WEB_DIR: Final = ROOT / "web"
MINIMUM_TLS: Final = cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021
CLOUDFRONT_LOG_PREFIX: Final = "cloudfront/"
SITE_ACCESS_LOG_PREFIX: Final = "s3-access/site/"
# Each deployment of web/ replaces the site's files; the versions it replaces are
# kept this long (to roll back a bad deployment by hand), then expire.
NONCURRENT_VERSION_DAYS: Final = 30

# CloudFront caches an origin's error answers for 10 s by default, whatever the cache
# policy says (CachingDisabled included), keyed on the URL: one viewer's 400, 429-turned
# 503 or 502 would be served to others. Error responses are per distribution, not per
# behaviour; with a TTL alone (no page, no status) the origin's own answer passes through
# unchanged (the API's problem+json, S3's 403 for a missing file), only never cached.
# These are the codes a distribution can configure (416 excepted: never cached anyway);
# of the API's other codes CloudFront caches none (409, 413, 429) or, like 415, only
# when the origin sends a max-age, which the API never does.
UNCACHED_ERROR_CODES: Final = (400, 403, 404, 405, 414, 500, 501, 502, 503, 504)

# CloudFront's own names for the headers it sets in `security_headers_behavior`;
# everything else in SECURITY_HEADERS goes out as a custom header.
_MANAGED_HEADERS: Final = {
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
}


def _freeze(resource: cdk.IResource, logical_id: str) -> None:
    cfn = resource.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    cfn.override_logical_id(logical_id)


def response_headers_policy(scope: Construct) -> cloudfront.ResponseHeadersPolicy:
    """SECURITY_HEADERS (infra/security_headers.py) as a CloudFront policy."""
    custom = [
        cloudfront.ResponseCustomHeader(header=name, value=value, override=True)
        for name, value in SECURITY_HEADERS.items()
        if name not in _MANAGED_HEADERS
    ]
    return cloudfront.ResponseHeadersPolicy(
        scope,
        "SecurityHeaders",
        comment="HSTS, strict CSP, nosniff, frame deny, referrer and permissions policy",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=CONTENT_SECURITY_POLICY, override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=cdk.Duration.seconds(HSTS_MAX_AGE_SECONDS),
                include_subdomains="includeSubDomains" in STRICT_TRANSPORT_SECURITY,
                preload="preload" in STRICT_TRANSPORT_SECURITY,
                override=True,
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption(SECURITY_HEADERS["X-Frame-Options"]),
                override=True,
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy(
                    REFERRER_POLICY.upper().replace("-", "_")
                ),
                override=True,
            ),
        ),
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(custom_headers=custom),
    )


class Frontend(Construct):
    """Site bucket (private, OAC), distribution, logs bucket, and the deployment of web/."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        api: Api,
        web_acl_arn: str | None = None,
    ) -> None:
        """`web_acl_arn`: the AWS WAF web ACL in front of the distribution, if any."""
        super().__init__(scope, id)
        self.logs_bucket = self._logs_bucket(settings)
        self.site_bucket = self._site_bucket(settings)
        self.distribution = self._distribution(settings, api, web_acl_arn)
        self.deployment = s3deploy.BucketDeployment(
            self,
            "DeployWeb",
            sources=[s3deploy.Source.asset(str(WEB_DIR))],
            destination_bucket=self.site_bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
        self._acknowledge_deployment_handler(settings.qualifier)

    def _bucket(
        self,
        id: str,
        settings: EnvironmentSettings,
        logical_id: str,
        lifecycle_rule: s3.LifecycleRule,
        **properties: Any,
    ) -> s3.Bucket:
        """A private, encrypted, TLS-only bucket under a frozen logical ID. Like the data,
        kept outside dev (a non-empty bucket would fail the stack's deletion), emptied
        and deleted with a dev stack."""
        bucket = s3.Bucket(
            self,
            id,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            lifecycle_rules=[lifecycle_rule],
            removal_policy=settings.removal_policy,
            auto_delete_objects=not settings.retain_data,
            **properties,
        )
        _freeze(bucket, logical_id)
        return bucket

    def _logs_bucket(self, settings: EnvironmentSettings) -> s3.Bucket:
        """CloudFront's and the site bucket's access logs, expired with the settings."""
        logs_bucket = self._bucket(
            "Logs",
            settings,
            LOGS_BUCKET_LOGICAL_ID,
            s3.LifecycleRule(
                id="expire-logs",
                expiration=cdk.Duration.days(settings.log_retention_days),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
            ),
            # CloudFront standard logs are delivered with an ACL grant.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        )
        cdk.Validations.of(logs_bucket).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the access-log bucket itself; logging it into itself would loop.",
            )
        )
        return logs_bucket

    def _site_bucket(self, settings: EnvironmentSettings) -> s3.Bucket:
        """The site's files: private (CloudFront reads them through OAC), versioned."""
        return self._bucket(
            "Site",
            settings,
            SITE_BUCKET_LOGICAL_ID,
            s3.LifecycleRule(
                id="expire-replaced-versions",
                noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_VERSION_DAYS),
                expired_object_delete_marker=True,
                abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
            ),
            versioned=True,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix=SITE_ACCESS_LOG_PREFIX,
        )

    def _distribution(
        self, settings: EnvironmentSettings, api: Api, web_acl_arn: str | None
    ) -> cloudfront.Distribution:
        """The site bucket by default, `/api/*` to the REST API with the origin key."""
        headers = response_headers_policy(self)
        custom_domain = self._custom_domain(settings)
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Pick a Number ({settings.name})",
            default_root_object="index.html",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            web_acl_id=web_acl_arn,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix=CLOUDFRONT_LOG_PREFIX,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.site_bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            additional_behaviors={
                f"{API_PREFIX}/*": cloudfront.BehaviorOptions(
                    origin=origins.RestApiOrigin(
                        api.rest_api,
                        origin_path=f"/{api.stage.stage_name}",
                        custom_headers={API_KEY_HEADER: api.origin_key_value},
                    ),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    # Every answer is per request (submissions, today's statistics).
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=(
                        cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
                    ),
                    response_headers_policy=headers,
                )
            },
            # TTL only: a page or status here would rewrite the API's problem+json too.
            error_responses=[
                cloudfront.ErrorResponse(http_status=code, ttl=cdk.Duration.seconds(0))
                for code in UNCACHED_ERROR_CODES
            ],
            **custom_domain,  # type: ignore[arg-type]
        )
        _freeze(distribution, DISTRIBUTION_LOGICAL_ID)
        self._acknowledge_distribution(
            distribution, custom_domain=bool(custom_domain), waf=web_acl_arn is not None
        )
        return distribution

    def _custom_domain(self, settings: EnvironmentSettings) -> dict[str, object]:
        """The distribution's own domain and certificate, if the environment has one."""
        if not (settings.domain_name and settings.certificate_arn):
            return {}
        return {
            "domain_names": [settings.domain_name],
            "certificate": acm.Certificate.from_certificate_arn(
                self, "Certificate", settings.certificate_arn
            ),
            "minimum_protocol_version": MINIMUM_TLS,
        }

    @staticmethod
    def _acknowledge_distribution(
        distribution: cloudfront.Distribution, *, custom_domain: bool, waf: bool
    ) -> None:
        acknowledgements = [
            (
                "AwsSolutions-CFR1",
                "No geographic restriction: the app is for anyone, anywhere.",
            ),
        ]
        if not waf:
            acknowledgements.append(
                (
                    "AwsSolutions-CFR2",
                    "This environment's waf setting is off (WAF is outside the free tier); "
                    "API throttling and CloudFront's Shield Standard protect it instead "
                    "(docs/SECURITY.md).",
                )
            )
        if not custom_domain:
            acknowledgements.append(
                (
                    "AwsSolutions-CFR4",
                    "Without a custom domain (settings) CloudFront serves its *.cloudfront.net "
                    "certificate, whose TLS policy it fixes; a domain gets TLSv1.2_2021.",
                )
            )
        for ack_id, reason in acknowledgements:
            cdk.Validations.of(distribution).acknowledge(
                cdk.Acknowledgment(id=ack_id, reason=reason)
            )

    def _acknowledge_deployment_handler(self, qualifier: str) -> None:
        """CDK's own BucketDeployment function: its runtime and grants are CDK's."""
        handler = self.deployment.handler_role.node.scope
        assert handler is not None
        grants = "CDK's BucketDeployment handler copies web/ from the CDK asset bucket"
        # cdk-nag names the account and region as written: literal in a stack pinned to
        # its environment (WAF on), placeholders in an environment-agnostic one.
        stack = cdk.Stack.of(self)
        account, region = (
            placeholder if cdk.Token.is_unresolved(value) else value
            for value, placeholder in (
                (stack.account, "<AWS::AccountId>"),
                (stack.region, "<AWS::Region>"),
            )
        )
        for ack_id, reason in (
            ("AwsSolutions-L1", "The BucketDeployment handler's runtime is chosen by aws-cdk-lib."),
            (
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "CDK's BucketDeployment handler role comes with the basic execution policy.",
            ),
            ("AwsSolutions-IAM5[Action::s3:GetObject*]", f"{grants} (read)."),
            ("AwsSolutions-IAM5[Action::s3:GetBucket*]", f"{grants} (read)."),
            ("AwsSolutions-IAM5[Action::s3:List*]", f"{grants} and lists the site bucket."),
            ("AwsSolutions-IAM5[Action::s3:DeleteObject*]", f"{grants}, pruning old files."),
            ("AwsSolutions-IAM5[Action::s3:Abort*]", f"{grants} with multipart uploads."),
            (
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
                f"cdk-{qualifier}-assets-{account}-{region}/*]",
                f"{grants}: the asset objects' keys are content hashes.",
            ),
            (
                "AwsSolutions-IAM5[Resource::<SiteBucket.Arn>/*]",
                f"{grants} to any key of the site bucket (the site's own files).",
            ),
            (
                "AwsSolutions-IAM5[Resource::*]",
                "CDK's deployment handler is granted cloudfront:CreateInvalidation and "
                "GetInvalidation on every distribution; the permissions boundary of the "
                "environment's roles (infra/cloud/isolation.py) allows them only on a "
                "distribution tagged with this environment.",
            ),
        ):
            cdk.Validations.of(handler).acknowledge(cdk.Acknowledgment(id=ack_id, reason=reason))
