"""Enumerations and fixed values of the domain, with the names Auth0 uses on the wire."""

from django.db import models


class AppType(models.TextChoices):
    REGULAR_WEB = "regular_web", "Regular web application"
    SPA = "spa", "Single page application"
    NATIVE = "native", "Native application"
    NON_INTERACTIVE = "non_interactive", "Machine to machine"


class SecurityMode(models.TextChoices):
    STRICT = "strict", "Strict"
    PERMISSIVE = "permissive", "Permissive"


class RedirectionPolicy(models.TextChoices):
    OPEN_REDIRECT_PROTECTION = "open_redirect_protection", "Open redirect protection"
    ALLOW_ALWAYS = "allow_always", "Allow always"


class TokenEndpointAuthMethod(models.TextChoices):
    NONE = "none", "None (public client)"
    CLIENT_SECRET_POST = "client_secret_post", "Client secret in the body (POST)"
    CLIENT_SECRET_BASIC = "client_secret_basic", "Client secret in HTTP Basic"


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code"
    REFRESH_TOKEN = "refresh_token", "Refresh token"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code", "Device code"


# Rule.GRANT_TYPE (oauthcore.policy): no implicit, no password grant for anyone; strict third-party apps get fewer.
SUPPORTED_GRANT_TYPES = frozenset(GrantType.values)
STRICT_THIRD_PARTY_GRANT_TYPES = frozenset(
    {GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN, GrantType.CLIENT_CREDENTIALS}
)

# django-oauth-toolkit names its grant types differently.
DOT_GRANT_TYPE_NAMES = {
    "authorization-code": GrantType.AUTHORIZATION_CODE,
    "client-credentials": GrantType.CLIENT_CREDENTIALS,
    GrantType.DEVICE_CODE.value: GrantType.DEVICE_CODE,
    "refresh_token": GrantType.REFRESH_TOKEN,
}


class CreatedVia(models.TextChoices):
    ADMIN = "admin", "Django admin"
    PORTAL = "portal", "Partner portal"
    API = "api", "Management API"
    DYNAMIC = "dynamic", "Dynamic client registration"
    CIMD = "cimd", "Client ID metadata document"


# Apps that registered themselves (RFC 7591, or a client ID metadata document): never client credentials.
SELF_REGISTERED = frozenset({CreatedVia.DYNAMIC, CreatedVia.CIMD})


class SubjectType(models.TextChoices):
    CLIENT = "client", "Client (machine to machine)"
    USER = "user", "User (delegated)"


class UserPolicy(models.TextChoices):
    ALLOW_ALL = "allow_all", "All apps allowed"
    REQUIRE_CLIENT_GRANT = "require_client_grant", "Per-app authorization"
    DENY_ALL = "deny_all", "No apps allowed"


class ClientPolicy(models.TextChoices):
    REQUIRE_CLIENT_GRANT = "require_client_grant", "Per-app authorization"
    DENY_ALL = "deny_all", "No apps allowed"


class DefaultFor(models.TextChoices):
    THIRD_PARTY_CLIENTS = "third_party_clients", "All third-party applications"


class OrganizationUsage(models.TextChoices):
    DENY = "deny", "Deny"
    ALLOW = "allow", "Allow"
    REQUIRE = "require", "Require"


class ThirdPartyClientAccess(models.TextChoices):
    """Whether an organization may be used in user flows of third-party apps (Auth0's values)."""

    BLOCK = "block", "Blocked"
    ALLOW = "allow", "Allowed"


class OrganizationRequireBehavior(models.TextChoices):
    """What /authorize does for an app whose organization_usage is require, when no organization is sent."""

    NO_PROMPT = "no_prompt", "No prompt: the request must name the organization"
    PRE_LOGIN_PROMPT = "pre_login_prompt", "Ask for the organization before login"
    POST_LOGIN_PROMPT = "post_login_prompt", "Let the user pick one of theirs after login"


class ConnectionStrategy(models.TextChoices):
    DATABASE = "auth0", "Database (Django users)"
    OIDC = "oidc", "OpenID Connect (a customer's identity provider)"
    SAML = "samlp", "SAML 2.0 (a customer's identity provider)"


# Strategies whose users sign in at a customer's own identity provider and arrive just in time.
ENTERPRISE_STRATEGIES = frozenset({ConnectionStrategy.OIDC, ConnectionStrategy.SAML})


