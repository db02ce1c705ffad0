"""Security headers of every response to a browser, declared once.

The CloudFront response-headers policy and the local stack both add these, so a
page behaves the same on a laptop as in AWS. The CSP allows nothing but the
site's own origin: `web/` has no inline scripts or styles and no third parties.
"""

from typing import Final

HSTS_MAX_AGE_SECONDS: Final = 2 * 365 * 24 * 3600

CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

STRICT_TRANSPORT_SECURITY: Final = f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains"
REFERRER_POLICY: Final = "strict-origin-when-cross-origin"
FRAME_OPTIONS: Final = "DENY"
# The page may ask for the location itself (opt-in), nothing else may.
PERMISSIONS_POLICY: Final = "geolocation=(self), camera=(), microphone=(), payment=()"

SECURITY_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": STRICT_TRANSPORT_SECURITY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": FRAME_OPTIONS,
    "Referrer-Policy": REFERRER_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
}
