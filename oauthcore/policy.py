"""The access decision: one pure function over plain data, no ORM.

The OAuth validator, the admin access simulator, the management API and the audit log all call
``decide``; they differ only in how they gather its inputs (``oauthcore.selectors.policy_inputs``).
The rules are the members of ``Rule``, applied in their order; each leaves a line in the decision's
trace that starts with its number. docs/architecture.md says where each rule lives.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from enum import StrEnum

from oauthcore.constants import (
    ClientPolicy,
    GrantType,
    OrganizationRequireBehavior,
    OrganizationUsage,
    SecurityMode,
    UserPolicy,
)
from oauthcore.loopback import is_loopback_uri

# Scopes that are not API permissions. OIDC identity scopes are only for first-party and
# permissive apps (Rule.OIDC); offline_access asks for a refresh token.
OIDC_SCOPES = frozenset({"openid", "profile", "email", "address", "phone"})
OFFLINE_ACCESS = "offline_access"
# The /authorize parameters a strict third-party app may send (Auth0's allow-list); ext-* too.
STRICT_AUTHORIZE_PARAMETERS = frozenset(
    {
        "acr_values",
        "audience",
        "authorization_details",
        "client_id",
        "code_challenge",
        "code_challenge_method",
        "connection",
        "correlation_id",
        "display",
        "dpop_jkt",
        "login_hint",
        "max_age",
        "nonce",
        "organization",
        "prompt",
        "redirect_uri",
        "resource",
        "response_type",
        "scope",
        "state",
        "ui_locales",
    }
)


class Rule(enum.IntEnum):
    """The rules of the access decision, in the order ``decide`` applies them.

    A denial stops at the first rule that refuses; every rule passed leaves a trace line
    ``"<number>. <what it found>"``. ``title`` names the rule in a few words (the access simulator
    shows it), ``statement`` says the rule in full.
    """

    title: str
    statement: str

    def __new__(cls, number: int, title: str, statement: str):
        rule = int.__new__(cls, number)
        rule._value_ = number
        rule.title = title
        rule.statement = statement
        return rule

    GRANT_TYPE = (
        1,
        "Grant type allowed",
        "The grant type is authorization_code, refresh_token, client_credentials or the device code "
        "(RFC 8628), and the client lists it; there is no implicit and no password grant. Strict "
        "third-party apps get no device code, client_credentials only when confidential and not "
        "dynamically registered, and at /authorize only the allow-listed parameters (plus ext-*) and "
        "PKCE with S256. Otherwise unauthorized_client, \"Grant type 'X' not allowed for the client.\" "
        "(403), or invalid_request (400) for the parameters and PKCE. A suspended client (its owner was "
        'suspended) gets no grant type at all: unauthorized_client, "The client is suspended." (403).',
    )
    AUDIENCE = (
        2,
        "API found",
        "The API is the audience parameter, else RFC 8707 resource, else the tenant's default audience. "
        'An unknown one is access_denied (invalid_target when it came from resource), "Service not '
        'found: X". With none, user-delegated flows of first-party and permissive apps get a token for '
        "/userinfo only; client credentials and strict third-party apps are refused (access_denied).",
    )
    SYSTEM_API = (
        3,
        "System APIs stay first-party",
        "A third-party app (strict or permissive) never gets a system API (the Management API and the "
        'others created by migrations), in any flow: access_denied, \'Client "X" is not authorized to '
        'access resource server "Y".\' (403).',
    )
    POLICY = (
        4,
        "The API's access policy",
        "The subject type is user for user-delegated flows (authorization code, refresh, device) and "
        "client for client credentials; the API's policy for it decides. deny_all refuses everyone. "
        "allow_all lets first-party and permissive third-party apps in with every API scope as the "
        "ceiling; strict third-party apps still need a grant. require_client_grant needs a grant. The "
        "grant is the client's own for (API, subject type); only without one does a third-party app "
        "fall back to the default grant for third-party clients (never for a system API). Missing: "
        'access_denied, \'Client "X" is not authorized to access resource server "Y".\' (client '
        "credentials add that a client grant is needed), 403.",
    )
    SCOPES = (
        5,
        "Scopes within what the app may get",
        "The ceiling is the grant's scopes (every API scope with allow_all_scopes or allow_all). Client "
        "credentials: no scope asked means the whole ceiling; a scope outside it is access_denied, "
        '"Client has not been granted scopes: a b". User-delegated: requested ∩ ceiling, plus '
        "offline_access when the API and the client allow refresh tokens; nothing grantable is "
        "invalid_scope. Refresh: no scope asked means the original scopes, always narrowed to today's "
        "ceiling; asking beyond the original is invalid_scope; a grant removed since is access_denied.",
    )
    CONNECTION = (
        6,
        "Connections and organizations",
        "Once the user is known, a third-party app authenticates users only through domain-level "
        "connections (database or enterprise): a user of another connection is access_denied, shown on "
        "an error page and never redirected. A first-party app authenticates users of an enterprise "
        "connection only when the connection is enabled for it (the database connection serves every "
        "first-party app). Organizations, in user flows: the app's organization_usage decides whether "
        "one may (allow) or must (require) be named; permissive third-party apps get none; with require "
        "and none named, the app's organization_require_behavior may ask the user for it, otherwise "
        "invalid_request. The organization must exist; a third-party app also needs its "
        "third_party_client_access to be allow and, once the user is known, a domain-level connection "
        'enabled for it, else invalid_request, "parameter organization is invalid: {org_id}". The user '
        "signs in through a connection enabled for the organization and is a member, or becomes one "
        "when that connection assigns membership on login; else access_denied. Client credentials: the "
        "grant's organization_usage says whether an organization may or must be named, and the "
        "organization must have been associated with the grant (unless it allows any organization); "
        "third_party_client_access is not looked at.",
    )
    CONSENT = (
        7,
        "The user's consent",
        "At /authorize, third-party apps always need the user's consent. A first-party app skips it when "
        "the API allows skipping consent for verifiable first-party clients (or asks for no API) and the "
        "redirect URI is not on loopback. Consent is asked again only for scopes the stored consent does "
        "not cover, or for all of them on prompt=consent; prompt=none when consent is needed is "
        "consent_required. The screen lists only grantable scopes (rule 5). A refresh of an app that "
        "needs consent needs the stored consent still there (else invalid_grant, \"The user's consent "
        'for this application was revoked.") and keeps only the scopes it still covers.',
    )
    AUTHORIZE_ERRORS = (
        8,
        "Where errors are shown",
        "Errors at /authorize follow the app's redirection policy: with open_redirect_protection every "
        "error (a declined consent included) is a page on this server; with allow_always it is "
        "redirected to the validated callback with error, error_description, state and iss. An "
        "unregistered or mismatching redirect_uri is never redirected to. Applied by "
        "oauthcore.views.authorize, not by decide().",
    )
    OIDC = (
        9,
        "OpenID Connect scopes",
        "First-party and permissive apps asking for openid get an ID token, and their tokens open "
        "/userinfo. For strict third-party apps OIDC scopes are dropped (a trace line says so): no ID "
        "token, and /userinfo refuses their tokens, which never carry openid.",
    )
    MFA = (
        10,
        "Multi-factor authentication",
        "A refresh of a strict third-party app, when the tenant's MFA policy is always, needs the login "
        "its refresh token came from to have used a second factor (its amr has mfa); otherwise "
        'invalid_grant, "Multifactor authentication required" (400): never a token of a lesser login. '
        "At /authorize, the policy always and acr_values asking for the multi-factor policy send the "
        "user to the second step of the login first (oauthcore.views.mfa), not decided by decide().",
    )


@dataclass(frozen=True)
class Denial:
    """Why a decision refused, for a person: the rule that refused, a few words (the access matrix's
    cells) and a sentence that says why (the simulator)."""

    rule: Rule
    short: str
    sentence: str


# Every ``reason`` that ``decide`` can give, by the rule that gives it (a test keeps this complete).
DENIAL_REASONS = {
    "client_suspended": Denial(
        Rule.GRANT_TYPE,
        "App suspended",
        "The app is suspended (its owner was suspended), so it may use no grant type at all.",
    ),
    "grant_type_not_allowed": Denial(
        Rule.GRANT_TYPE,
        "Grant type not allowed for this app",
        "This grant type is not one of the app's grant types, or it is one that a strict third-party app may not use.",
    ),
    "unsupported_parameters": Denial(
        Rule.GRANT_TYPE,
        "Parameters a strict app may not send",
        "The request sent parameters that a strict third-party app may not send.",
    ),
    "pkce_required": Denial(
        Rule.GRANT_TYPE, "No PKCE", "A strict third-party app must use PKCE, and the request had none."
    ),
    "pkce_method_refused": Denial(
        Rule.GRANT_TYPE,
        "PKCE without S256",
        "A strict third-party app must use PKCE with S256, and the request used another method.",
    ),
    "audience_not_found": Denial(Rule.AUDIENCE, "No such API", "No API has the identifier the request asked for."),
    "no_audience": Denial(
        Rule.AUDIENCE,
        "No API named",
        "A machine-to-machine request must name an API, and the tenant has no default API.",
    ),
    "userinfo_audience_refused": Denial(
        Rule.AUDIENCE,
        "No API named",
        "A strict third-party app must name an API: a sign-in token for the user's profile only is not given to it.",
    ),
    "system_api_third_party": Denial(
        Rule.SYSTEM_API,
        "System API: not for third-party apps",
        "This is a system API of the tenant, and a third-party app never gets a system API.",
    ),
    "policy_deny_all": Denial(
        Rule.POLICY, "No apps allowed", "The API lets no app in for this kind of access (No apps allowed)."
    ),
    "client_grant_missing": Denial(
        Rule.POLICY,
        "No client grant",
        "The API needs a client grant for this app and this kind of access, and the app has none "
        "(nor does a default grant for third-party apps cover it).",
    ),
    "client_grant_removed": Denial(
        Rule.POLICY, "Client grant removed", "The client grant this refresh token was issued under has been removed."
    ),
    "scopes_not_granted": Denial(
        Rule.SCOPES,
        "Scopes outside the client grant",
        "The request asked for scopes that the app's client grant does not give.",
    ),
    "nothing_grantable": Denial(
        Rule.SCOPES,
        "No requested scope can be granted",
        "None of the requested scopes is one the app may get from this API.",
    ),
    "scope_exceeds_original": Denial(
        Rule.SCOPES,
        "More scopes than first granted",
        "The refresh asked for more scopes than the user originally granted.",
    ),
    "connection_not_domain_level": Denial(
        Rule.CONNECTION,
        "Connection not domain level",
        "The user signs in through a connection that is not open to third-party apps (it is not domain level).",
    ),
    "connection_not_enabled": Denial(
        Rule.CONNECTION,
        "Connection not enabled for the app",
        "The user signs in through an enterprise connection that is not enabled for this first-party app.",
    ),
    "organization_not_allowed": Denial(
        Rule.CONNECTION,
        "Organizations off for this app",
        "The request named an organization, and the app does not use organizations (its organization usage is deny).",
    ),
    "organization_permissive_client": Denial(
        Rule.CONNECTION,
        "No organizations for permissive apps",
        "The request named an organization, and permissive third-party apps get no organization flows.",
    ),
    "organization_required": Denial(
        Rule.CONNECTION,
        "Organization required",
        "The app requires an organization, and none was named or chosen.",
    ),
    "organization_not_found": Denial(
        Rule.CONNECTION, "No such organization", "No organization has the id or name the request sent."
    ),
    "organization_blocks_third_party": Denial(
        Rule.CONNECTION,
        "Organization blocks third-party apps",
        "The organization does not allow third-party apps (its third-party access is blocked).",
    ),
    "organization_connection_not_enabled": Denial(
        Rule.CONNECTION,
        "Connection not enabled for the organization",
        "The user signs in through a connection that is not enabled for the organization.",
    ),
    "organization_connection_not_domain_level": Denial(
        Rule.CONNECTION,
        "Organization login needs a domain-level connection",
        "A third-party app logs users in to an organization only through a domain-level connection, and "
        "the user's connection is not one.",
    ),
    "organization_membership_missing": Denial(
        Rule.CONNECTION,
        "Not a member of the organization",
        "The user is not a member of the organization, and their connection does not make them one.",
    ),
    "grant_organization_denied": Denial(
        Rule.CONNECTION,
        "Client grant allows no organization",
        "The request named an organization, and the client grant allows none (its organization usage is deny).",
    ),
    "grant_organization_required": Denial(
        Rule.CONNECTION,
        "Client grant requires an organization",
        "The client grant requires an organization, and the request named none.",
    ),
    "grant_organization_not_associated": Denial(
        Rule.CONNECTION,
        "Organization has not authorized the grant",
        "The organization has not authorized this client grant, and the grant does not allow any organization.",
    ),
    "consent_required": Denial(
        Rule.CONSENT,
        "Consent needed (prompt=none)",
        "The user has to consent first, and the request asked for no screen at all (prompt=none).",
    ),
    "consent_revoked": Denial(Rule.CONSENT, "Consent revoked", "The user has revoked their consent for this app."),
    "mfa_required": Denial(
        Rule.MFA,
        "Second factor required",
        "The tenant requires multi-factor authentication, and the login this refresh token came from "
        "used no second factor.",
    ),
}


@dataclass(frozen=True)
class Step:
    """One line of a decision's trace, for a person: the rule, whether it passed, and what it found."""

    rule: Rule
    passed: bool
    text: str


