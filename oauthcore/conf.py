"""Portcullis settings, read from the ``PORTCULLIS`` dict in Django settings, with defaults."""

from django.conf import settings

from oauthcore.constants import MFA_API_PATH, MY_ACCOUNT_API_PATH, MY_ORGANIZATION_API_PATH

# Rate limits (see oauthcore.throttle): "N/period", period s, m, h or d, optionally a multiple
# ("5/15m"). Each is counted in the shared cache (CACHE_URL).
DEFAULT_RATE_LIMITS = {
    # Token requests per authenticated client (every grant type).
    "token": "600/m",
    # Login attempts (right or wrong) from one address.
    "login_address": "30/m",
    # Failed logins for one account name from one address: the fifth within 15 minutes locks that
    # name out from that address for 15 minutes.
    "login_failures": "5/15m",
    # Dynamic client registrations (POST /oidc/register) for the whole tenant (Auth0: 5 per second).
    "registration": "5/s",
    # Wrong second-factor answers (a TOTP code, a recovery code, a passkey) for one account: the
    # fifth within 15 minutes refuses that account's second step for 15 minutes.
    "mfa_failures": "5/15m",
    # Partner portal sign-ups from one address.
    "signup": "10/h",
    # End users' account emails asked for at /login (sign-up, a password reset), per address typed.
    "account_email": "5/h",
    # The same, per caller's IP address.
    "account_email_ip": "30/h",
    # Portal actions that send email (a confirmation link again, an invitation), per member.
    "portal_email": "30/h",
}

DEFAULTS = {
    "ISSUER": "http://127.0.0.1:8000",
    "CLIENT_SECRET_BYTES": 48,
    # Device authorization grant (RFC 8628).
    "DEVICE_CODE_LIFETIME": 600,  # seconds a device code (and its user code) can be used
    "DEVICE_POLL_INTERVAL": 5,  # seconds a device waits between polls; faster polls get slow_down
    # Client ID metadata documents: how they are fetched.
    "CIMD_FETCH_TIMEOUT": 5.0,  # seconds for the whole fetch (connect and read)
    "CIMD_MAX_DOCUMENT_BYTES": 5 * 1024,
    "CIMD_CACHE_SECONDS": 3600,  # how long a fetched document is trusted (a shorter Cache-Control max-age wins)
    # Client metadata bounds, for every way an app is made or changed (dynamic registration, the
    # management API, the portal's and the admin's forms): checked before any URL is parsed or
    # anything is stored, so the cost of a request is bounded before it is paid.
    "REGISTRATION_MAX_BODY_BYTES": 32 * 1024,  # a larger POST/PUT /oidc/register is a 413, unread
    "CLIENT_METADATA_MAX_URIS": 20,  # per list of URLs: callbacks, allowed origins, web origins
    "CLIENT_METADATA_MAX_URI_LENGTH": 2000,  # characters in each of those URLs, and in logo_uri
    "CLIENT_METADATA_MAX_LIST": 10,  # items in any other list (grant_types, response_types, contacts)
    "CLIENT_METADATA_MAX_STRING": 255,  # characters in any other string (names, informational URLs, items)
    # Enterprise connections (a customer's own OpenID Connect or SAML identity provider).
    "FEDERATION_TIMEOUT": 10.0,  # seconds the provider has to answer each request (connect and read)
    "FEDERATION_CLOCK_SKEW": 120,  # seconds of clock difference tolerated in ID tokens and assertions
    "FEDERATION_FLOW_SECONDS": 600,
    # Whether a provider may be on this machine (loopback): for local development and tests only.
    "FEDERATION_ALLOW_LOOPBACK": False,  # how long a sign-in may stay at the provider before it must restart
    "CONNECTION_SETUP_LINK_DAYS": 7,  # how long a self-service setup link for a customer's IT admin works
    "PORTAL_INVITATION_DAYS": 7,
    # End users' one-time links (oauthcore.account_links): seconds an emailed link works.
    "EMAIL_VERIFICATION_LINK_SECONDS": 5 * 24 * 3600,
    "PASSWORD_RESET_LINK_SECONDS": 3600,
    "ACCOUNT_LINK_MAX_SECONDS": 30 * 24 * 3600,  # the longest ttl_sec a management API ticket may ask for
    "PORTAL_VERIFICATION_DAYS": 3,
    "RATE_LIMITS": DEFAULT_RATE_LIMITS,
    # How many proxies in front of Portcullis append to X-Forwarded-For (0: use REMOTE_ADDR).
    "TRUSTED_PROXY_HOPS": 0,
    # Where users' consents are kept (an oauthcore.consents.ConsentStore, by dotted path): the consent
    # app sits above oauthcore, which finds it here instead of importing it.
    "CONSENT_STORE": "consent.store.UserGrantStore",
}


class PortcullisSettings:
    def __getattr__(self, name: str):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown Portcullis setting: {name}")
        return getattr(settings, "PORTCULLIS", {}).get(name, DEFAULTS[name])

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token and the base of every endpoint URL (no trailing slash)."""
        return self.ISSUER.rstrip("/")

    @property
    def management_api_identifier(self) -> str:
        return f"{self.issuer}/api/v2/"

    @property
    def my_organization_api_identifier(self) -> str:
        """The audience of the My Organization API, with which an organization's admins manage it."""
        return f"{self.issuer}{MY_ORGANIZATION_API_PATH}"

    @property
    def my_account_api_identifier(self) -> str:
        """The audience of the My Account API, with which a signed-in user manages their own account."""
        return f"{self.issuer}{MY_ACCOUNT_API_PATH}"

    @property
    def mfa_api_identifier(self) -> str:
        """The audience of the MFA API, with which a signed-in user manages their authenticators."""
        return f"{self.issuer}{MFA_API_PATH}"

    @property
    def user_delegated_system_api_identifiers(self) -> frozenset[str]:
        """The system APIs reached on a user's behalf (through first-party apps only): every one of
        their calls act on the signed-in user's own account or organization."""
        return frozenset({self.my_organization_api_identifier, self.my_account_api_identifier, self.mfa_api_identifier})

    def rate_limit(self, name: str) -> str:
        """The configured rate for one limit, falling back to its default."""
        return {**DEFAULT_RATE_LIMITS, **self.RATE_LIMITS}[name]


portcullis_settings = PortcullisSettings()
