"""django-oauth-toolkit's validator, with every access question answered by ``policy.decide``.

oauthlib calls these hooks in a fixed order per grant type (see the DOT notes in the project's
reference): ``validate_grant_type`` first, then ``validate_scopes`` (authorize, client
credentials), ``validate_code`` (code exchange) or ``validate_refresh_token`` (refresh). Each
decision is stored on the oauthlib request for the token generator (audience, lifetime) and
every denial is written to the audit log with its trace.
"""

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType
from oauthcore.models import Grant
from oauthcore.policy import (
    ApiFacts,
    AudienceSource,
    Decision,
    Flow,
    GrantFacts,
    RequestFacts,
    decide,
    decide_grant_type,
    resolve_audience,
)
from oauthcore.policy_cache import cached_default_audience, cached_target_facts, client_with_stamp
from oauthcore.selectors import client_facts

ROTATING_APP_TYPES = frozenset({AppType.SPA, AppType.NATIVE})
FLOWS_BY_GRANT_TYPE = {
    "authorization_code": Flow.AUTHORIZATION_CODE,
    "refresh_token": Flow.REFRESH_TOKEN,
    "client_credentials": Flow.CLIENT_CREDENTIALS,
    "urn:ietf:params:oauth:grant-type:device_code": Flow.DEVICE_CODE,
}


def request_param(request, name: str):
    """A request parameter oauthlib does not know by name (``audience``), or None."""
    try:
        value = getattr(request, name)
    except AttributeError:
        return None
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    return value or None


def audit_denial(decision: Decision, client, flow: Flow) -> None:
    """Every refusal, with its reason and the rules it went through, in the audit log."""
    record_event(
        actor=Actor.client(client) if client is not None else Actor.system("anonymous client"),
        action="access.denied",
        target=client,
        reason=decision.description,
        data={
            "flow": str(flow),
            "error": decision.error,
            "reason": decision.reason,
            "audience": decision.audience,
            "trace": list(decision.trace),
        },
    )


class PortcullisError(errors.CustomOAuth2Error):
    """An OAuth error with the status DESIGN.md §4 gives it (oauthlib defaults to 400)."""

    def __init__(self, decision: Decision, request):
        super().__init__(
            error=decision.error, description=decision.description, request=request, status_code=decision.status
        )


@dataclass(frozen=True)
class Target:
    """The API a request is for, and the grants that could let the client in."""

    identifier: str | None
    source: AudienceSource | None
    api: ApiFacts | None  # None: no audience, or no such API
    token_lifetime: int | None
    own_grant: GrantFacts | None
    default_grant: GrantFacts | None