class Flow(StrEnum):
    """What is being decided: the /authorize request or a token request of one grant type."""

    AUTHORIZE = "authorize"
    AUTHORIZATION_CODE = GrantType.AUTHORIZATION_CODE.value
    REFRESH_TOKEN = GrantType.REFRESH_TOKEN.value
    CLIENT_CREDENTIALS = GrantType.CLIENT_CREDENTIALS.value
    DEVICE_CODE = GrantType.DEVICE_CODE.value

    @property
    def grant_type(self) -> str:
        return GrantType.AUTHORIZATION_CODE.value if self is Flow.AUTHORIZE else self.value

    @property
    def subject_type(self) -> str:
        return "client" if self is Flow.CLIENT_CREDENTIALS else "user"


class AudienceSource(StrEnum):
    AUDIENCE = "audience"
    RESOURCE = "resource"
    DEFAULT = "default"


# The seeds' (and the admin's) words for an API's access policies.
POLICY_LABELS = {**dict(ClientPolicy.choices), **dict(UserPolicy.choices)}

AUDIENCE_SOURCES = {
    AudienceSource.AUDIENCE: "asked for as the audience",
    AudienceSource.RESOURCE: "asked for as the resource (RFC 8707)",
    AudienceSource.DEFAULT: "the tenant's default API",
    None: "asked for",
}


# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientFacts:
    client_id: str
    is_first_party: bool
    security_mode: str  # "" for first-party apps
    app_type: str
    grant_types: frozenset[str]
    is_confidential: bool
    dynamically_registered: bool = False
    suspended: bool = False
    organization_usage: str = OrganizationUsage.DENY
    organization_require_behavior: str = OrganizationRequireBehavior.NO_PROMPT

    @property
    def is_third_party(self) -> bool:
        return not self.is_first_party

    @property
    def is_strict(self) -> bool:
        return self.is_third_party and self.security_mode == SecurityMode.STRICT


@dataclass(frozen=True)
class ApiFacts:
    identifier: str
    is_system: bool
    user_policy: str
    client_policy: str
    scopes: frozenset[str]
    allow_offline_access: bool = False
    skip_consent_for_verifiable_first_party_clients: bool = False


@dataclass(frozen=True)
class GrantFacts:
    """A client grant for (client or default, audience, subject type)."""

    id: str
    scope: frozenset[str]
    allow_all_scopes: bool = False
    is_default: bool = False
    organization_usage: str | None = None  # client access only; None is deny
    allow_any_organization: bool = False


@dataclass(frozen=True)
class OrganizationFacts:
    """The organization a request names, and what is known of its user there so far."""

    id: str
    name: str
    allows_third_party: bool
    # once the user is known (user_is_member None: not yet)
    user_is_member: bool | None = None
    user_connection_enabled: bool = False  # the user's connection is enabled for the organization
    user_connection_assigns_membership: bool = False  # ... with assign_membership_on_login
    # client credentials: the organization has authorized the request's client grant
    grant_associated: bool = False


