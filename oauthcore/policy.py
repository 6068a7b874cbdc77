"""The access decision (DESIGN.md §4): one pure function over plain data, no ORM.

The OAuth validator, the admin access simulator, the management API and the audit log all call
``decide``; they differ only in how they gather its inputs (``oauthcore.selectors.policy_inputs``).
Rules run in the order of DESIGN.md §4 and each leaves a line in the decision's trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from oauthcore.constants import GrantType, SecurityMode
from oauthcore.loopback import is_loopback_uri

# Scopes that are not API permissions. OIDC identity scopes are only for first-party and
# permissive apps (rule 9); offline_access asks for a refresh token.
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
    consented_scopes: frozenset[str] | None = None  # the stored UserGrant's scopes, None if none
    # refresh only
    original_scopes: frozenset[str] | None = None


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

    @property
    def denied(self) -> bool:
        return not self.allowed

    def as_oauth_error(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class _Denied(Exception):
    def __init__(self, error: str, description: str, reason: str, status: int):
        self.error, self.description, self.reason, self.status = error, description, reason, status


@dataclass
class _Trace:
    lines: list[str] = field(default_factory=list)

    def note(self, rule: int, text: str) -> None:
        self.lines.append(f"{rule}. {text}")


def not_authorized(client_id: str, audience: str) -> str:
    return f'Client "{client_id}" is not authorized to access resource server "{audience}".'


def resolve_audience(
    *, audience: str | None, resource: str | None, default_audience: str | None
) -> tuple[str | None, AudienceSource | None]:
    """Rule 2's order: ``audience`` wins over RFC 8707 ``resource``; then the tenant default."""
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
    """Rule 1 alone, for the token endpoint's first check: a denial, or None."""
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
    trace.note(2, f"audience {api.identifier} (from {request.audience_source or 'request'})")
    _check_system_api(client, api, flow, trace)
    grant = _check_policy(client, api, request, flow, trace)
    ceiling = api.scopes if grant is None or grant.allow_all_scopes else grant.scope & api.scopes
    special = _special_scopes(client, api, request, flow, trace)
    if flow is Flow.CLIENT_CREDENTIALS:
        return _client_credentials_scopes(client, api, request, ceiling, grant, trace)
    if flow is Flow.REFRESH_TOKEN:
        return _refresh_scopes(client, api, request, ceiling, special, grant, trace)
    effective = (request.requested_scopes & ceiling) | special
    trace.note(5, f"grantable: {_fmt(effective)} (requested ∩ ceiling {_fmt(ceiling)})")
    if not effective:
        raise _Denied(
            "invalid_scope",
            "None of the requested scopes can be granted to this client.",
            "nothing_grantable",
            400,
        )
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
    )


def _check_grant_type(client: ClientFacts, request: RequestFacts, flow: Flow, trace: _Trace) -> None:
    grant_type = flow.grant_type
    refused = _Denied(
        "unauthorized_client",
        f"Grant type '{grant_type}' not allowed for the client.",
        "grant_type_not_allowed",
        403,
    )
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
    trace.note(1, f"grant type {grant_type} allowed")


def _userinfo_only(client: ClientFacts, request: RequestFacts, flow: Flow, trace: _Trace) -> Decision:
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
    trace.note(2, "no audience: a token for /userinfo only")
    scopes = request.requested_scopes & OIDC_SCOPES
    if flow is Flow.REFRESH_TOKEN and request.original_scopes is not None:
        scopes = _narrow_refresh(request, request.original_scopes & OIDC_SCOPES, trace)
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
    )


def _check_system_api(client: ClientFacts, api: ApiFacts, flow: Flow, trace: _Trace) -> None:
    # DESIGN.md rule 3 names user-delegated flows; Auth0 also never grants a third-party app a
    # system API, so client credentials are refused the same way.
    if api.is_system and client.is_third_party:
        raise _Denied("access_denied", not_authorized(client.client_id, api.identifier), "system_api_third_party", 403)
    trace.note(3, "system API check passed" if api.is_system else "not a system API")


def _check_policy(
    client: ClientFacts, api: ApiFacts, request: RequestFacts, flow: Flow, trace: _Trace
) -> GrantFacts | None:
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
        trace.note(4, f"{subject_type} policy allow_all: every API scope is the ceiling")
        return None
    if grant is None:
        removed = flow is Flow.REFRESH_TOKEN
        raise _Denied("access_denied", description, "client_grant_removed" if removed else "client_grant_missing", 403)
    source = "default grant for third-party clients" if grant.is_default else "the client's own grant"
    trace.note(4, f"{subject_type} policy {policy}: {source} {grant.id}")
    return grant


def _special_scopes(client: ClientFacts, api: ApiFacts, request: RequestFacts, flow: Flow, trace: _Trace):
    """OIDC scopes (rule 9) and offline_access, kept only where they apply."""
    if flow is Flow.CLIENT_CREDENTIALS:
        return frozenset()
    asked = request.requested_scopes if flow is not Flow.REFRESH_TOKEN else (request.original_scopes or frozenset())
    special = set()
    oidc = asked & OIDC_SCOPES
    if oidc and client.is_strict:
        trace.note(9, f"OIDC scopes ignored for strict third-party apps: {_fmt(oidc)}")
    elif oidc:
        special |= oidc
    if OFFLINE_ACCESS in asked:
        if api.allow_offline_access and GrantType.REFRESH_TOKEN in client.grant_types:
            special.add(OFFLINE_ACCESS)
        else:
            trace.note(5, "offline_access ignored: the API or the client does not allow refresh tokens")
    return frozenset(special)


def _client_credentials_scopes(
    client: ClientFacts, api: ApiFacts, request: RequestFacts, ceiling, grant, trace: _Trace
) -> Decision:
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
    trace.note(5, f"client credentials scopes: {_fmt(effective)}")
    return Decision(
        allowed=True,
        trace=tuple(trace.lines),
        scopes=frozenset(effective),
        audience=api.identifier,
        grant_id=grant.id if grant else None,
    )


def _refresh_scopes(client, api, request: RequestFacts, ceiling, special, grant, trace: _Trace) -> Decision:
    original = request.original_scopes or frozenset()
    effective = _narrow_refresh(request, original, trace) & (ceiling | special)
    trace.note(5, f"refresh scopes narrowed to the current ceiling: {_fmt(effective)}")
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


def _check_connection(client: ClientFacts, request: RequestFacts, trace: _Trace) -> None:
    if request.user_connection_is_domain is None:
        return
    if client.is_third_party and not request.user_connection_is_domain:
        raise _Denied(
            "access_denied",
            "Third-party applications can only authenticate users through domain-level connections.",
            "connection_not_domain_level",
            403,
        )
    trace.note(6, "the user's connection is open to this client")


def _consent(client: ClientFacts, api: ApiFacts | None, request: RequestFacts, effective, flow: Flow, trace: _Trace):
    """Rule 7: returns (consent screen needed, scopes to show)."""
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
        trace.note(7, "consent skipped: first-party app with a verifiable redirect URI")
        return False, frozenset()
    stored = request.consented_scopes
    new = effective if stored is None or forced else effective - stored
    if not new:
        trace.note(7, "consent already given for every requested scope")
        return False, frozenset()
    if "none" in request.prompt:
        raise _Denied("consent_required", "Consent required", "consent_required", 400)
    trace.note(7, f"consent needed for {_fmt(new)}")
    return True, frozenset(new)


def _fmt(scopes) -> str:
    return " ".join(sorted(scopes)) or "(none)"