DATABASE_CONNECTION_NAME = "Username-Password-Authentication"
THIRD_PARTY_CLIENT_ID_PREFIX = "tpc_"
THIRD_PARTY_CLIENT_ID_RANDOM_LENGTH = 22
CLIENT_ID_LENGTH = 32
MAX_TOKEN_LIFETIME = 2_592_000
DEFAULT_TOKEN_LIFETIME = 86_400

MANAGEMENT_API_NAME = "Portcullis Management API"
# The Management API's scopes: one per action a resource supports.
MANAGEMENT_API_SCOPES = {
    "clients": ("read", "create", "update", "delete"),
    "client_grants": ("read", "create", "update", "delete"),
    "resource_servers": ("read", "create", "update", "delete"),
    "connections": ("read", "create", "update", "delete"),
    "grants": ("read", "delete"),
    "users": ("read", "create", "update", "delete"),
    "user_tickets": ("create",),
    "tenant_settings": ("read", "update"),
    "organizations": ("read", "create", "update", "delete"),
    "organization_members": ("read", "create", "delete"),
    "organization_connections": ("read", "create", "update", "delete"),
    "organization_client_grants": ("read", "create", "delete"),
}


def management_api_scopes() -> list[tuple[str, str]]:
    """``(value, description)`` for every Management API scope, e.g. ``read:clients``."""
    return [
        (f"{action}:{resource}", f"{action.capitalize()} {resource.replace('_', ' ')}")
        for resource, actions in MANAGEMENT_API_SCOPES.items()
        for action in actions
    ]


MY_ORGANIZATION_API_NAME = "Portcullis My Organization API"
MY_ORGANIZATION_API_PATH = "/my-org/"
# The My Organization API's scopes, with Auth0's names (``{action}:my_org:{resource}``): only those of
# the endpoints this server serves, so that a consent screen never lists a permission that does nothing.
MY_ORGANIZATION_API_SCOPES = (
    ("read:my_org:details", "Read your organization's details"),
    ("update:my_org:details", "Update your organization's details"),
    ("read:my_org:members", "Read your organization's members"),
    ("delete:my_org:members", "Remove members from your organization"),
    ("read:my_org:identity_providers", "Read your organization's identity providers"),
)


def my_organization_api_scopes() -> list[tuple[str, str]]:
    """``(value, description)`` for every My Organization API scope, e.g. ``read:my_org:details``."""
    return list(MY_ORGANIZATION_API_SCOPES)


MY_ACCOUNT_API_NAME = "Portcullis My Account API"
MY_ACCOUNT_API_PATH = "/me/"
# The My Account API's scopes, with Auth0's names (``{action}:me:{resource}``): a signed-in user's own
# profile, the apps they authorized and their authentication methods (an authenticator app enrolled and a
# second factor removed through the MFA services; a passkey is enrolled on the account's security page).
MY_ACCOUNT_API_SCOPES = (
    ("read:me:profile", "Read your profile"),
    ("update:me:profile", "Update your name"),
    ("read:me:grants", "See the apps you authorized"),
    ("delete:me:grants", "Revoke apps you authorized"),
    ("read:me:authentication_methods", "See your authentication methods"),
    ("create:me:authentication_methods", "Add authentication methods"),
    ("delete:me:authentication_methods", "Remove authentication methods"),
)


def my_account_api_scopes() -> list[tuple[str, str]]:
    """``(value, description)`` for every My Account API scope, e.g. ``read:me:profile``."""
    return list(MY_ACCOUNT_API_SCOPES)


MFA_API_NAME = "Portcullis MFA API"
MFA_API_PATH = "/mfa/"
# The MFA API's scopes, with Auth0's names: enrolling an authenticator, listing and removing them.
MFA_API_SCOPES = (
    ("enroll", "Enroll a new authenticator"),
    ("read:authenticators", "See your authenticators"),
    ("remove:authenticators", "Remove your authenticators"),
)


def mfa_api_scopes() -> list[tuple[str, str]]:
    """``(value, description)`` for every MFA API scope, e.g. ``enroll``."""
    return list(MFA_API_SCOPES)


class MfaPolicy(models.TextChoices):
    """The tenant's multi-factor policy: when the login page asks for a second factor."""

    NEVER = "never", "Never (a password is enough; acr_values can still ask for a second factor)"
    OPTIONAL = "optional", "Optional (asked of the users who enrolled a factor)"
    ALWAYS = "always", "Always (everyone enrolls a factor at their next login)"


# The acr value a client sends at /authorize to ask for a second factor, and the ID token's acr
# once one was used (the PAPE multi-factor policy URI, as Auth0 uses it).
MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