@dataclass(frozen=True)
class RequestFacts:
    """What the request asked for, and what is known about its user so far."""

    requested_scopes: frozenset[str] = frozenset()
    scope_given: bool = False  # a `scope` parameter was sent (refresh and client credentials differ)
    audience: str | None = None  # the identifier asked for, after resolve_audience
    audience_source: AudienceSource | None = None
    own_grant: GrantFacts | None = None
    default_grant: GrantFacts | None = None
    # authorize only
    parameters: frozenset[str] = frozenset()  # the names of the query parameters sent
    code_challenge_method: str | None = None
    redirect_uri: str | None = None
    prompt: frozenset[str] = frozenset()
    user_connection_is_domain: bool | None = None  # None: no user authenticated yet
    user_connection_enabled: bool | None = None  # the user's connection is enabled for the client
    consented_scopes: frozenset[str] | None = None  # the stored UserGrant's scopes, None if none
    # the organization parameter as sent (or the organization a code or refresh token was issued
    # for), and the organization it names (None when none does)
    organization_asked: str | None = None
    organization: OrganizationFacts | None = None
    # refresh only
    original_scopes: frozenset[str] | None = None
    consent_read: bool = False  # consented_scopes holds the user's stored consent (None: there is none)
    mfa_required: bool = False  # the tenant's MFA policy is always
    authenticated_with_mfa: bool = False  # the login the refresh token came from used a second factor


