"""Site bucket, logs bucket, CloudFront (OAC, /api/*, headers) and the web deployment."""

import json
import re
from typing import Any

from infra.cloud.api import API_KEY_HEADER
from infra.cloud.frontend import (
    DISTRIBUTION_LOGICAL_ID,
    LOGS_BUCKET_LOGICAL_ID,
    SITE_BUCKET_LOGICAL_ID,
    WEB_DIR,
)
from infra.security_headers import CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY, SECURITY_HEADERS
from tests.support.synth import ROOT, Synth

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def distribution(synth: Synth) -> dict[str, Any]:
    config: dict[str, Any] = synth.resources[DISTRIBUTION_LOGICAL_ID]["Properties"][
        "DistributionConfig"
    ]
    return config


def bucket_policy(synth: Synth, bucket: str) -> list[dict[str, Any]]:
    for policy in synth.of_type("AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket}:
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError(f"no policy on {bucket}")


def test_site_bucket_is_private_versioned_ssl_only_and_no_website(dev: Synth) -> None:
    props = dev.resources[SITE_BUCKET_LOGICAL_ID]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "WebsiteConfiguration" not in props
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": LOGS_BUCKET_LOGICAL_ID}
    denies = [s for s in bucket_policy(dev, SITE_BUCKET_LOGICAL_ID) if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_only_cloudfront_of_this_distribution_reads_the_site(dev: Synth) -> None:
    reads = [
        s
        for s in bucket_policy(dev, SITE_BUCKET_LOGICAL_ID)
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert len(reads) == 1
    assert reads[0]["Action"] == "s3:GetObject"
    source_arn = reads[0]["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert {"Ref": DISTRIBUTION_LOGICAL_ID} in source_arn["Fn::Join"][1]
    _, oac = dev.one("AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"


def test_logs_bucket_expires_logs_after_the_retention_setting(dev: Synth, prod: Synth) -> None:
    for synth, days in ((dev, 14), (prod, 90)):
        props = synth.resources[LOGS_BUCKET_LOGICAL_ID]["Properties"]
        assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
        [rule] = props["LifecycleConfiguration"]["Rules"]
        assert rule["Status"] == "Enabled"
        assert rule["ExpirationInDays"] == days
    config = distribution(dev)
    assert config["Logging"]["Bucket"] == {
        "Fn::GetAtt": [LOGS_BUCKET_LOGICAL_ID, "RegionalDomainName"]
    }


def test_site_and_logs_are_retained_outside_dev_and_emptied_with_dev(
    dev: Synth, prod: Synth
) -> None:
    buckets = (SITE_BUCKET_LOGICAL_ID, LOGS_BUCKET_LOGICAL_ID)
    for bucket in buckets:
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            assert prod.resources[bucket][policy] == "Retain", (bucket, policy)
            assert dev.resources[bucket][policy] == "Delete", (bucket, policy)
    # `cdk destroy` of dev deletes both buckets, so both are emptied first; prod keeps them.
    emptied = {
        r["Properties"]["BucketName"]["Ref"]
        for r in dev.of_type("Custom::S3AutoDeleteObjects").values()
    }
    assert emptied == set(buckets)
    assert not prod.of_type("Custom::S3AutoDeleteObjects")


def test_default_behaviour_serves_the_site_over_https(dev: Synth) -> None:
    config = distribution(dev)
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert config["DefaultRootObject"] == "index.html"


def test_api_behaviour_goes_to_the_stage_with_the_key_uncached(dev: Synth) -> None:
    config = distribution(dev)
    [api] = config["CacheBehaviors"]
    assert api["PathPattern"] == "/api/*"
    assert api["ViewerProtocolPolicy"] == "redirect-to-https"
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(api["AllowedMethods"]) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "PUT",
        "PATCH",
        "POST",
        "DELETE",
    }
    origin = next(o for o in config["Origins"] if o["Id"] == api["TargetOriginId"])
    # "/" + the stage's name (a Ref to the stage resolves to its name, "dev").
    stage_id, stage = dev.one("AWS::ApiGateway::Stage")
    assert stage["Properties"]["StageName"] == "dev"
    assert origin["OriginPath"] == {"Fn::Join": ["", ["/", {"Ref": stage_id}]]}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    [header] = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == API_KEY_HEADER
    # The key's value, as the custom resource reads it from API Gateway.
    key_id, _ = dev.one("AWS::ApiGateway::ApiKey")
    reader_id, attribute = header["HeaderValue"]["Fn::GetAtt"]
    assert attribute == "value"
    assert key_id in json.dumps(dev.resources[reader_id]["Properties"]["Create"])


def test_a_custom_domain_gets_tls_1_2_2021() -> None:
    from tests.support.synth import cdk_json_context

    environments = cdk_json_context()["pick-a-number:environments"]
    environments["dev"] |= {
        "domain_name": "pick.example.com",
        "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    }
    synth = Synth("dev", **{"pick-a-number:environments": environments})
    config = distribution(synth)
    assert config["Aliases"] == ["pick.example.com"]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"


def rendered_headers(policy: dict[str, Any]) -> dict[str, str]:
    """The response headers a viewer gets from the CloudFront policy."""
    config = policy["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    hsts = security["StrictTransportSecurity"]
    hsts_value = f"max-age={hsts['AccessControlMaxAgeSec']}"
    if hsts.get("IncludeSubdomains"):
        hsts_value += "; includeSubDomains"
    if hsts.get("Preload"):
        hsts_value += "; preload"
    headers = {
        "Content-Security-Policy": security["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "Strict-Transport-Security": hsts_value,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": security["FrameOptions"]["FrameOption"],
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
    }
    for item in config["CustomHeadersConfig"]["Items"]:
        headers[item["Header"]] = item["Value"]
    assert all(v["Override"] for v in security.values() if isinstance(v, dict))
    return headers


def test_response_headers_policy_is_the_shared_declaration(dev: Synth) -> None:
    _, policy = dev.one("AWS::CloudFront::ResponseHeadersPolicy")
    # CloudFront has no managed field for Permissions-Policy: it goes out as a custom header.
    custom = policy["Properties"]["ResponseHeadersPolicyConfig"]["CustomHeadersConfig"]["Items"]
    assert {"Header": "Permissions-Policy", "Value": PERMISSIONS_POLICY, "Override": True} in custom
    assert rendered_headers(policy["Properties"]) == SECURITY_HEADERS
    config = distribution(dev)
    policy_ref = config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    assert config["CacheBehaviors"][0]["ResponseHeadersPolicyId"] == policy_ref


def test_the_strict_csp_matches_web() -> None:
    # 'self' only: no inline scripts, styles or handlers, and no third-party URLs.
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    pages = [*WEB_DIR.glob("*.html")]
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page
        assert "<style" not in html, page
        assert not re.search(r"\sstyle=", html), page
        assert not re.search(r"\son[a-z]+=", html), page
        assert not re.search(r"(src|href)=\"(https?:)?//", html), page
    for source in [*WEB_DIR.glob("*.js"), *WEB_DIR.glob("*.css")]:
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"https?://(?!www\.w3\.org)", text), source


def test_web_is_deployed_with_an_invalidation(dev: Synth) -> None:
    _, deployment = dev.one("Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    assert props["DestinationBucketName"] == {"Ref": SITE_BUCKET_LOGICAL_ID}
    assert props["DistributionId"] == {"Ref": DISTRIBUTION_LOGICAL_ID}
    assert props["DistributionPaths"] == ["/*"]


def test_replaced_site_versions_and_unfinished_uploads_expire(dev: Synth, prod: Synth) -> None:
    """AWS (S3 versioning, lifecycle): in a versioned bucket an overwritten or deleted
    object stays as a noncurrent version, stored and billed, until a lifecycle rule
    expires it; an incomplete multipart upload's parts likewise stay until aborted.
    Every deployment of web/ replaces the site's files, so without a rule the bucket
    only grows (past the free 5 GB in time). Replaced versions expire after 30 days,
    unfinished uploads after a day, leftover delete markers are removed."""
    for synth in (dev, prod):
        bucket = synth.resources[SITE_BUCKET_LOGICAL_ID]["Properties"]
        rules = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r["Status"] == "Enabled"]
        assert any(
            r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == 30 for r in rules
        )
        assert any(
            r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1
            for r in rules
        )
        assert any(r.get("ExpiredObjectDeleteMarker") is True for r in rules)
        # No rule touches the current files: the site stays whole.
        assert not any("ExpirationInDays" in r or "ExpirationDate" in r for r in rules)


# AWS (CloudFront, "HTTP 4xx and 5xx status codes that CloudFront caches"): these it
# caches for the Error Caching Minimum TTL (10 s unless configured) whatever the cache
# policy, keyed on the URL; 400, 403, 405, 412 and 415 when the origin sends a max-age.
CLOUDFRONT_CACHES_ERRORS = {400, 403, 404, 405, 412, 414, 415, 500, 501, 502, 503, 504}


# The codes a distribution's CustomErrorResponses may name.
CONFIGURABLE_ERROR_CODES = {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}


def api_error_statuses() -> set[int]:
    """Every 4xx/5xx the published API document says the API can answer."""
    document = json.loads((ROOT / "web" / "openapi.json").read_text())
    return {
        int(status)
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for status in operation.get("responses", {})
        if status[0] in "45"
    }


def test_no_api_error_is_cached_at_cloudfront(dev: Synth, prod: Synth) -> None:
    """AWS CloudFront: an error answer of the API origin (a 400 for one viewer's bad
    body, a 503 while the table is throttled) is cached for 10 s by default even under
    CachingDisabled and served to everyone asking the same URL. A CustomErrorResponse
    with ErrorCachingMinTTL 0 and neither ResponsePagePath nor ResponseCode stops the
    caching and leaves the origin's answer (the problem+json body) as it is; error
    responses are per distribution, so the site's S3 answers pass through unchanged."""
    statuses = api_error_statuses()
    assert {400, 404, 405, 429, 502, 503} <= statuses  # the document is read
    for synth in (dev, prod):
        config = synth.resources["Distribution"]["Properties"]["DistributionConfig"]
        responses = {r["ErrorCode"]: r for r in config.get("CustomErrorResponses", [])}
        for status in statuses & CLOUDFRONT_CACHES_ERRORS & CONFIGURABLE_ERROR_CODES:
            assert responses.get(status, {}).get("ErrorCachingMinTTL") == 0, status
        for response in responses.values():
            assert response["ErrorCode"] in CONFIGURABLE_ERROR_CODES
            # No page rewrite: it would turn the API's problem+json into index.html.
            assert set(response) == {"ErrorCode", "ErrorCachingMinTTL"}