class PolicyValidator(OAuth2Validator):
    # -- deciding ---------------------------------------------------------------------------

    def _deny(self, decision: Decision, request, flow: Flow):
        audit_denial(decision, request.client, flow)
        raise PortcullisError(decision, request)

    def _decide(self, request, flow: Flow, facts: RequestFacts, target: Target) -> Decision:
        api = target.api
        client = client_facts(request.client)
        decision = decide(client, api, facts, flow)
        if decision.denied:
            self._deny(decision, request, flow)
        request.portcullis_inputs = (client, api, facts)  # /authorize decides again once the user is known
        request.portcullis_decision = decision
        request.portcullis_audience = decision.audience
        request.resource = [decision.audience] if decision.audience else []
        if api is not None:
            request.portcullis_token_lifetime = target.token_lifetime
        return decision

    def _target(self, request, audience: str | None, subject_type: str) -> Target:
        """``audience`` None: read it from the request (then the tenant default); "" means none."""
        if audience is None:
            asked, resource = request_param(request, "audience"), request_param(request, "resource")
            # The tenant default is read only when the request names no API.
            default = None if asked or resource else cached_default_audience(request.client)
            identifier, source = resolve_audience(audience=asked, resource=resource, default_audience=default)
        else:
            identifier, source = resolve_audience(audience=audience, resource=None, default_audience=None)
        # Cached per process, and never stale: see oauthcore.policy_cache.
        found = (
            cached_target_facts(application=request.client, audience=identifier, subject_type=subject_type)
            if identifier
            else None
        )
        if found is None:
            return Target(identifier, source, None, None, None, None)
        return Target(identifier, source, found.api, found.token_lifetime, found.own_grant, found.default_grant)

    # -- oauthlib hooks ---------------------------------------------------------------------

    def _load_application(self, client_id, request):
        """DOT's, but the client comes with the policy stamp, in the same statement: the stamp keys
        the cached policy inputs (``oauthcore.policy_cache``). A view may load it its own way
        (``request.portcullis_load_client``: introspection reads the token in that statement too)."""
        if not request.client:
            request.client = getattr(request, "portcullis_load_client", client_with_stamp)(client_id)
            if request.client is None and not oauth2_settings.CIMD_ENABLED:
                return None  # unknown: DOT would only read the same row again
        return super()._load_application(client_id, request)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        flow = FLOWS_BY_GRANT_TYPE.get(grant_type)
        if flow is None:
            return False
        denial = decide_grant_type(client_facts(client), flow)
        if denial is not None:
            self._deny(denial, request, flow)
        return True

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return []  # no scope parameter: the policy decides (the whole ceiling for client credentials)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """The authorize request (GET and consent POST) and client credentials."""
        flow = FLOWS_BY_GRANT_TYPE.get(request.grant_type) or Flow.AUTHORIZE
        target = self._target(request, None, flow.subject_type)
        facts = RequestFacts(
            requested_scopes=frozenset(scopes or ()),
            scope_given=bool(request.scope),
            audience=target.identifier,
            audience_source=target.source,
            own_grant=target.own_grant,
            default_grant=target.default_grant,
            parameters=frozenset(name for name, _ in parse_qsl(urlsplit(request.uri).query)),
            code_challenge_method=request.code_challenge_method,
            redirect_uri=request.redirect_uri,
        )
        decision = self._decide(request, flow, facts, target)
        request.scopes = sorted(decision.scopes)
        return True

    # -- the authorization code: read once per request --------------------------------------
    # oauthlib asks about the code up to six times per exchange (scopes, the code itself, the PKCE
    # challenge and method, the redirect URI); DOT reads the row for each. Here it is read once,
    # before the client is known (as DOT's get_authorization_code_scopes does), and every answer
    # about it for a client checks that it is that client's code.

    def _code_grant(self, code, request, client=None) -> Grant | None:
        grant = getattr(request, "portcullis_code_grant", None)
        if grant is None or grant.code != code:
            grant = Grant.objects.select_related("user__connection").filter(code=code).first()
            request.portcullis_code_grant = grant
        if grant is None or (client is not None and grant.application_id != client.pk):
            return None
        return grant

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._code_grant(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_code_challenge(self, code, request):
        grant = self._code_grant(code, request, request.client)
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code, request):
        grant = self._code_grant(code, request, request.client)
        return (grant.code_challenge_method or None) if grant is not None else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        grant = self._code_grant(code, request, client)
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """Done already, in the transaction that saved the tokens (``_save_bearer_token``)."""
        if not getattr(request, "portcullis_code_used", False):
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = self._code_grant(code, request, client)
        if grant is None or grant.is_expired():
            return False
        request.user = grant.user
        request.scopes = grant.scope.split()
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        # The grant or the policy may have changed since /authorize: decide again.
        target = self._target(request, grant.audience, "user")
        facts = RequestFacts(
            requested_scopes=frozenset(request.scopes),
            scope_given=True,
            audience=grant.audience or None,
            own_grant=target.own_grant,
            default_grant=target.default_grant,
            user_connection_is_domain=grant.user.connection.is_domain_connection,
        )
        decision = self._decide(request, Flow.AUTHORIZATION_CODE, facts, target)
        request.scopes = sorted(decision.scopes)
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        stored = request.refresh_token_instance
        original = frozenset(super().get_original_scopes(refresh_token, request).split())
        target = self._target(request, stored.audience, "user")
        facts = RequestFacts(
            requested_scopes=frozenset((request.scope or "").split()),
            scope_given=bool(request.scope),
            audience=stored.audience or None,
            own_grant=target.own_grant,
            default_grant=target.default_grant,
            original_scopes=original,
        )
        self._decide(request, Flow.REFRESH_TOKEN, facts, target)
        return True

    def rotate_refresh_token(self, request):
        """SPA and native apps hold their refresh tokens where they can leak: those rotate (with reuse
        detection revoking the whole family); confidential web and machine apps keep theirs."""
        return request.client.app_type in ROTATING_APP_TYPES

    def save_bearer_token(self, token, request, *args, **kwargs):
        """DOT saves in a transaction, for refresh tokens saved or rotated along with the access token.
        Client credentials never have one: their one INSERT is atomic alone, without the two extra
        round trips (BEGIN, COMMIT) of a transaction."""
        if request.grant_type == "client_credentials":
            return self._save_bearer_token(token, request, *args, **kwargs)
        return super().save_bearer_token(token, request, *args, **kwargs)

    def _save_bearer_token(self, token, request, *args, **kwargs):
        decision = getattr(request, "portcullis_decision", None)
        if decision is not None and not decision.issue_refresh_token:
            # oauthlib always offers one; DESIGN.md §4 gives refresh tokens only for offline_access
            # on an API that allows offline access.
            token.pop("refresh_token", None)
        saved = super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code":
            # The code is used up in the transaction that saves its tokens: of two requests racing
            # with one code, the second waits for the first's row lock, deletes nothing and rolls its
            # tokens back (oauthlib would delete it afterwards, in a transaction of its own).
            deleted, _ = Grant.objects.filter(code=request.code, application=request.client).delete()
            if not deleted:
                raise errors.InvalidGrantError(request=request)
            request.portcullis_code_used = True
        return saved

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        """What the refresh may carry: the original scopes, narrowed to today's ceiling."""
        return sorted(request.portcullis_decision.scopes)

    # -- OIDC -------------------------------------------------------------------------------

    def get_claim_dict(self, request):
        user = request.user
        return {
            "sub": user.user_id,
            "name": user.get_full_name() or user.get_username(),
            "nickname": user.get_username(),
            "email": user.email,
            "email_verified": bool(user.email),
            "updated_at": int(user.date_joined.timestamp()),
        }

    oidc_claim_scope = {
        "sub": "openid",
        "name": "profile",
        "nickname": "profile",
        "updated_at": "profile",
        "email": "email",
        "email_verified": "email",
    }

    def get_oidc_issuer_endpoint(self, request):
        return portcullis_settings.issuer