# -- outcome --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    allowed: bool
    trace: tuple[str, ...]
    scopes: frozenset[str] = frozenset()  # effective scopes (API scopes plus allowed special scopes)
    audience: str | None = None  # the API identifier, or None for a /userinfo-only token
    error: str = ""
    description: str = ""
    reason: str = ""
    status: int = 200
    # user-delegated flows
    consent_required: bool = False
    scopes_to_consent: frozenset[str] = frozenset()
    issue_id_token: bool = False
    issue_refresh_token: bool = False
    grant_id: str | None = None
    organization: OrganizationFacts | None = None  # the organization the token is for
    join_organization: bool = False  # the user becomes a member (assign_membership_on_login)

    @property
    def denied(self) -> bool:
        return not self.allowed

    @property
    def denial(self) -> Denial | None:
        return DENIAL_REASONS.get(self.reason) if self.denied else None

    @property
    def steps(self) -> tuple[Step, ...]:
        """The trace in rule order (a rule may note twice: its lines keep their order), the refusal last."""
        passed = []
        for line in self.trace:
            number, dot, text = line.partition(". ")
            if dot and number.isdigit():
                passed.append(Step(Rule(int(number)), True, text))
        steps = sorted(passed, key=lambda step: step.rule)
        if self.denial is not None:
            steps.append(Step(self.denial.rule, False, self.denial.sentence))
        return tuple(steps)

    def as_oauth_error(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class _Denied(Exception):
    def __init__(self, error: str, description: str, reason: str, status: int):
        self.error, self.description, self.reason, self.status = error, description, reason, status


@dataclass
class _Trace:
    lines: list[str] = field(default_factory=list)

    def note(self, rule: Rule, text: str) -> None:
        self.lines.append(f"{rule.value}. {text}")


def not_authorized(client_id: str, audience: str) -> str:
    return f'Client "{client_id}" is not authorized to access resource server "{audience}".'


def resolve_audience(
    *, audience: str | None, resource: str | None, default_audience: str | None
) -> tuple[str | None, AudienceSource | None]:
    """``Rule.AUDIENCE``'s order: ``audience`` wins over RFC 8707 ``resource``; then the tenant default."""
    if audience:
        return audience, AudienceSource.AUDIENCE
    if resource:
        return resource, AudienceSource.RESOURCE
    if default_audience:
        return default_audience, AudienceSource.DEFAULT
    return None, None


def is_localhost_redirect(uri: str | None) -> bool:
    return is_loopback_uri(uri)


# -- the decision ---------------------------------------------------------------------------------


def decide(client: ClientFacts, api: ApiFacts | None, request: RequestFacts, flow: Flow) -> Decision:
    trace = _Trace()
    try:
        return _decide(client, api, request, flow, trace)
    except _Denied as denial:
        return _denied(denial, trace, api.identifier if api else request.audience)


def decide_grant_type(client: ClientFacts, flow: Flow) -> Decision | None:
    """``Rule.GRANT_TYPE`` alone, for the token endpoint's first check: a denial, or None."""
    trace = _Trace()
    try:
        _check_grant_type(client, RequestFacts(code_challenge_method="S256"), flow, trace)
    except _Denied as denial:
        return _denied(denial, trace, None)
    return None


def _denied(denial: _Denied, trace: _Trace, audience: str | None) -> Decision:
    trace.lines.append(f"denied: {denial.reason}")
    return Decision(
        allowed=False,
        trace=tuple(trace.lines),
        error=denial.error,
        description=denial.description,
        reason=denial.reason,
        status=denial.status,
        audience=audience,
    )


def _decide(client: ClientFacts, api: ApiFacts | None, request: RequestFacts, flow: Flow, trace: _Trace):
    _check_grant_type(client, request, flow, trace)
    if api is None:
        return _userinfo_only(client, request, flow, trace)
    trace.note(Rule.AUDIENCE, f"the API {api.identifier}, {AUDIENCE_SOURCES[request.audience_source]}")
    _check_system_api(client, api, flow, trace)
    grant = _check_policy(client, api, request, flow, trace)
    ceiling = api.scopes if grant is None or grant.allow_all_scopes else grant.scope & api.scopes
    special = _special_scopes(client, api, request, flow, trace)
    if flow is Flow.CLIENT_CREDENTIALS:
        organization = _check_client_organization(client, request, grant, trace)
        return replace(
            _client_credentials_scopes(client, api, request, ceiling, grant, trace), organization=organization
        )
    if flow is Flow.REFRESH_TOKEN:
        _check_mfa(client, request, trace)
        organization, _join = _check_organization(client, request, flow, trace)
        return replace(_refresh_scopes(client, api, request, ceiling, special, grant, trace), organization=organization)
    effective = (request.requested_scopes & ceiling) | special
    trace.note(
        Rule.SCOPES, f"granted: {_fmt(effective)} (the scopes asked for among those it may get: {_fmt(ceiling)})"
    )
    if not effective:
        raise _Denied(
            "invalid_scope",
            "None of the requested scopes can be granted to this client.",
            "nothing_grantable",
            400,
        )
    organization, join = _check_organization(client, request, flow, trace)
    _check_connection(client, request, trace)
    consent_required, to_consent = _consent(client, api, request, effective, flow, trace)
    return Decision(
        allowed=True,
        trace=tuple(trace.lines),
        scopes=effective,
        audience=api.identifier,
        consent_required=consent_required,
        scopes_to_consent=to_consent,
        issue_id_token="openid" in effective,
        issue_refresh_token=OFFLINE_ACCESS in effective,
        grant_id=grant.id if grant else None,
        organization=organization,
        join_organization=join,
    )


def _check_grant_type(client: ClientFacts, request: RequestFacts, flow: Flow, trace: _Trace) -> None:
    """``Rule.GRANT_TYPE``, with the /authorize parameters and PKCE of strict third-party apps."""
    grant_type = flow.grant_type
    refused = _Denied(
        "unauthorized_client",
        f"Grant type '{grant_type}' not allowed for the client.",
        "grant_type_not_allowed",
        403,
    )
    if client.suspended:
        raise _Denied("unauthorized_client", "The client is suspended.", "client_suspended", 403)
    if grant_type not in client.grant_types:
        raise refused
    if client.is_strict:
        if grant_type == GrantType.DEVICE_CODE:
            raise refused
        if grant_type == GrantType.CLIENT_CREDENTIALS and (not client.is_confidential or client.dynamically_registered):
            raise refused
        if flow is Flow.AUTHORIZE:
            unsupported = sorted(
                name
                for name in request.parameters
                if name not in STRICT_AUTHORIZE_PARAMETERS and not name.startswith("ext-")
            )
            if unsupported:
                raise _Denied(
                    "invalid_request",
                    f"Parameters not supported for third-party applications: {', '.join(unsupported)}",
                    "unsupported_parameters",
                    400,
                )
            if not request.code_challenge_method:
                raise _Denied(
                    "invalid_request",
                    "PKCE is required: send code_challenge with code_challenge_method=S256.",
                    "pkce_required",
                    400,
                )
            if request.code_challenge_method != "S256":
                raise _Denied(
                    "invalid_request",
                    "code_challenge_method must be S256.",
                    "pkce_method_refused",
                    400,
                )
    trace.note(Rule.GRANT_TYPE, f"{GrantType(grant_type).label} is one of the app's grant types")


def _userinfo_only(client: ClientFacts, request: RequestFacts, flow: Flow, trace: _Trace) -> Decision:
    """``Rule.AUDIENCE`` when no API was found: refused, or a token for /userinfo only."""
    if request.audience:
        error = "invalid_target" if request.audience_source == AudienceSource.RESOURCE else "access_denied"
        status = 400 if error == "invalid_target" else 403
        raise _Denied(error, f"Service not found: {request.audience}", "audience_not_found", status)
    if flow is Flow.CLIENT_CREDENTIALS:
        raise _Denied(
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
            "no_audience",
            403,
        )
    if client.is_strict:
        raise _Denied(
            "access_denied",
            "The userinfo audience is not allowed for third party clients. Please specify a valid API audience.",
            "userinfo_audience_refused",
            403,
        )
    trace.note(Rule.AUDIENCE, "no API asked for: a token for the user's profile (/userinfo) only")
    scopes = request.requested_scopes & OIDC_SCOPES
    if flow is Flow.REFRESH_TOKEN and request.original_scopes is not None:
        scopes = _narrow_refresh(request, request.original_scopes & OIDC_SCOPES, trace)
        scopes = _refresh_consent(client, None, request, scopes, trace)
    organization, join = _check_organization(client, request, flow, trace)
    _check_connection(client, request, trace)
    consent_required, to_consent = False, frozenset()
    if flow is Flow.AUTHORIZE:
        consent_required, to_consent = _consent(client, None, request, scopes, flow, trace)
    return Decision(
        allowed=True,
        trace=tuple(trace.lines),
        scopes=scopes,
        audience=None,
        consent_required=consent_required,
        scopes_to_consent=to_consent,
        issue_id_token="openid" in scopes,
        organization=organization,
        join_organization=join,
    )


def _check_system_api(client: ClientFacts, api: ApiFacts, flow: Flow, trace: _Trace) -> None:
    """``Rule.SYSTEM_API``."""
    # Rule.SYSTEM_API in every flow: Auth0 never grants a third-party app a system API, so client
    # credentials are refused like the user-delegated flows.
    if api.is_system and client.is_third_party:
        raise _Denied("access_denied", not_authorized(client.client_id, api.identifier), "system_api_third_party", 403)
    trace.note(Rule.SYSTEM_API, "a system API, asked for by a first-party app" if api.is_system else "not a system API")


def _check_policy(
    client: ClientFacts, api: ApiFacts, request: RequestFacts, flow: Flow, trace: _Trace
) -> GrantFacts | None:
    """``Rule.POLICY``: the grant that sets the ceiling, or None when ``allow_all`` lets the client in."""
    subject_type = flow.subject_type
    policy = api.user_policy if subject_type == "user" else api.client_policy
    description = not_authorized(client.client_id, api.identifier)
    if subject_type == "client":
        description += ' You need to create a "client-grant" associated to this API.'
    if policy == "deny_all":
        raise _Denied("access_denied", description, "policy_deny_all", 403)
    grant = request.own_grant
    if grant is None and client.is_third_party and not api.is_system:  # system APIs take no default grant
        grant = request.default_grant
    if policy == "allow_all" and not client.is_strict:
        trace.note(Rule.POLICY, f"{_policy_words(subject_type, policy)}: the app may get every scope of the API")
        return None
    if grant is None:
        removed = flow is Flow.REFRESH_TOKEN
        raise _Denied("access_denied", description, "client_grant_removed" if removed else "client_grant_missing", 403)
    source = "default grant for third-party clients" if grant.is_default else "the client's own grant"
    trace.note(Rule.POLICY, f"{_policy_words(subject_type, policy)}: {source} ({grant.id}) applies")
    return grant


def _special_scopes(client: ClientFacts, api: ApiFacts, request: RequestFacts, flow: Flow, trace: _Trace):
    """OIDC scopes (``Rule.OIDC``) and offline_access (``Rule.SCOPES``), kept only where they apply."""
    if flow is Flow.CLIENT_CREDENTIALS:
        return frozenset()
    asked = request.requested_scopes if flow is not Flow.REFRESH_TOKEN else (request.original_scopes or frozenset())
    special = set()
    oidc = asked & OIDC_SCOPES
    if oidc and client.is_strict:
        trace.note(Rule.OIDC, f"OIDC scopes ignored for strict third-party apps: {_fmt(oidc)}")
    elif oidc:
        special |= oidc
    if OFFLINE_ACCESS in asked:
        if api.allow_offline_access and GrantType.REFRESH_TOKEN in client.grant_types:
            special.add(OFFLINE_ACCESS)
        else:
            trace.note(Rule.SCOPES, "offline_access ignored: the API or the client does not allow refresh tokens")
    return frozenset(special)


def _client_credentials_scopes(
    client: ClientFacts, api: ApiFacts, request: RequestFacts, ceiling, grant, trace: _Trace
) -> Decision:
    """``Rule.SCOPES`` for client credentials."""
    requested = request.requested_scopes
    if not request.scope_given or not requested:
        effective = ceiling
    else:
        outside = requested - ceiling
        if outside:
            raise _Denied(
                "access_denied",
                f"Client has not been granted scopes: {' '.join(sorted(outside))}",
                "scopes_not_granted",
                403,
            )
        effective = requested
    trace.note(Rule.SCOPES, f"scopes given: {_fmt(effective)}")
    return Decision(
        allowed=True,
        trace=tuple(trace.lines),
        scopes=frozenset(effective),
        audience=api.identifier,
        grant_id=grant.id if grant else None,
    )


def _refresh_scopes(client, api, request: RequestFacts, ceiling, special, grant, trace: _Trace) -> Decision:
    """``Rule.SCOPES`` for a refresh: the original scopes (or fewer), within today's ceiling."""
    original = request.original_scopes or frozenset()
    effective = _narrow_refresh(request, original, trace) & (ceiling | special)
    trace.note(Rule.SCOPES, f"refresh scopes narrowed to the current ceiling: {_fmt(effective)}")
    effective = _refresh_consent(client, api, request, effective, trace)
    return Decision(
        allowed=True,
        trace=tuple(trace.lines),
        scopes=effective,
        audience=api.identifier,
        issue_id_token="openid" in effective,
        issue_refresh_token=OFFLINE_ACCESS in effective,
        grant_id=grant.id if grant else None,
    )


def _narrow_refresh(request: RequestFacts, original: frozenset[str], trace: _Trace) -> frozenset[str]:
    if not request.scope_given:
        return original
    beyond = request.requested_scopes - original
    if beyond:
        raise _Denied(
            "invalid_scope",
            f"The requested scope exceeds the scope originally granted: {' '.join(sorted(beyond))}",
            "scope_exceeds_original",
            400,
        )
    return request.requested_scopes


def _check_mfa(client: ClientFacts, request: RequestFacts, trace: _Trace) -> None:
    """``Rule.MFA`` for a refresh: a strict third-party app gets nothing of a login that lacked the
    second factor the tenant requires."""
    if not (client.is_strict and request.mfa_required):
        trace.note(Rule.MFA, "no second factor required of this refresh")
    elif request.authenticated_with_mfa:
        trace.note(Rule.MFA, "the login used a second factor, as the tenant requires")
    else:
        raise _Denied("invalid_grant", "Multifactor authentication required", "mfa_required", 400)


def connection_refusal(client: ClientFacts, *, is_domain: bool, enabled: bool) -> str | None:
    """``Rule.CONNECTION`` alone: the denial reason for a user of a connection with these facts
    (``decision_inputs.connection_facts``), or None when the client may sign them in. The login
    page asks it too, before the user is known, of the connections it offers."""
    if client.is_third_party and not is_domain:
        return "connection_not_domain_level"
    if client.is_first_party and not enabled:
        return "connection_not_enabled"
    return None


def _check_connection(client: ClientFacts, request: RequestFacts, trace: _Trace) -> None:
    """``Rule.CONNECTION``, once the user is known."""
    if request.user_connection_is_domain is None:
        return
    enabled = request.user_connection_enabled is not False
    reason = connection_refusal(client, is_domain=request.user_connection_is_domain, enabled=enabled)
    if reason == "connection_not_domain_level":
        raise _Denied(
            "access_denied",
            "Third-party applications can only authenticate users through domain-level connections.",
            "connection_not_domain_level",
            403,
        )
    if reason == "connection_not_enabled":
        raise _Denied(
            "access_denied", "The user's connection is not enabled for this client.", "connection_not_enabled", 403
        )
    trace.note(Rule.CONNECTION, "the user's connection is open to this client")


def organization_invalid(organization: str) -> str:
    return f"parameter organization is invalid: {organization}"


def _check_organization(
    client: ClientFacts, request: RequestFacts, flow: Flow, trace: _Trace
) -> tuple[OrganizationFacts | None, bool]:
    """``Rule.CONNECTION`` for organizations in user flows: the organization the token is for (None:
    none), and whether the user joins it now. What needs the user waits until the user is known."""
    asked, organization = request.organization_asked, request.organization
    user_known = request.user_connection_is_domain is not None
    if not asked:
        if client.organization_usage != OrganizationUsage.REQUIRE:
            return None, False
        prompting = client.organization_require_behavior != OrganizationRequireBehavior.NO_PROMPT
        if flow is Flow.AUTHORIZE and prompting and not user_known:
            trace.note(Rule.CONNECTION, "the app requires an organization: the user is asked for it")
            return None, False
        raise _Denied(
            "invalid_request", "parameter organization is required for this client", "organization_required", 400
        )
    if client.is_third_party and not client.is_strict:
        raise _Denied("invalid_request", organization_invalid(asked), "organization_permissive_client", 400)
    if client.organization_usage == OrganizationUsage.DENY:
        raise _Denied(
            "invalid_request",
            "parameter organization is not allowed for this client",
            "organization_not_allowed",
            400,
        )
    if organization is None:
        raise _Denied("invalid_request", organization_invalid(asked), "organization_not_found", 400)
    if client.is_third_party and not organization.allows_third_party:
        raise _Denied("invalid_request", organization_invalid(organization.id), "organization_blocks_third_party", 400)
    named = f"the organization {organization.name} ({organization.id})"
    if not user_known or organization.user_is_member is None:
        allowed = ", which allows third-party apps" if client.is_third_party else ""
        trace.note(Rule.CONNECTION, f"{named}{allowed}")
        return organization, False
    if not organization.user_connection_enabled:
        if client.is_third_party:
            raise _Denied(
                "invalid_request", organization_invalid(organization.id), "organization_connection_not_enabled", 400
            )
        raise _Denied(
            "access_denied",
            f"The user's connection is not enabled for the organization {organization.id}.",
            "organization_connection_not_enabled",
            403,
        )
    if client.is_third_party and not request.user_connection_is_domain:
        raise _Denied(
            "invalid_request", organization_invalid(organization.id), "organization_connection_not_domain_level", 400
        )
    if organization.user_is_member:
        trace.note(Rule.CONNECTION, f"{named}: the user is a member and signs in through a connection enabled for it")
        return organization, False
    if organization.user_connection_assigns_membership and flow is Flow.AUTHORIZE:
        trace.note(Rule.CONNECTION, f"{named}: the user becomes a member (their connection assigns membership)")
        return organization, True
    raise _Denied(
        "access_denied",
        f"The user is not a member of the organization {organization.id}.",
        "organization_membership_missing",
        403,
    )


def _check_client_organization(
    client: ClientFacts, request: RequestFacts, grant: GrantFacts | None, trace: _Trace
) -> OrganizationFacts | None:
    """``Rule.CONNECTION`` for client credentials: the grant's organization_usage and the
    organization's association with the grant (its third_party_client_access is not looked at)."""
    asked, organization = request.organization_asked, request.organization
    usage = (grant.organization_usage if grant is not None else None) or OrganizationUsage.DENY
    if not asked:
        if usage == OrganizationUsage.REQUIRE:
            raise _Denied(
                "invalid_request",
                "parameter organization is required for this client grant",
                "grant_organization_required",
                400,
            )
        return None
    if usage == OrganizationUsage.DENY:
        raise _Denied(
            "invalid_request",
            "parameter organization is not allowed for this client grant",
            "grant_organization_denied",
            400,
        )
    if organization is None:
        raise _Denied("invalid_request", organization_invalid(asked), "organization_not_found", 400)
    if not (grant.allow_any_organization or organization.grant_associated):
        raise _Denied(
            "access_denied",
            f'Client "{client.client_id}" is not authorized to access organization "{organization.id}".',
            "grant_organization_not_associated",
            403,
        )
    how = "any organization" if grant.allow_any_organization else "this organization, which authorized it"
    trace.note(Rule.CONNECTION, f"the organization {organization.name} ({organization.id}): the grant allows {how}")
    return organization


def _consent(client: ClientFacts, api: ApiFacts | None, request: RequestFacts, effective, flow: Flow, trace: _Trace):
    """``Rule.CONSENT``: returns (consent screen needed, scopes to show)."""
    if flow is not Flow.AUTHORIZE:
        return False, frozenset()
    forced = "consent" in request.prompt
    can_skip = (
        client.is_first_party
        and api is not None
        and api.skip_consent_for_verifiable_first_party_clients
        and not is_localhost_redirect(request.redirect_uri)
    )
    if client.is_first_party and api is None and not is_localhost_redirect(request.redirect_uri):
        can_skip = True  # a first-party /userinfo login asks for nothing of an API
    if can_skip and not forced:
        trace.note(Rule.CONSENT, "consent skipped: first-party app with a verifiable redirect URI")
        return False, frozenset()
    stored = request.consented_scopes
    new = effective if stored is None or forced else effective - stored
    if not new:
        trace.note(Rule.CONSENT, "consent already given for every requested scope")
        return False, frozenset()
    if "none" in request.prompt:
        raise _Denied("consent_required", "Consent required", "consent_required", 400)
    trace.note(Rule.CONSENT, f"consent needed for {_fmt(new)}")
    return True, frozenset(new)


def _refresh_consent(client: ClientFacts, api: ApiFacts | None, request: RequestFacts, scopes, trace: _Trace):
    """``Rule.CONSENT`` for a refresh, once the stored consent was read: what consent allowed at
    /authorize must still be allowed. There is no redirect URI to look at: a first-party app is
    exempt where its API lets it skip consent (or it asks for no API)."""
    if not request.consent_read:
        return scopes
    if client.is_first_party and (api is None or api.skip_consent_for_verifiable_first_party_clients):
        trace.note(Rule.CONSENT, "consent not needed: first-party app")
        return scopes
    if request.consented_scopes is None:
        raise _Denied("invalid_grant", "The user's consent for this application was revoked.", "consent_revoked", 400)
    kept = scopes & request.consented_scopes
    trace.note(Rule.CONSENT, f"the stored consent covers {_fmt(kept)}")
    return kept


def _policy_words(subject_type: str, policy: str) -> str:
    """E.g. "user-delegated access is “Per-app authorization”": the policy's label, never its value."""
    label = POLICY_LABELS.get(policy, policy)
    return f"{'user-delegated' if subject_type == 'user' else 'client'} access is “{label}”"


def _fmt(scopes) -> str:
    return " ".join(sorted(scopes)) or "none"
